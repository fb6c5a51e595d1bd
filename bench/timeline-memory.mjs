// Benchmark 5b: peak memory of exporting the timeline of a 5,000-message chat
// (`warroom timeline` in its own process, streaming to a file).
import { spawn } from 'node:child_process'
import { WarRoom } from '../lib/src/core/warroom.js'
import { FeishuClient } from '../lib/src/feishu/client.js'
import { startSandbox } from '../lib/src/sandbox/server.js'

export async function timelineMemory({ messages = 5000, heapMiB = 48 } = {}) {
  const sandbox = await startSandbox({ rateLimits: false })
  const client = new FeishuClient({
    appId: sandbox.appId,
    appSecret: sandbox.appSecret,
    domain: sandbox.url,
  })
  const users = [...sandbox.state.users.values()]
  const room = new WarRoom({ client })
  const opened = await room.handle({
    key: 'bench:timeline',
    title: 'Long incident',
    members: users.map((u) => u.open_id),
  })
  for (let i = 0; i < messages; i++) {
    const u = users[i % users.length]
    sandbox.postUserMessage(
      opened.chatId,
      u.open_id,
      `message ${i}: ${'investigating the checkout latency, '.repeat(4)}`,
      sandbox.now() + i,
    )
  }
  // A small heap cap proves the export streams: it would run out if it held the chat.
  const child = spawn(
    process.execPath,
    [`--max-old-space-size=${heapMiB}`, '--input-type=module', '-e', CHILD],
    {
      env: {
        PATH: process.env.PATH,
        FEISHU_APP_ID: sandbox.appId,
        FEISHU_APP_SECRET: sandbox.appSecret,
        FEISHU_DOMAIN: sandbox.url,
        CHAT: opened.chatId,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  const started = Date.now()
  await new Promise((r) => child.on('exit', r))
  const result = JSON.parse(out.trim().split('\n').at(-1))
  await client.close()
  await sandbox.close()
  return { messages, heapMiB, seconds: (Date.now() - started) / 1000, ...result }
}

// Runs the CLI's timeline command with its output going to /dev/null, then reports its peak RSS.
const CHILD = `
const { main } = await import(process.cwd() + '/lib/src/cli/main.js');
const { createWriteStream } = await import('node:fs');
const sink = createWriteStream('/dev/null');
let lines = 0;
const code = await main(['timeline', process.env.CHAT], process.env, { out: (t) => { lines++; sink.write(t + '\\n') }, err: (t) => process.stderr.write(t + '\\n') });
console.log(JSON.stringify({ code, outputWrites: lines, peakRssMiB: process.resourceUsage().maxRSS / 1024 }));
`
