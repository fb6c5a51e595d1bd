/**
 * Attacks from the security review (issue 11), each performed and shown to
 * fail. Who can reach what is in SECURITY.md.
 */
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { type AddressInfo, connect } from 'node:net'
import { join } from 'node:path'
import { request } from 'undici'
import { describe, expect, it } from 'vitest'
import { githubIncident } from '../../adapters/github.js'
import { readGithubUsers } from '../../src/action/inputs.js'
import { configFrom } from '../../src/config/config.js'
import { NewChatBudget } from '../../src/core/admission.js'
import { WarRoom } from '../../src/core/warroom.js'
import { httpImageFetcher } from '../../src/outbound/images.js'
import type { FeishuSandbox } from '../../src/sandbox/server.js'
import { newId } from '../../src/sandbox/state.js'
import { FileStore, MemoryStore } from '../../src/store/store.js'
import { encryptEvent, signEvent } from '../../src/util/event-crypto.js'
import { alert, alertmanagerPayload } from '../fixtures/alerts.js'
import { actionContext, pushEvent, workflowRunEvent } from '../fixtures/github.js'
import {
  clientFor,
  incident,
  pngBytes,
  sandbox,
  tempDir,
  view,
  warRoomFor,
} from '../support/helpers.js'
import { post, READ_TOKEN, startReceiver, TOKEN } from '../support/receiver.js'

/** A group a tenant user made and added the bot to, with the description they chose. */
function attackerGroup(s: FeishuSandbox, ownerOpenId: string, description: string): string {
  const chatId = newId('oc_')
  s.state.chats.set(chatId, {
    chat_id: chatId,
    name: 'totally the war room',
    description,
    owner: { type: 'user', id: ownerOpenId },
    members: new Set([ownerOpenId]),
    bots: new Set([s.appId]),
    botManagers: new Set(),
    chat_type: 'private',
    status: 'normal',
    created_at: s.now(),
    names: [{ name: 'totally the war room', at: s.now() }],
    urgent_setting: 'all_members',
    at_all_permission: 'all_members',
    edit_permission: 'all_members',
  })
  return chatId
}

const hashOf = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 32)
const users = (s: FeishuSandbox) => [...s.state.users.values()]

describe('forged war-room markers', () => {
  it('resolving the real incident from a group with a copied marker does nothing', async () => {
    const s = await sandbox()
    const [alice, mallory] = users(s)
    const { warroom } = await startReceiver(s)
    const real = await warroom.handle(incident({ members: [alice!.open_id] }))
    // Mallory copies the real war room's description (marker and mac) into her own group.
    const copied = view(s, real.chatId!).chat.description
    const group = attackerGroup(s, mallory!.open_id, copied)
    await s.say(group, mallory!.open_id, '/resolve gotcha')
    await new Promise((r) => setTimeout(r, 100))
    expect(view(s, real.chatId!).name).not.toMatch(/已解决/)
    expect((await warroom.find({ key: incident().key }))?.status).toBe('open')
    expect(view(s, group).posts.join()).toContain('这个群不是事件群')
  })

  it('a hand-written marker cannot pre-claim a future incident, in the receiver or the Action', async () => {
    const s = await sandbox()
    const [alice, mallory] = users(s)
    const key = 'alertmanager:warroom:{}:{alertname="Next"}'
    const forged = `[warroom:${hashOf(key)}:open:${Math.floor(Date.now() / 1000)}:${'0'.repeat(24)}]`
    const group = attackerGroup(s, mallory!.open_id, `feishu-warroom incident chat\n${forged}`)
    const legacy = attackerGroup(
      s,
      mallory!.open_id,
      `[warroom:${hashOf(key)}:open:${Math.floor(Date.now() / 1000)}]`,
    )
    // The receiver rebuilding its store, and the Action's stateless lookup.
    for (const room of [warRoomFor(s, { store: new MemoryStore() }), warRoomFor(s)]) {
      const result = await room.handle(incident({ key, members: [alice!.open_id] }))
      // The first opens the real war room; the second (stateless) finds that one, not a forged one.
      expect(['opened', 'updated']).toContain(result.action)
      expect([group, legacy]).not.toContain(result.chatId)
      expect(view(s, group).members).not.toContain(alice!.open_id)
      expect(view(s, group).cards).toHaveLength(0)
    }
  })

  it('a card click carrying the key of a forged group is answered, but no group is taken over', async () => {
    const s = await sandbox()
    const [alice, mallory] = users(s)
    const { url } = await startReceiver(s)
    const key = 'generic:checkout'
    const group = attackerGroup(s, mallory!.open_id, `[warroom:${hashOf(key)}:open:1700000000]`)
    const r = await post(`${url}/incidents`, incident({ key, members: [alice!.open_id] }))
    expect(r.json.action).toBe('opened')
    expect(r.json.chat_id).not.toBe(group)
  })
})

