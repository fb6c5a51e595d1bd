import { type ChildProcess, spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Pool, request } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { FileStore } from '../../src/store/store.js'
import { encryptEvent, signEvent } from '../../src/util/event-crypto.js'
import { alert, alertmanagerPayload, grafanaPayload } from '../fixtures/alerts.js'
import {
  breakPayload,
  garbage,
  grafanaSignature,
  type HostileRequest,
  rng,
} from '../fixtures/hostile.js'
import { freePort, incident, sandbox, tempDir, view } from '../support/helpers.js'
import { post, startReceiver, TOKEN } from '../support/receiver.js'

type Sandbox = Awaited<ReturnType<typeof sandbox>>

/** One group's notifications: fire, grow, repeat, and (for even groups) resolve. */
function groupStory(g: number) {
  const key = `{}/{team="t${g}"}:{alertname="Storm${g}"}`
  const labels = { team: `t${g}`, alertname: `Storm${g}` }
  const a = (instance: string, status: 'firing' | 'resolved' = 'firing') =>
    alert({
      instance,
      status,
      name: `Storm${g}`,
      summary: `storm ${g}`,
      labels,
      severity: 'warning',
      startsAt: '2026-11-25T09:00:00Z',
    })
  const body = (alerts: ReturnType<typeof a>[]) =>
    alertmanagerPayload(alerts, { groupKey: key, groupLabels: labels })
  const story = [body([a('i1')]), body([a('i1'), a('i2')]), body([a('i1'), a('i2')])]
  if (g % 2 === 0) story.push(body([a('i1', 'resolved'), a('i2', 'resolved')]))
  return story
}

/** Like Alertmanager: retry on 5xx and connection errors with a short backoff, until 2xx or the deadline. */
async function deliver(
  url: string,
  body: unknown,
  deadline = Date.now() + 30_000,
): Promise<number> {
  let last = ''
  for (let attempt = 0; ; attempt++) {
    try {
      const r = await post(`${url}/alertmanager`, body)
      if (r.status < 500) return r.status
      last = `${r.status} ${JSON.stringify(r.json)}`
    } catch (error) {
      // connection refused or reset: the receiver is down or restarting
      last = (error as Error).message
    }
    if (Date.now() > deadline) throw new Error(`delivery deadline passed; last answer: ${last}`)
    await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** attempt, 400)))
  }
}

/** The state the storm must leave: one chat and one card per group, the right names. */
function expectStormState(s: Sandbox, groups: number) {
  const chats = [...s.state.chats.values()].filter((c) => c.description.includes('[warroom:'))
  expect(chats).toHaveLength(groups)
  for (let g = 0; g < groups; g++) {
    const chat = chats.find((c) => c.name.includes(`storm ${g}`) && c.name.endsWith(`storm ${g}`))
    expect(chat, `group ${g} has a chat`).toBeDefined()
    const v = view(s, chat!.chat_id)
    expect(v.cards, `group ${g} has one card`).toHaveLength(1)
    expect(v.name.startsWith('[已解决] '), `group ${g} resolved?`).toBe(g % 2 === 0)
    expect(v.card.header.template).toBe(g % 2 === 0 ? 'green' : 'orange')
  }
}

describe('Feishu faults', () => {
  it('survives bursts of 5xx, timeouts, dropped connections, 429s and token expiry with the state exactly right', {
    timeout: 60_000,
  }, async () => {
    const s = await sandbox()
    const { url } = await startReceiver(s, { retry: { maxAttempts: 3, maxElapsedMs: 2000 } })
    const groups = 12
    const r = rng(7)
    const endpoints = [
      'createChat',
      'sendMessage',
      'patchMessage',
      'pinMessage',
      'updateChat',
      'listChats',
      undefined,
    ]
    const stories = Array.from({ length: groups }, (_, g) => groupStory(g))
    let step = 0
    // 40 bursts of faults over the first seconds of the storm, then Feishu is healthy again.
    const faultTimer = setInterval(() => {
      if (++step > 40) return
      const endpoint = r.pick(endpoints)
      const kind = r.int(6)
      if (kind === 0)
        s.faults.add({
          kind: 'status',
          status: r.pick([500, 502, 503, 504]),
          times: 1 + r.int(4),
          ...(endpoint ? { endpoint } : {}),
          afterEffect: r.next() < 0.5,
        })
      if (kind === 1)
        s.faults.add({
          kind: 'drop',
          times: 1 + r.int(2),
          ...(endpoint ? { endpoint } : {}),
          afterEffect: r.next() < 0.5,
        })
      if (kind === 2)
        s.faults.add({
          kind: 'rateLimit',
          times: 1 + r.int(3),
          resetSeconds: 1,
          ...(endpoint ? { endpoint } : {}),
        })
      if (kind === 3)
        s.faults.add({
          kind: 'status',
          status: 502,
          html: true,
          times: 2,
          ...(endpoint ? { endpoint } : {}),
        })
      if (kind === 4 && step % 3 === 0) s.expireAllTokens()
    }, 40)
    try {
      await Promise.all(
        stories.map(async (story) => {
          for (const body of story) await deliver(url, body)
        }),
      )
    } finally {
      clearInterval(faultTimer)
      s.faults.clear()
    }
    expectStormState(s, groups)
  })

  it('times out a hanging Feishu and recovers on the retry', async () => {
    const s = await sandbox()
    const { url } = await startReceiver(s, {
      retry: { maxAttempts: 2, maxElapsedMs: 3000 },
      timeoutMs: 500,
    })
    s.faults.add({ kind: 'delay', ms: 5_000, times: 1, endpoint: 'createChat' })
    const status = await deliver(url, groupStory(0)[0])
    expect(status).toBe(200)
    expect([...s.state.chats.values()]).toHaveLength(1)
  }, 30_000)
})

