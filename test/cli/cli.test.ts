import { spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { request } from 'undici'
import { describe, expect, it } from 'vitest'
import { main } from '../../src/cli/main.js'
import { envFor, io } from '../support/cli.js'
import { incident, sandbox, tempDir, until, view } from '../support/helpers.js'
import { post, startReceiver, TOKEN } from '../support/receiver.js'

describe('warroom notify --change', () => {
  it('records a change that a later incident of the service lists, locally or at a receiver', async () => {
    const s = await sandbox()
    const [alice] = [...s.state.users.values()]
    const env = envFor(s)
    const run = async (args: string[], e: Record<string, string> = env) => {
      const a = io()
      const code = await main(['notify', ...args], e, a.io)
      return { code, out: a.out.join('\n'), err: a.err.join('\n') }
    }
    const recorded = await run([
      '--change',
      '--title',
      'Deployed checkout v42',
      '--label',
      'service=checkout',
      '--link',
      'deploy=https://ci.acme.example/deploys/42',
    ])
    expect(recorded).toMatchObject({ code: 0, out: '{"action":"recorded"}' })
    expect((await run(['--change'])).err).toContain('--change needs --title')
    const opened = await run([
      '--key',
      'checkout-5xx',
      '--title',
      'Checkout 5xx',
      '--label',
      'service=checkout',
      '--member',
      alice!.email!,
    ])
    expect(opened.code, opened.err).toBe(0)
    const card = view(s, JSON.parse(opened.out).chat_id).cardRead
    expect(card).toContain('Deployed checkout v42')

    // At a running receiver, with the webhook token.
    const { url } = await startReceiver(s, { config: { members: [alice!.open_id] } })
    const remote = await run(
      [
        '--change',
        '--title',
        'Deployed payments v7',
        '--label',
        'service=payments',
        '--receiver',
        url,
      ],
      { ...env, WARROOM_WEBHOOK_TOKEN: TOKEN },
    )
    expect(remote).toMatchObject({ code: 0, out: `{"action":"recorded","at":"${url}"}` })
    const { json } = await post(`${url}/incidents`, {
      key: 'payments-down',
      title: 'Payments down',
      labels: { service: 'payments' },
    })
    expect(view(s, json.chat_id).cardRead).toContain('Deployed payments v7')
    const refused = await run(['--change', '--title', 'x', '--receiver', url], env)
    expect(refused.code).toBe(1)
    expect(refused.err).toContain('the receiver refused the change: HTTP 400')
  })
})

describe('warroom notify', () => {
  it('opens and then resolves an incident from flags, printing the result', async () => {
    const s = await sandbox()
    const [alice] = [...s.state.users.values()]
    const a = io()
    const env = envFor(s)
    const code = await main(
      [
        'notify',
        '--key',
        'deploy:shop:prod',
        '--title',
        'Deploy of shop to prod failed',
        '--severity',
        'critical',
        '--member',
        alice!.email!,
        '--link',
        'Logs=https://ci.acme.example/1',
        '--field',
        'version=v42',
      ],
      env,
      a.io,
    )
    expect(code, a.err.join('\n')).toBe(0)
    const result = JSON.parse(a.out[0]!)
    expect(result.action).toBe('opened')
    const v = view(s, result.chat_id)
    expect(v.name).toBe('🔥 [P0] Deploy of shop to prod failed')
    expect(v.members).toEqual([alice!.open_id])
    expect(v.cardRead).toContain('v42')
    const b = io()
    expect(
      await main(
        [
          'notify',
          '--key',
          'deploy:shop:prod',
          '--title',
          'Deploy of shop to prod failed',
          '--status',
          'resolved',
        ],
        env,
        b.io,
      ),
    ).toBe(0)
    expect(JSON.parse(b.out[0]!).action).toBe('resolved')
    // A bare resolution keeps what the incident had: severity, link, field, responders.
    const after = view(s, result.chat_id)
    expect(after.name).toBe('[已解决] [P0] Deploy of shop to prod failed')
    expect(after.card.header.template).toBe('green')
    expect(after.cardRead).toContain('P0')
    expect(after.cardRead).toContain('v42')
    expect(after.cardRead).toContain('https://ci.acme.example/1')
    expect(after.cardRead).toContain(alice!.open_id)
    expect(after.posts.at(-1)).toContain('复盘摘要')
  })

  it('reads an incident from a JSON file', async () => {
    const s = await sandbox()
    const dir = await tempDir()
    const file = join(dir, 'incident.json')
    const [alice] = [...s.state.users.values()]
    await writeFile(file, JSON.stringify(incident({ key: 'file:1', members: [alice!.open_id] })))
    const a = io()
    expect(await main(['notify', '--file', file], envFor(s), a.io)).toBe(0)
    expect(JSON.parse(a.out[0]!).action).toBe('opened')
  })

  it('exits 2 with a message naming the bad field, 1 on a Feishu failure', async () => {
    const s = await sandbox()
    const a = io()
    expect(
      await main(['notify', '--key', 'k', '--title', 't', '--severity', 'sev1'], envFor(s), a.io),
    ).toBe(2)
    expect(a.err.join()).toContain('severity')
    const b = io()
    expect(
      await main(['notify', '--key', 'k', '--title', 't', '--link', 'nourl'], envFor(s), b.io),
    ).toBe(2)
    expect(b.err.join()).toContain('--link takes NAME=VALUE')
    const c = io()
    expect(
      await main(
        ['notify', '--key', 'k', '--title', 't'],
        { ...envFor(s), FEISHU_APP_SECRET: 'wrong-secret' },
        c.io,
      ),
    ).toBe(1)
    expect(c.err.join()).toContain('app id or app secret is wrong')
    expect(c.err.join()).not.toContain('wrong-secret')
    expect(s.state.chats.size).toBe(0)
    const d = io()
    expect(await main(['notify', '--key', 'k', '--title', 't'], {}, d.io)).toBe(2)
    expect(d.err.join()).toContain('needs Feishu credentials')
  })
})

describe('warroom check', () => {
  it('passes with a fully permitted app and names each missing scope otherwise', async () => {
    const s = await sandbox()
    const a = io()
    expect(await main(['check'], envFor(s), a.io)).toBe(0)
    expect(a.out.join('\n')).toContain('check passed')
    const limited = await sandbox({ scopes: ['im:chat', 'im:message'] })
    const b = io()
    expect(await main(['check'], envFor(limited), b.io)).toBe(1)
    expect(b.err.join('\n')).toContain(
      'contact:user.id:readonly (emails to open_ids): FAILED code 99991672',
    )
  })

  it('reports a bad config file by key', async () => {
    const dir = await tempDir()
    const file = join(dir, 'warroom.yml')
    await writeFile(
      file,
      'warroom:\n  language: fr\nroutes:\n  - match: {team: a}\n    members: alice@example.com\n',
    )
    const a = io()
    expect(await main(['check', '--config', file], {}, a.io)).toBe(2)
    expect(a.err.join()).toContain('warroom.language')
    await writeFile(file, 'routes:\n  - match_re: {team: "("}\n')
    const b = io()
    expect(await main(['check', '--config', file], {}, b.io)).toBe(2)
    expect(b.err.join()).toContain(
      'routes[0].match_re: every value must be a valid regular expression',
    )
  })
})

/** Posts an incident while the sandbox holds createChat for 800 ms: it is in flight when this returns. */
async function slowIncident(url: string, sandboxUrl: string) {
  await request(`${sandboxUrl}/_sandbox/faults`, {
    method: 'POST',
    body: JSON.stringify({ kind: 'delay', ms: 800, times: 1, endpoint: 'createChat' }),
  })
  const inFlight = request(`${url}/incidents`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(incident()),
  })
  await new Promise((r) => setTimeout(r, 200))
  // Wrapped: returning the promise itself from an async function would wait for the answer.
  return { inFlight }
}