describe('fork runs', () => {
  it('a pull request from a fork’s main never touches the base repository’s main war room', async () => {
    const fork = workflowRunEvent({ conclusion: 'success' }) as any
    fork.workflow_run.head_repository = { full_name: 'mallory/shop', fork: true }
    const result = await githubIncident(
      { ...baseCtx('workflow_run'), payload: fork },
      { severity: 'error', language: 'zh', members: [], githubUsers: {}, env: {} },
    )
    expect(result.status).toBe('skip')
    expect(result.skipReason).toMatch(/fork mallory\/shop/)
  })

  it('a push to the repository itself is not mistaken for a fork', async () => {
    const result = await githubIncident(
      { ...baseCtx('push'), payload: pushEvent() },
      {
        status: 'failure',
        severity: 'error',
        language: 'zh',
        members: [],
        githubUsers: {},
        env: {},
      },
    )
    expect(result.status).not.toBe('skip')
  })
})

const baseCtx = (eventName: string) => actionContext(eventName)

describe('clicks from outside the war room', () => {
  it('a Resolve click on a forwarded copy of the card, by someone not in the chat, is refused', async () => {
    const s = await sandbox()
    const [alice, mallory, carol] = users(s)
    const { warroom } = await startReceiver(s)
    const opened = await warroom.handle(incident({ members: [alice!.open_id] }))
    const card = view(s, opened.chatId!).card
    const resolve = card.elements
      .find((e: any) => e.tag === 'action')
      .actions.find((a: any) => a.value?.op === 'resolve')
    expect(resolve.value.op).toBe('resolve')
    const refused = await s.click(opened.cardMessageId!, mallory!.open_id, resolve.value)
    expect((refused.body as any).toast.content).toBe('只有事件群的成员可以操作')
    expect(view(s, opened.chatId!).name).not.toMatch(/已解决/)
    // Someone who joined the chat by hand (not on the card) is a member all the same.
    s.state.chats.get(opened.chatId!)!.members.add(carol!.open_id)
    const accepted = await s.click(opened.cardMessageId!, carol!.open_id, resolve.value)
    expect((accepted.body as any).toast.type).toBe('success')
    expect(view(s, opened.chatId!).name).toMatch(/^\[已解决\] /)
  })
})