describe('duplicates', () => {
  it('keeps one chat and one card per incident when every notification arrives twice at once', {
    timeout: 60_000,
  }, async () => {
    const s = await sandbox()
    const { url } = await startReceiver(s)
    const groups = 10
    await Promise.all(
      Array.from({ length: groups }, async (_, g) => {
        for (const body of groupStory(g))
          await Promise.all([deliver(url, body), deliver(url, body)])
      }),
    )
    expectStormState(s, groups)
  })
})

describe('crash', () => {
  let child: ChildProcess | undefined
  afterEach(() => child?.kill('SIGKILL'))

  it('is killed with SIGKILL mid-storm, restarts on the same data directory, and ends exactly right', {
    timeout: 90_000,
  }, async () => {
    const s = await sandbox()
    const dir = await tempDir()
    const port = await freePort()
    const config = join(dir, 'warroom.yml')
    await writeFile(
      config,
      `server:\n  port: ${port}\n  data_dir: ${join(dir, 'data')}\nauth:\n  bearer_token: ${TOKEN}\nintake:\n  max_new_chats_per_minute: 100000\n  max_new_chats_per_source_per_minute: 100000\n`,
    )
    const env = {
      PATH: process.env.PATH ?? '',
      FEISHU_APP_ID: s.appId,
      FEISHU_APP_SECRET: s.appSecret,
      FEISHU_DOMAIN: s.url,
    }
    const start = () => {
      child = spawn(process.execPath, ['lib/src/cli/index.js', 'serve', '--config', config], {
        env,
        stdio: 'ignore',
      })
    }
    start()
    const url = `http://127.0.0.1:${port}`
    const groups = 16
    let sent = 0
    let killed = false
    const storm = Promise.all(
      Array.from({ length: groups }, async (_, g) => {
        for (const body of groupStory(g)) {
          await deliver(url, body, Date.now() + 60_000)
          sent++
        }
      }),
    )
    while (sent < 20) await new Promise((r) => setTimeout(r, 5))
    child!.kill('SIGKILL')
    killed = true
    await new Promise((r) => setTimeout(r, 300))
    start()
    await storm
    expect(killed).toBe(true)
    expectStormState(s, groups)
    const store = await FileStore.open(join(dir, 'data')) // never left corrupt
    expect((await store.list()).length).toBe(groups)
  })
})