describe('warroom serve', () => {
  it('runs against the sandbox without credentials, serves /sandbox, and stops gracefully', async () => {
    let stop!: () => void
    const stopSignal = new Promise<void>((r) => {
      stop = r
    })
    let listening!: (info: { url: string; sandboxUrl?: string }) => void
    const ready = new Promise<{ url: string; sandboxUrl?: string }>((r) => {
      listening = r
    })
    const a = io()
    const dir = await tempDir()
    const served = main(
      ['serve', '--port', '0'],
      { WARROOM_DATA_DIR: dir },
      { ...a.io, stopSignal, onListening: listening },
    )
    const { url, sandboxUrl } = await ready
    expect(a.out.join('\n')).toContain('BUILT-IN FEISHU SANDBOX')
    const page = await request(`${url}/sandbox`)
    expect(await page.body.text()).toContain('Feishu sandbox')
    // A slow Feishu: the request is in flight when the stop comes, and still completes.
    const { inFlight } = await slowIncident(url, sandboxUrl!)
    stop()
    const res = await inFlight
    expect(res.statusCode).toBe(200)
    expect(((await res.body.json()) as { action: string }).action).toBe('opened')
    expect(await served).toBe(0)
  })

  it('exits on SIGTERM after finishing the request in flight (the real process)', async () => {
    const child = spawn(process.execPath, ['lib/src/cli/index.js', 'serve', '--port', '0'], {
      env: { PATH: process.env.PATH ?? '' },
    })
    let stdout = ''
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
    })
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
    const until = Date.now() + 10_000
    while (!/Sandbox Feishu API:\s+(\S+)/.test(stdout) && Date.now() < until)
      await new Promise((r) => setTimeout(r, 50))
    const url = /Watch the sandbox:\s+(\S+)\/sandbox/.exec(stdout)![1]!
    const api = /Sandbox Feishu API:\s+(\S+)/.exec(stdout)![1]!
    const { inFlight } = await slowIncident(url, api)
    child.kill('SIGTERM')
    const res = await inFlight
    expect(res.statusCode).toBe(200)
    await res.body.dump()
    expect(await exited).toBe(0)
  })
})