describe('smaller attacks', () => {
  it("$` and $' in a title do not expand in the chat name (the incident still opens)", async () => {
    const s = await sandbox()
    const room = warRoomFor(s, { store: new MemoryStore() })
    const title = "pre $` mid $' post $& $$"
    const r = await room.handle(incident({ title }))
    expect(r.action).toBe('opened')
    expect(view(s, r.chatId!).name).toBe(`🔴 [P1] ${title}`)
  })

  it('a web page posting text/plain (CSRF) is refused with 415 and opens nothing', async () => {
    const s = await sandbox()
    const { url } = await startReceiver(s, { config: { auth: {} } })
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data']) {
      const r = await post(`${url}/incidents`, JSON.stringify(incident()), {
        token: null,
        headers: { 'content-type': type },
      })
      expect(r.status).toBe(415)
    }
    expect(s.state.chats.size).toBe(0)
  })

  it('a key with newlines cannot inject headings, HTML or links into the timeline', async () => {
    const s = await sandbox()
    const { warroom } = await startReceiver(s)
    const key = 'k`\n# Pwned\n<img src=x onerror=alert(1)>\n[click](https://evil.example)'
    const r = await warroom.handle(incident({ key }))
    const parts: string[] = []
    await warroom.timeline({ chatId: r.chatId! }, [
      { format: 'markdown', sink: { write: (c) => void parts.push(c) } },
    ])
    const md = parts.join('')
    expect(md).not.toMatch(/^# Pwned/m)
    expect(md.split('\n').find((l) => l.includes('Pwned'))).toMatch(/^- .*`k' # Pwned/)
  })

  it('after a reopen the same person can acknowledge again', async () => {
    const s = await sandbox()
    const [alice] = users(s)
    const { warroom } = await startReceiver(s)
    const opened = await warroom.handle(incident({ members: [alice!.open_id] }))
    const ack = () => {
      const card = view(s, opened.chatId!).card
      const button = card.elements
        .find((e: any) => e.tag === 'action')
        .actions.find((a: any) => a.value?.op === 'ack')
      return s.click(opened.cardMessageId!, alice!.open_id, button.value)
    }
    expect(((await ack()).body as any).toast.type).toBe('success')
    await warroom.handle(incident({ status: 'resolved' }))
    const again = await warroom.handle(incident())
    expect(again.reopened).toBe(true)
    expect(((await ack()).body as any).toast.type).toBe('success')
  })

  it('a severity label "constructor" or "__proto__" gets the default severity, not a 400', async () => {
    const s = await sandbox()
    const { url } = await startReceiver(s)
    for (const severity of ['constructor', '__proto__', 'toString']) {
      const body = alertmanagerPayload([alert({ instance: severity, severity })], {
        groupKey: `{}:{sev="${severity}"}`,
      })
      const r = await post(`${url}/alertmanager`, body)
      expect(r.status, JSON.stringify(r.json)).toBe(200)
      expect(r.json.action).toBe('opened')
    }
  })

  it('a GitHub actor named "constructor" does not crash the Action', async () => {
    for (const login of ['constructor', 'toString', '__proto__']) {
      const result = await githubIncident(
        { ...baseCtx('push'), actor: login, payload: pushEvent() },
        {
          status: 'failure',
          severity: 'error',
          language: 'zh',
          members: [],
          githubUsers: {},
          env: {},
        },
      )
      expect(result.incident.members).toEqual([])
    }
  })

  it('a non-numeric X-Lark-Request-Timestamp is refused (it cannot be judged fresh)', async () => {
    const s = await sandbox()
    const { url } = await startReceiver(s, { config: { feishu: { encrypt_key: 'ek-123' } } })
    const raw = JSON.stringify({
      encrypt: encryptEvent(
        '{"schema":"2.0","header":{"event_id":"x1","event_type":"im.message.receive_v1"}}',
        'ek-123',
      ),
    })
    const timestamp = 'yesterday'
    const nonce = 'n1'
    const signature = signEvent(timestamp, nonce, 'ek-123', Buffer.from(raw))
    const r = await post(`${url}/feishu/events`, raw, {
      token: null,
      headers: {
        'x-lark-request-timestamp': timestamp,
        'x-lark-request-nonce': nonce,
        'x-lark-signature': signature,
      },
    })
    expect(r.status).toBe(401)
    expect(r.json.error).toContain('not a number of seconds')
  })

  it('a short WARROOM_WEBHOOK_TOKEN is refused like a short bearer_token', async () => {
    expect(() => configFrom({}, { WARROOM_WEBHOOK_TOKEN: 'abc' })).toThrow(
      /WARROOM_WEBHOOK_TOKEN \(auth\.bearer_token\): must be at least 8 characters/,
    )
  })

  it('/incidents/%ZZ/timeline answers 400, not 500', async () => {
    const s = await sandbox()
    const { url } = await startReceiver(s)
    const r = await request(`${url}/incidents/%ZZ/timeline`, {
      headers: { authorization: `Bearer ${READ_TOKEN}` },
    })
    expect(r.statusCode).toBe(400)
    await r.body.dump()
  })

  it('bidi controls, zero-width characters and lone surrogates never reach a chat name', async () => {
    const s = await sandbox()
    const room = warRoomFor(s, { store: new MemoryStore() })
    const r = await room.handle(
      incident({ title: 'db\u202Egnp.exe\u200B down\uD800 now\u2066x\u2069' }),
    )
    expect(view(s, r.chatId!).name).toBe('🔴 [P1] dbgnp.exe down nowx')
  })

  it('event types from unverified senders do not become metric label values', async () => {
    const s = await sandbox()
    const { url, metrics } = await startReceiver(s)
    for (let i = 0; i < 5; i++)
      await post(
        `${url}/feishu/events`,
        { schema: '2.0', header: { event_id: `e${i}`, event_type: `made.up.${i}` } },
        { token: null },
      )
    const text = await metrics.registry.metrics()
    expect(text).not.toContain('made.up')
    expect(text).toContain('type="other"')
  })
})

describe('files and processes', () => {
  it('a github-users file that is a symlink out of the workspace is refused', async () => {
    const dir = await tempDir()
    const workspace = join(dir, 'workspace')
    mkdirSync(workspace)
    writeFileSync(join(dir, 'outside.yml'), 'octocat: octo@corp.com\n')
    symlinkSync(join(dir, 'outside.yml'), join(workspace, 'users.yml'))
    expect(() => readGithubUsers('users.yml', workspace)).toThrow(/links outside the workspace/)
  })

  it('a YAML error in github-users does not echo the file’s content into the log', async () => {
    const dir = await tempDir()
    writeFileSync(join(dir, 'users.yml'), 'octocat: octo@corp.com\ndb_password: "hunter2\n  : [\n')
    let message = ''
    try {
      readGithubUsers('users.yml', dir)
    } catch (error) {
      message = (error as Error).message
    }
    expect(message).toMatch(/not valid YAML\/JSON/)
    expect(message).not.toContain('hunter2')
  })

  it('a second process on the same data directory is refused; a dead process’s lock is taken over', async () => {
    const dir = await tempDir()
    const store = await FileStore.open(dir, { lock: true })
    const other = () =>
      spawnSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `import { FileStore } from '${process.cwd()}/lib/src/store/store.js'; try { const s = await FileStore.open(${JSON.stringify(dir)}, { lock: true }); await s.close(); console.log('opened') } catch (e) { console.log(e.message); process.exit(3) }`,
        ],
        { encoding: 'utf8' },
      )
    const refused = other()
    expect(refused.status).toBe(3)
    expect(refused.stdout).toContain(`pid ${process.pid}) uses the data directory`)
    await store.close()
    expect(other().stdout).toContain('opened')
    // A lock left by a process killed with SIGKILL.
    const gone = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], {
      encoding: 'utf8',
    })
    writeFileSync(join(dir, 'warroom.lock'), gone.stdout.trim())
    expect(other().stdout).toContain('opened')
  })

  it('after a crash, half-written timelines are removed and recent resolutions get their summary', async () => {
    const s = await sandbox()
    const dir = await tempDir()
    const first = await startReceiver(s, { config: { server: { data_dir: dir } } })
    const opened = await first.warroom.handle(incident())
    // The process dies right after resolving: the resolution is saved, the summary never written.
    await first.warroom.handle(incident({ status: 'resolved' }))
    mkdirSync(join(dir, 'timelines'), { recursive: true })
    writeFileSync(join(dir, 'timelines', 'x.md.123.tmp'), 'half')
    const records = [(await first.warroom.find({ chatId: opened.chatId! }))!]
    const second = await startReceiver(s, { config: { server: { data_dir: dir } } })
    expect(await second.receiver.recoverTimelines(records)).toBe(1)
    await second.receiver.close()
    expect(readdirSync(join(dir, 'timelines')).sort()).toEqual(
      [`${records[0]!.keyHash}.json`, `${records[0]!.keyHash}.md`].sort(),
    )
    expect(view(s, opened.chatId!).posts.filter((p) => p.includes('复盘摘要'))).toHaveLength(1)
  })

  it('one host holding many slow connections cannot hold them all', async () => {
    const s = await sandbox()
    const { url, receiver } = await startReceiver(s, {
      config: { server: { max_connections_per_ip: 5 } },
    })
    const { port } = new URL(url)
    const sockets = Array.from({ length: 8 }, () => connect(Number(port), '127.0.0.1'))
    const closed = await Promise.all(
      sockets.map(
        (socket) =>
          new Promise<boolean>((resolve) => {
            socket.on('error', () => {}) // the refused ones are reset
            socket.write('POST /alertmanager HTTP/1.1\r\nHost: x\r\n') // headers never finish
            socket.once('close', () => resolve(true))
            setTimeout(() => resolve(false), 500)
          }),
      ),
    )
    expect(closed.filter(Boolean)).toHaveLength(3)
    for (const socket of sockets) socket.destroy()
    await receiver.close()
  })

  it('/metrics can require the webhook credentials', async () => {
    const s = await sandbox()
    const { url } = await startReceiver(s, { config: { server: { metrics_auth: true } } })
    expect((await request(`${url}/metrics`)).statusCode).toBe(401)
    const ok = await request(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
    expect(ok.statusCode).toBe(200)
    await ok.body.dump()
  })
})

describe('SSRF through incident images', () => {
  it('refuses loopback, private and link-local destinations in every spelling, before connecting', async () => {
    let hits = 0
    const server = createServer((_req, res) => {
      hits++
      res.writeHead(200, { 'content-type': 'image/png' })
      res.end(pngBytes())
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as AddressInfo).port
    try {
      const fetchImage = httpImageFetcher()
      for (const host of [
        '127.0.0.1',
        'localhost',
        '2130706433',
        '0x7f000001',
        '[::1]',
        '[::ffff:127.0.0.1]',
        '169.254.169.254',
        '10.0.0.1',
        '192.168.1.1',
        '[fd00::1]',
      ])
        await expect(fetchImage(`http://${host}:${port}/panel.png`), host).rejects.toThrow(
          /private or loopback/,
        )
      expect(hits).toBe(0)
      // Allowed by the config (an internal Grafana): fetched.
      const allowed = httpImageFetcher({ allow: ['127.0.0.0/8'] })
      expect((await allowed(`http://127.0.0.1:${port}/panel.png`)).contentType).toBe('image/png')
      expect(hits).toBe(1)
    } finally {
      server.close()
    }
  })

  it('keeps only images (by their bytes) and tells the webhook sender nothing about the network', async () => {
    const server = createServer((req, res) => {
      if (req.url === '/secret.json') {
        res.writeHead(200, { 'content-type': 'image/png' })
        res.end('{"AccessKeyId":"AKIA…"}')
      } else {
        res.writeHead(404)
        res.end()
      }
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      const s = await sandbox()
      const room = new WarRoom({
        client: clientFor(s),
        store: new MemoryStore(),
        now: () => s.now(),
        fetchImage: httpImageFetcher({ allow: ['127.0.0.1'] }),
      })
      const r = await room.handle(
        incident({
          images: [`${base}/secret.json`, `${base}/missing.png`, 'http://127.0.0.2:9/x.png'],
        }),
      )
      expect(r.action).toBe('opened')
      expect(s.state.images.size).toBe(0)
      // The image lines only: another warning names a chat id, which may hold "404".
      const images = r.warnings.filter((w) => w.startsWith('image '))
      expect(images.join('\n')).not.toMatch(/404|ECONNREFUSED|not an image|timeout/i)
      expect(images).toHaveLength(3)
    } finally {
      server.close()
    }
  })
})