describe('hostile input', () => {
  const PER_ENDPOINT = 10_000

  async function fire(url: string, path: string, make: (i: number) => HostileRequest) {
    const pool = new Pool(url, { connections: 16 })
    const failures: string[] = []
    try {
      for (let i = 0; i < PER_ENDPOINT; i += 64) {
        await Promise.all(
          Array.from({ length: Math.min(64, PER_ENDPOINT - i) }, async (_, j) => {
            const req = make(i + j)
            const res = await pool.request({
              path,
              method: 'POST',
              headers: req.headers,
              body: req.body,
            })
            const text = await res.body.text()
            let message = ''
            try {
              message = JSON.parse(text).error
            } catch {
              // not JSON
            }
            if (
              res.statusCode < 400 ||
              res.statusCode >= 500 ||
              typeof message !== 'string' ||
              message.length < 5
            )
              failures.push(`${req.why} → ${res.statusCode} ${text.slice(0, 120)}`)
          }),
        )
      }
    } finally {
      await pool.close()
    }
    return failures
  }

  it('answers 10,000 malformed or hostile requests per endpoint with a clear 4xx, stays up and bounded, creates nothing', {
    timeout: 180_000,
  }, async () => {
    const s = await sandbox()
    const hmac = 'grafana-hmac-secret'
    const { url } = await startReceiver(s, {
      config: {
        feishu: { encrypt_key: 'ek-hostile', verification_token: 'vt-hostile' },
        grafana: { hmac_secret: hmac },
      },
    })
    const r = rng(2026)
    const auth = { authorization: `Bearer ${TOKEN}` }
    const am = alertmanagerPayload([alert({ instance: 'x' })])
    const gf = grafanaPayload([alert({ instance: 'x' })])
    const inc = incident({ members: ['alice@example.com'] })
    const amRequired = [
      ['version'],
      ['groupKey'],
      ['status'],
      ['receiver'],
      ['alerts'],
      ['alerts', '0', 'status'],
      ['alerts', '0', 'labels'],
      ['alerts', '0', 'startsAt'],
    ]
    const incRequired = [
      ['key'],
      ['title'],
      ['items', '0', 'id'],
      ['items', '0', 'status'],
      ['links', '0', 'url'],
      ['fields', '0', 'name'],
    ]
    const rssBefore = process.memoryUsage().rss

    const webhook =
      (valid: Record<string, any>, required: string[][], sign: boolean) =>
      (i: number): HostileRequest => {
        const roll = r.int(10)
        const req =
          roll < 6
            ? breakPayload(valid, r, required)
            : roll < 9
              ? garbage(r)
              : { ...breakPayload(valid, r, required), why: 'no auth' }
        const headers: Record<string, string> = { ...req.headers, ...(roll === 9 ? {} : auth) }
        if (sign && roll < 9) {
          // Half carry a signature of something else; the other half a correct signature of an invalid body.
          headers['x-grafana-alerting-signature'] =
            i % 2 ? grafanaSignature(hmac, req.body) : grafanaSignature(hmac, 'other')
        }
        return { ...req, headers }
      }
    const events = (i: number): HostileRequest => {
      const roll = r.int(5)
      const now = Math.floor(Date.now() / 1000)
      if (roll === 0) return garbage(r)
      if (roll === 1)
        return {
          body: JSON.stringify({
            schema: '2.0',
            header: { event_type: 'im.message.receive_v1', token: 'vt-hostile' },
          }),
          headers: { 'content-type': 'application/json' },
          why: 'not encrypted',
        }
      const raw = JSON.stringify({
        encrypt:
          roll === 2
            ? 'bm90IGEgY2lwaGVydGV4dA=='
            : encryptEvent(
                JSON.stringify({
                  schema: '2.0',
                  header: { event_id: `e${i}`, token: 'vt-hostile', event_type: 'x' },
                }),
                'ek-hostile',
              ),
      })
      const ts = String(roll === 3 ? now - 3600 * (1 + r.int(100)) : now)
      const sig =
        roll === 4 ? 'f'.repeat(64) : signEvent(ts, 'nonce', 'ek-hostile', Buffer.from(raw))
      return {
        body: raw,
        headers: {
          'content-type': 'application/json',
          'x-lark-request-timestamp': ts,
          'x-lark-request-nonce': 'nonce',
          'x-lark-signature': sig,
        },
        why: ['', '', 'bad ciphertext', 'replayed timestamp', 'bad signature'][roll]!,
      }
    }

    const failures = [
      ...(await fire(url, '/alertmanager', webhook(am, amRequired, false))),
      ...(await fire(url, '/grafana', webhook(gf, amRequired, true))),
      ...(await fire(url, '/incidents', webhook(inc as Record<string, any>, incRequired, false))),
      ...(await fire(url, '/feishu/events', events)),
    ]
    expect(failures.slice(0, 10)).toEqual([])
    const health = await request(`${url}/healthz`)
    expect(health.statusCode).toBe(200)
    await health.body.dump()
    expect(s.state.chats.size).toBe(0)
    expect(s.requests.filter((q) => q.endpoint !== 'token' && q.endpoint !== 'listChats')).toEqual(
      [],
    )
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(512 * 1024 * 1024)
  })
})

describe('injection through alert labels', () => {
  it('never turns labels, annotations or titles into mentions or links', async () => {
    const s = await sandbox()
    const [alice] = [...s.state.users.values()]
    const { url } = await startReceiver(s, {
      config: { routes: [{ match: { team: 'payments' }, members: [alice!.open_id] }] },
    })
    const nasty =
      '<at id=all></at> <at user_id="all"></at> [login](https://evil.example/x) **bold https://evil.example/y'
    const hostile = alert({
      instance: nasty,
      summary: nasty,
      labels: { pod: nasty, note: '<at id=all></at>' },
    })
    Object.assign(hostile.annotations, { description: nasty, runbook_url: 'javascript:alert(1)' })
    const body = alertmanagerPayload([hostile, alert({ instance: 'b', summary: nasty })], {
      commonAnnotations: { summary: nasty, description: nasty },
    })
    const opened = await post(`${url}/alertmanager`, body)
    expect(opened.json.action).toBe('opened')
    await post(
      `${url}/alertmanager`,
      alertmanagerPayload([{ ...hostile, status: 'resolved', endsAt: '2026-11-25T10:00:00Z' }], {
        commonAnnotations: { summary: nasty },
      }),
    )
    const allowed =
      /^(https?:\/\/(prometheus|alertmanager)\.acme\.example|https:\/\/runbooks\.acme\.example)/
    for (const m of s.state.messagesIn(opened.json.chat_id)) {
      expect(
        m.mentions.filter((id) => id !== alice!.open_id),
        m.content.slice(0, 200),
      ).toEqual([])
      expect(m.links.filter((l) => !allowed.test(l))).toEqual([])
    }
  })
})