describe('the README walkthrough', () => {
  it('sample payloads shipped in test/fixtures/payloads open and resolve war rooms in the sandbox', async () => {
    const { readFile } = await import('node:fs/promises')
    let stop!: () => void
    const stopSignal = new Promise<void>((r) => {
      stop = r
    })
    let listening!: (info: { url: string }) => void
    const ready = new Promise<{ url: string }>((r) => {
      listening = r
    })
    const served = main(
      ['serve', '--port', '0'],
      {},
      { out: () => {}, err: () => {}, stopSignal, onListening: listening },
    )
    const { url } = await ready
    const send = async (path: string, file: string) => {
      const res = await request(`${url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: await readFile(`test/fixtures/payloads/${file}`),
      })
      return (await res.body.json()) as { action: string }
    }
    expect((await send('/alertmanager', 'alertmanager-firing.json')).action).toBe('opened')
    expect((await send('/grafana', 'grafana-firing.json')).action).toBe('opened')
    expect((await send('/grafana', 'grafana-test.json')).action).toBe('none')
    expect((await send('/incidents', 'incident.json')).action).toBe('opened')
    expect((await send('/alertmanager', 'alertmanager-resolved.json')).action).toBe('resolved')
    expect((await send('/incidents', 'incident-resolved.json')).action).toBe('resolved')
    expect((await send('/grafana', 'grafana-resolved.json')).action).toBe('resolved')
    const state = (await (await request(`${url}/sandbox/state`)).body.json()) as {
      chats: Array<{ chat_id: string; name: string; members: string[]; messages: string[] }>
      users: Array<{ open_id: string; name: string }>
      feeds: string[]
    }
    // The sandbox made a stakeholder feed (no broadcast_chat configured): one thread per incident,
    // its opening as the root and the resolution in the thread.
    expect(state.feeds).toHaveLength(1)
    const feed = state.chats.find((c) => c.chat_id === state.feeds[0])!
    expect(feed.name).toBe('事件通报（相关方）')
    type FeedMessage = { message_id: string; root_id?: string; msg_type: string; content: unknown }
    const feedNow = async () => {
      const now = (await (await request(`${url}/sandbox/state`)).body.json()) as {
        messages: FeedMessage[]
      }
      const mine = now.messages.filter(
        (m) => feed.messages.includes(m.message_id) || m.root_id !== undefined,
      )
      return mine.filter((m) => m.msg_type !== 'system')
    }
    await until('three resolutions in the feed', async () => {
      const all = await feedNow()
      return all.filter((m) => JSON.stringify(m.content).includes('✅ 已解决')).length === 3
    })
    const all = await feedNow()
    const roots = all.filter((m) => !m.root_id && feed.messages.includes(m.message_id))
    expect(roots).toHaveLength(3)
    for (const root of roots)
      expect(all.filter((m) => m.root_id === root.message_id)).toHaveLength(1)
    const chats = state.chats.filter((c) => c.name && c.chat_id !== feed.chat_id)
    expect(chats).toHaveLength(3)
    expect(chats.filter((c) => c.name.startsWith('[已解决] '))).toHaveLength(3)
    // The demo routing invites people: team=payments → Alice and Bob, everyone → Carol.
    const nameOf = (id: string) => state.users.find((u) => u.open_id === id)?.name
    for (const chat of chats)
      expect(chat.members.map(nameOf).sort()).toEqual(['Alice Wang', 'Bob Li', 'Carol Zhang'])
    const metrics = await (await request(`${url}/metrics`)).body.text()
    expect(metrics).toContain('warroom_open_incidents 0')
    expect(metrics).toContain('warroom_webhooks_total{source="grafana",outcome="test"} 1')
    stop()
    expect(await served).toBe(0)
  })
})
