// Benchmark 3: the receiver's repeat path (an identical notification: zero
// Feishu calls) against a bare node:http server answering 200, same machine, same load.
import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Pool, request } from 'undici'
import { startSandbox } from '../lib/src/sandbox/server.js'
import { cpuSeconds, freePort, percentile, startServe } from './lib.mjs'

const BARE = `require('node:http').createServer((req, res) => { req.resume(); req.on('end', () => { res.writeHead(200, {'content-type':'application/json'}); res.end('{}') }) }).listen(Number(process.argv[1]), '127.0.0.1')`

async function load(url, path, body, { seconds = 5, concurrency = 64 } = {}) {
  const pool = new Pool(url, { connections: concurrency })
  const latencies = []
  const end = Date.now() + seconds * 1000
  let errors = 0
  const worker = async () => {
    while (Date.now() < end) {
      const t0 = process.hrtime.bigint()
      try {
        const res = await pool.request({
          path,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        })
        await res.body.dump()
        if (res.statusCode !== 200) errors++
      } catch {
        errors++
      }
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6)
    }
  }
  const started = Date.now()
  await Promise.all(Array.from({ length: concurrency }, worker))
  const elapsed = (Date.now() - started) / 1000
  await pool.close()
  latencies.sort((a, b) => a - b)
  return {
    rps: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    errors,
    requests: latencies.length,
  }
}

/** A load run with the CPU seconds the server process used meanwhile. */
async function measured(pid, run) {
  const before = cpuSeconds(pid)
  const result = await run()
  return { ...result, cpuSeconds: cpuSeconds(pid) - before }
}

export async function overhead({ seconds = 5, rounds = 3, database } = {}) {
  const payload = JSON.stringify({
    version: '4',
    groupKey: '{}:{alertname="Repeat"}',
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'bench',
    groupLabels: { alertname: 'Repeat' },
    commonLabels: { alertname: 'Repeat', severity: 'warning' },
    commonAnnotations: { summary: 'repeat path' },
    externalURL: 'http://alertmanager.example',
    alerts: [
      {
        status: 'firing',
        labels: { alertname: 'Repeat', severity: 'warning', instance: 'a' },
        annotations: { summary: 'repeat path' },
        startsAt: '2026-11-25T09:00:00Z',
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: 'http://prometheus.example/graph',
        fingerprint: 'aaaaaaaaaaaaaaaa',
      },
    ],
  })
  // The receiver against a sandbox (no rate limits: the repeat path makes no calls); the first
  // notification opens the war room. With the file store, then with PostgreSQL when given one.
  const sandbox = await startSandbox()
  // 64 connections from one address, with the default server settings (a busy sender is not capped).
  const config = join(mkdtempSync(join(tmpdir(), 'warroom-bench-overhead-')), 'warroom.yml')
  writeFileSync(config, 'server:\n  port: 0\n')
  /** A receiver up with the war room open, warmed up; `stop()` ends it. */
  const start = async (extraEnv) => {
    const port = await freePort()
    const receiver = await startServe(['--config', config, '--port', String(port)], {
      FEISHU_APP_ID: sandbox.appId,
      FEISHU_APP_SECRET: sandbox.appSecret,
      FEISHU_DOMAIN: sandbox.url,
      WARROOM_DATA_DIR: mkdtempSync(join(tmpdir(), 'warroom-bench-overhead-')),
      ...extraEnv,
    })
    const first = await request(`${receiver.url}/alertmanager`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: payload,
    })
    const opened = await first.body.json()
    // The PostgreSQL run finds the chat the file run opened (it syncs from the sandbox): updated.
    if (!['opened', 'updated'].includes(opened.action))
      throw new Error(`expected the war room to open, got ${JSON.stringify(opened)}`)
    await load(receiver.url, '/alertmanager', payload, { seconds: 1 }) // warm-up
    return {
      run: () =>
        measured(receiver.child.pid, () =>
          load(receiver.url, '/alertmanager', payload, { seconds }),
        ),
      stop: async () => {
        receiver.child.kill('SIGTERM')
        await new Promise((r) => receiver.child.once('exit', r))
      },
    }
  }
  const barePort = await freePort()
  const bare = spawn(process.execPath, ['-e', BARE, String(barePort)], { stdio: 'ignore' })
  await new Promise((r) => setTimeout(r, 300))
  const bareUrl = `http://127.0.0.1:${barePort}`
  await load(bareUrl, '/', payload, { seconds: 1 })
  const subjects = {
    warroom: await start({}),
    ...(database
      ? {
          postgres: await start({
            WARROOM_DATABASE_URL: database.url,
            WARROOM_DATABASE_SCHEMA: database.schema,
          }),
        }
      : {}),
    baseline: {
      run: () => measured(bare.pid, () => load(bareUrl, '/', payload, { seconds })),
      stop: async () => bare.kill(),
    },
  }
  // Interleaved rounds, each subject's median reported: one busy moment on the machine
  // (two cores shared with the load generator and the database) no longer decides a ratio.
  const runs = Object.fromEntries(Object.keys(subjects).map((k) => [k, []]))
  for (let round = 0; round < rounds; round++)
    for (const [name, subject] of Object.entries(subjects)) runs[name].push(await subject.run())
  for (const subject of Object.values(subjects)) await subject.stop()
  await sandbox.close()
  const median = (list) => [...list].sort((a, b) => a.rps - b.rps)[Math.floor(list.length / 2)]
  const warroom = median(runs.warroom)
  const postgres = runs.postgres ? median(runs.postgres) : undefined
  const baseline = median(runs.baseline)
  const perRound = runs.baseline.map((b, i) => ({
    file: runs.warroom[i].rps / b.rps,
    ...(runs.postgres ? { postgres: runs.postgres[i].rps / b.rps } : {}),
  }))
  // Capacity: the server's own CPU per request (what one core of its own could serve), which the
  // load generator sharing the cores does not blur. The ratio is bare's CPU per request over ours.
  const cpu = (list) =>
    [...list.map((r) => (r.cpuSeconds / r.requests) * 1e6)].sort((a, b) => a - b)[
      Math.floor(list.length / 2)
    ]
  const cpuPerRequestUs = {
    file: cpu(runs.warroom),
    ...(runs.postgres ? { postgres: cpu(runs.postgres) } : {}),
    bare: cpu(runs.baseline),
  }
  return {
    warroom,
    postgres,
    baseline,
    ratio: warroom.rps / baseline.rps,
    postgresRatio: postgres ? postgres.rps / baseline.rps : undefined,
    perRound,
    cpuPerRequestUs,
  }
}