describe('unbounded intake', () => {
  it('with storm rooms off, a flood of new incidents is held to the new-chat budget (429 / 503 with Retry-After, counted), a critical one still opens', async () => {
    const s = await sandbox({ rateLimits: false })
    const { url, metrics } = await startReceiver(s, {
      config: { intake: { storm_rooms: false } },
      budget: new NewChatBudget({ perMinute: 4, perSourcePerMinute: 3 }),
    })
    const answers: number[] = []
    let retryAfter: string | undefined
    for (let i = 0; i < 6; i++) {
      const r = await post(`${url}/incidents`, incident({ key: `flood:${i}` }))
      answers.push(r.status)
      if (r.status === 429) retryAfter = String(r.headers['retry-after'])
    }
    expect(answers).toEqual([200, 200, 200, 429, 429, 429])
    expect(Number(retryAfter)).toBeGreaterThan(0)
    // Updates of open incidents are not new chats: they go through.
    expect(
      (await post(`${url}/incidents`, incident({ key: 'flood:0', summary: 'worse' }))).status,
    ).toBe(200)
    // The real emergency is not kept waiting behind the flood.
    const critical = await post(
      `${url}/incidents`,
      incident({ key: 'db:down', severity: 'critical' }),
    )
    expect(critical.json.action).toBe('opened')
    // Alertmanager retries only 5xx: it gets 503 so that the notification is not lost.
    const am = await post(
      `${url}/alertmanager`,
      alertmanagerPayload([alert({ instance: 'x', severity: 'warning' })]),
    )
    expect(am.status).toBe(503)
    expect(s.state.chats.size).toBe(4)
    const text = await metrics.registry.metrics()
    expect(text).toContain('warroom_webhooks_total{source="generic",outcome="throttled"} 3')
    expect(text).toContain('warroom_webhooks_total{source="alertmanager",outcome="throttled"} 1')
  })
})

describe('oversized alerts', () => {
  it('an alert with a 200 KB annotation makes a shorter card instead of a refused notification', async () => {
    const s = await sandbox({ rateLimits: false })
    const { url } = await startReceiver(s)
    const big = alert({ instance: 'x', severity: 'warning', summary: 'y'.repeat(200_000) })
    const r = await post(`${url}/alertmanager`, alertmanagerPayload([big]))
    expect(r.status).toBe(200)
    expect(r.json.action).toBe('opened')
    expect(view(s, r.json.chat_id).cardText.length).toBeLessThan(30_000)
  })
})

describe('memory', () => {
  it('resolved records leave memory and load from their file when asked for', async () => {
    const dir = await tempDir()
    const store = await FileStore.open(dir)
    const record = (n: number, status: 'open' | 'resolved') => ({
      keyHash: createHash('sha256').update(`k${n}`).digest('hex').slice(0, 32),
      key: `k${n}`,
      chatId: `oc_${n}`,
      chatName: `chat ${n}`,
      status,
      openedAt: 1,
      members: [],
      invited: [],
      failedMembers: [],
      imageKeys: [],
      imageUrls: [],
      seenEvents: [],
      events: [],
      version: 1,
    })
    for (let n = 0; n < 50; n++) await store.put(record(n, n === 0 ? 'open' : 'resolved'))
    expect(store.inMemory).toBe(1)
    const reopened = await FileStore.open(dir)
    expect(reopened.inMemory).toBe(1)
    expect((await reopened.findByChat('oc_7'))?.key).toBe('k7')
    expect((await reopened.list()).length).toBe(50)
    expect(await reopened.isEmpty()).toBe(false)
  })
})

describe('DNS rebinding', () => {
  it('the sandbox and its page answer only to loopback host names', async () => {
    const s = await sandbox()
    const evil = await request(`${s.url}/_sandbox/state`, { headers: { host: 'evil.example:80' } })
    expect(evil.statusCode).toBe(403)
    await evil.body.dump()
    const local = await request(`${s.url}/_sandbox/state`)
    expect(local.statusCode).toBe(200)
    await local.body.dump()
  })
})
