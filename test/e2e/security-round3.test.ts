/**
 * Security round 3 (issue 21): each test performs the attack or the fault it
 * is named after and shows it fails.
 */
import { writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { request } from 'undici'
import { describe, expect, it } from 'vitest'
import { main } from '../../src/cli/main.js'
import { NewChatBudget } from '../../src/core/admission.js'
import { formatTime } from '../../src/i18n/index.js'
import { LocalJobQueue } from '../../src/store/jobs.js'
import { MemoryStore } from '../../src/store/store.js'
import { alert, alertmanagerPayload } from '../fixtures/alerts.js'
import { io, serveInProcess } from '../support/cli.js'
import { incident, sandbox, tempDir, until, view } from '../support/helpers.js'
import { post, READ_TOKEN, startReceiver, TOKEN } from '../support/receiver.js'

type Sandbox = Awaited<ReturnType<typeof sandbox>>
const people = (s: Sandbox) => {
  const [alice, bob, carol, dave, mallory] = [...s.state.users.values()]
  return { alice: alice!, bob: bob!, carol: carol!, dave: dave!, mallory: mallory! }
}

describe('a webhook-token holder and silences', () => {
  it('cannot send silence matchers of its own in a generic incident', async () => {
    const s = await sandbox()
    const { mallory } = people(s)
    const { url } = await startReceiver(s)
    const r = await post(
      `${url}/incidents`,
      incident({
        severity: 'warning',
        members: [mallory.open_id],
        silence: { severity: 'critical' },
      }),
    )
    expect(r.status).toBe(400)
    expect(r.json.error).toMatch(/silence: only Alertmanager notifications carry silence matchers/)
    expect([...s.state.chats.values()]).toHaveLength(0)
  })

  it('cannot silence for centuries: /silence beyond silence.max_duration is refused, naming the cap', async () => {
    const s = await sandbox()
    const { alice } = people(s)
    const { url } = await startReceiver(s, {
      config: { alertmanager: { url: 'http://127.0.0.1:9' }, members: [alice.open_id] },
    })
    const opened = await post(
      `${url}/alertmanager`,
      alertmanagerPayload([alert({ instance: 'a' })]),
    )
    const chatId = opened.json.chat_id as string
    await s.say(chatId, alice.open_id, '/silence 999999d', { mentionBot: true })
    await until('the refusal', () =>
      view(s, chatId).posts.some((p) => p.includes('silence.max_duration')),
    )
    expect(view(s, chatId).posts.join()).toContain('静默最长 1天')
    expect((await startReceiver(s)).url).toBeTruthy()
  })

  it('says the year of a time that is not in this year (a silence “until 27/10” hid the year 4764)', () => {
    const now = Date.UTC(2026, 11, 31, 12)
    expect(formatTime(Date.UTC(2027, 0, 1, 9), 'UTC', 'en', now)).toContain('2027')
    expect(formatTime(Date.UTC(4764, 9, 27), 'UTC', 'en', now)).toContain('4764')
    expect(formatTime(Date.UTC(2026, 11, 31, 18), 'UTC', 'en', now)).not.toContain('2026')
  })
})

describe('a webhook-token holder and paging', () => {
  const config = (s: Sandbox) => {
    const { bob } = people(s)
    return {
      routes: [
        {
          match: { team: 'payments' },
          members: [bob.open_id],
          escalation: [{ after: '1s', urgent: 'phone' }],
        },
      ],
    }
  }

  it('cannot have the people it names buzzed or phoned: only those the config names are', async () => {
    const s = await sandbox()
    const { bob, mallory, carol } = people(s)
    const { url } = await startReceiver(s, { config: config(s) })
    const r = await post(
      `${url}/incidents`,
      incident({
        severity: 'critical',
        labels: { team: 'payments' },
        members: [mallory.open_id, carol.open_id],
      }),
    )
    expect(r.json.action).toBe('opened')
    // Invited, as the sender asked, but buzzed and phoned: only Bob, whom the route names.
    expect(view(s, r.json.chat_id).members.sort()).toEqual(
      [bob.open_id, carol.open_id, mallory.open_id].sort(),
    )
    await until('the phone step', () => s.state.urgent.some((u) => u.kind === 'phone'), 10_000)
    expect(s.state.urgent.map((u) => `${u.kind}:${u.user_ids.join(',')}`)).toEqual([
      `app:${bob.open_id}`,
      `phone:${bob.open_id}`,
    ])
  })

  it('cannot name an on-call schedule in a notification', async () => {
    const s = await sandbox()
    const { url } = await startReceiver(s)
    const r = await post(`${url}/incidents`, incident({ members: ['oncall:anything'] }))
    expect(r.status).toBe(400)
    expect(r.json.error).toMatch(/members\[0\]: on-call schedules are named by the configuration/)
  })

  it('cannot open critical war rooms without bound: beyond the per-source budget they wait too', async () => {
    const s = await sandbox({ rateLimits: false })
    // The budget as `warroom serve` builds it from intake.* (max_critical_chats_per_source_per_minute: 3).
    const { url } = await startReceiver(s, {
      budget: new NewChatBudget(
        { perMinute: 60, perSourcePerMinute: 30, criticalPerSourcePerMinute: 3 },
        () => s.now(),
      ),
    })
    const answers: number[] = []
    for (let i = 0; i < 5; i++)
      answers.push(
        (await post(`${url}/incidents`, incident({ key: `crit-${i}`, severity: 'critical' })))
          .status,
      )
    expect(answers).toEqual([200, 200, 200, 429, 429])
  })

  it('cannot phone anyone at every flap: urgent notices per incident and hour are capped, and the chat says so', async () => {
    const s = await sandbox({ rateLimits: false })
    const { bob } = people(s)
    const { url } = await startReceiver(s, {
      config: { ...config(s), routes: [{ match: { team: 'payments' }, members: [bob.open_id] }] },
    })
    const body = (status: 'firing' | 'resolved') =>
      incident({ key: 'flappy', severity: 'critical', labels: { team: 'payments' }, status })
    let chatId = ''
    for (let i = 0; i < 5; i++) {
      chatId = (await post(`${url}/incidents`, body('firing'))).json.chat_id ?? chatId
      await post(`${url}/incidents`, body('resolved'))
    }
    expect(s.state.urgent).toHaveLength(3) // urgent.per_incident_per_hour
    expect(
      view(s, chatId).posts.filter((p) => p.includes('urgent.per_incident_per_hour: 3')),
    ).toHaveLength(2)
  })
})

describe('a bad night', () => {
  it('an incident whose first attempt failed after its chat existed still buzzes and escalates on the retry', async () => {
    const s = await sandbox()
    const { bob } = people(s)
    const { url } = await startReceiver(s, {
      retry: { maxAttempts: 1 },
      config: {
        routes: [
          {
            match: { team: 'payments' },
            members: [bob.open_id],
            escalation: [{ after: '1s', urgent: 'sms' }],
          },
        ],
      },
    })
    // The card send fails (Feishu never saw it): the chat exists, the open fails.
    s.faults.add({ kind: 'status', status: 500, endpoint: 'sendMessage', times: 1 })
    const body = incident({ severity: 'critical', labels: { team: 'payments' } })
    const first = await post(`${url}/incidents`, body)
    expect(first.status).toBe(503)
    expect(s.state.urgent).toHaveLength(0)
    const retried = await post(`${url}/incidents`, body)
    expect(retried.status).toBe(200)
    await until('the sms step', () => s.state.urgent.some((u) => u.kind === 'sms'), 10_000)
    expect(s.state.urgent.map((u) => u.kind)).toEqual(['app', 'sms'])
  })
})

describe('a replica started without its Feishu Secret', () => {
  const run = async (args: string[], env: Record<string, string>) => {
    const out = io()
    const code = await main(
      ['serve', '--port', '0', ...args],
      { PATH: process.env.PATH ?? '', ...env },
      out.io,
    )
    return { code, text: [...out.out, ...out.err].join('\n') }
  }

  it('with a database, does not run the sandbox on it: it stops, naming the missing credentials', async () => {
    const r = await run([], { WARROOM_DATABASE_URL: 'postgres://warroom@127.0.0.1:1/warroom' })
    expect(r.code).toBe(2)
    expect(r.text).toContain('warroom serve needs Feishu credentials (a database is configured)')
    expect(r.text).toContain('FEISHU_APP_ID and FEISHU_APP_SECRET')
  })

  it('with a config file, or in a production image, stops instead of answering alerts into memory', async () => {
    const dir = await tempDir()
    const file = join(dir, 'prod.yml')
    await writeFile(file, 'members: [alice@example.com]\n')
    const withConfig = await run(['--config', file], {})
    expect(withConfig.code).toBe(2)
    expect(withConfig.text).toContain(`(the config file ${file} gives none)`)
    const image = await run(['--host', '0.0.0.0'], { NODE_ENV: 'production' })
    expect(image.code).toBe(2)
    expect(image.text).toContain('(NODE_ENV is production)')
  })

  it('--sandbox never runs on a database', async () => {
    const r = await run(['--sandbox'], {
      WARROOM_DATABASE_URL: 'postgres://warroom@127.0.0.1:1/warroom',
    })
    expect(r.code).toBe(2)
    expect(r.text).toContain('the sandbox never runs on a database')
  })

  it('asked for, the sandbox listens on loopback only', async () => {
    const served = await serveInProcess({ PATH: process.env.PATH ?? '', WARROOM_SANDBOX: '1' })
    expect(new URL(served.url).hostname).toBe('127.0.0.1')
    expect(await served.stop()).toBe(0)
  })
})

describe('urgent calls that fail', () => {
  it('a definite failure is not announced as done: the chat is told, and the step is tried again', async () => {
    const s = await sandbox()
    const { alice, bob } = people(s)
    const store = new MemoryStore()
    store.jobs = new LocalJobQueue(undefined, [], () => s.now())
    const { url } = await startReceiver(s, {
      store,
      config: {
        routes: [
          {
            match: { team: 'payments' },
            members: [alice.open_id],
            escalation: [{ after: '1s', urgent: 'sms', to: [bob.open_id] }],
          },
        ],
      },
    })
    s.faults.add({
      kind: 'code',
      code: 230024,
      msg: 'sms quota exhausted',
      endpoint: 'urgentSms',
      times: 1,
    })
    const opened = await post(`${url}/incidents`, incident({ labels: { team: 'payments' } }))
    const chatId = opened.json.chat_id as string
    await until(
      'the failure line',
      () => view(s, chatId).posts.some((p) => p.includes('未能发出')),
      10_000,
    )
    const failure = view(s, chatId).posts.find((p) => p.includes('未能发出'))!
    expect(failure).toContain('230024')
    expect(failure).toContain('重试')
    expect(view(s, chatId).posts.some((p) => p.startsWith('⏫'))).toBe(false)
    expect(s.state.urgent.filter((u) => u.kind === 'sms')).toHaveLength(0)
    s.clockOffsetMs += 31_000 // the retry's time
    await until('the retried sms', () => s.state.urgent.some((u) => u.kind === 'sms'), 10_000)
    expect(s.state.urgent.filter((u) => u.kind === 'sms').map((u) => u.user_ids)).toEqual([
      [bob.open_id],
    ])
    await until('the escalation line', () => view(s, chatId).posts.some((p) => p.startsWith('⏫')))
  }, 30_000)
})

describe('Alertmanager credentials', () => {
  it('never reach the chat: neither an error body echoing the token nor the userinfo of alertmanager.url', async () => {
    const echo = createServer((req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' })
      res.end(`bad request from ${req.headers.authorization}`)
    })
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r))
    const port = (echo.address() as { port: number }).port
    try {
      const s = await sandbox()
      const { alice } = people(s)
      const { url } = await startReceiver(s, {
        config: {
          members: [alice.open_id],
          alertmanager: {
            url: `http://am-user:am-pass-secret@127.0.0.1:${port}`,
            bearer_token: 'am-bearer-secret-1',
          },
        },
      })
      const opened = await post(
        `${url}/alertmanager`,
        alertmanagerPayload([alert({ instance: 'a' })]),
      )
      const chatId = opened.json.chat_id as string
      await s.say(chatId, alice.open_id, '/silence 1h', { mentionBot: true })
      await until('the answer', () => view(s, chatId).posts.some((p) => p.includes('500')))
      const everything = JSON.stringify(s.state.messagesIn(chatId).map((m) => m.content))
      expect(everything).toContain('Alertmanager answered 500')
      for (const secret of ['am-bearer-secret-1', 'am-pass-secret', 'am-user'])
        expect(everything).not.toContain(secret)
    } finally {
      echo.close()
    }
  })
})

describe('after downtime or a forward clock jump', () => {
  it('overdue escalation steps are caught up a minute apart, and missed reminders are one nudge', async () => {
    const s = await sandbox()
    const { alice, bob } = people(s)
    const store = new MemoryStore()
    store.jobs = new LocalJobQueue(undefined, [], () => s.now())
    const { url, warroom } = await startReceiver(s, {
      store,
      config: {
        warroom: { remind_every: '10s', urgent_on_critical: false, lead_reminder: 0 },
        routes: [
          {
            match: { team: 'payments' },
            members: [alice.open_id],
            escalation: [
              { after: '1s', urgent: 'app', to: [bob.open_id] },
              { after: '2s', urgent: 'sms', to: [bob.open_id] },
              { after: '3s', urgent: 'phone', to: [bob.open_id] },
            ],
          },
        ],
      },
    })
    const opened = await post(`${url}/incidents`, incident({ labels: { team: 'payments' } }))
    s.clockOffsetMs += 5 * 60_000 // the receiver was away for five minutes
    await until('the first step', () => s.state.urgent.length >= 1, 10_000)
    await new Promise((r) => setTimeout(r, 2000))
    expect(s.state.urgent.map((u) => u.kind)).toEqual(['app'])
    s.clockOffsetMs += 61_000
    await until('the second step', () => s.state.urgent.length >= 2, 10_000)
    await new Promise((r) => setTimeout(r, 1500))
    expect(s.state.urgent.map((u) => u.kind)).toEqual(['app', 'sms'])
    s.clockOffsetMs += 61_000
    await until('the third step', () => s.state.urgent.length >= 3, 10_000)
    expect(s.state.urgent.map((u) => u.kind)).toEqual(['app', 'sms', 'phone'])

    // Reminders every 10 s: acknowledged, then five minutes away: one nudge, not 30.
    await warroom.acknowledge({ chatId: opened.json.chat_id }, { openId: alice.open_id })
    s.clockOffsetMs += 5 * 60_000
    await until(
      'a nudge',
      () => view(s, opened.json.chat_id).posts.some((p) => p.startsWith('⏰')),
      10_000,
    )
    await new Promise((r) => setTimeout(r, 1500))
    expect(view(s, opened.json.chat_id).posts.filter((p) => p.startsWith('⏰'))).toHaveLength(1)
  }, 60_000)
})

describe('transcripts', () => {
  it('a webhook-token holder reads none; without a read token (Grafana’s HMAC only) nobody can over HTTP', async () => {
    const s = await sandbox()
    const { url } = await startReceiver(s)
    const opened = await post(`${url}/incidents`, incident({ key: 'secret:1' }))
    expect(opened.status).toBe(200)
    const asSender = await request(`${url}/incidents/secret%3A1/timeline`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    })
    expect(asSender.statusCode).toBe(401)
    await asSender.body.dump()
    const hmacOnly = await startReceiver(s, {
      config: { auth: {}, grafana: { hmac_secret: 'grafana-hmac-secret' } },
    })
    const anyone = await request(`${hmacOnly.url}/incidents/secret%3A1/timeline`)
    expect(anyone.statusCode).toBe(404)
    expect(await anyone.body.text()).toContain('auth.read_token')
  })

  it('40 concurrent reads of an open incident’s timeline read Feishu’s history once', async () => {
    const s = await sandbox({ rateLimits: false })
    const { url } = await startReceiver(s)
    await post(`${url}/incidents`, incident({ key: 'busy:1' }))
    const before = s.requests.filter((r) => r.endpoint === 'listMessages').length
    const reads = await Promise.all(
      Array.from({ length: 40 }, async () => {
        const res = await request(`${url}/incidents/busy%3A1/timeline`, {
          headers: { authorization: `Bearer ${READ_TOKEN}` },
        })
        return [res.statusCode, await res.body.text()] as const
      }),
    )
    expect(reads.every(([code, text]) => code === 200 && text.includes('# 事件时间线'))).toBe(true)
    expect(s.requests.filter((r) => r.endpoint === 'listMessages').length - before).toBe(1)
  })
})

describe('the urgent cap and a long policy', () => {
  it('a configured policy of four steps on a critical incident runs whole: the cap is for flaps', async () => {
    const s = await sandbox()
    const { alice, bob } = people(s)
    const { url } = await startReceiver(s, {
      config: {
        routes: [
          {
            match: { team: 'payments' },
            members: [alice.open_id],
            escalation: [
              { after: '1s', urgent: 'app', to: [bob.open_id] },
              { after: '1500ms', urgent: 'app', to: [bob.open_id] },
              { after: '2s', urgent: 'sms', to: [bob.open_id] },
              { after: '2500ms', urgent: 'phone', to: [bob.open_id] },
            ],
          },
        ],
      },
    })
    await post(`${url}/incidents`, incident({ severity: 'critical', labels: { team: 'payments' } }))
    await until('every step', () => s.state.urgent.length >= 5, 10_000)
    expect(s.state.urgent.map((u) => u.kind)).toEqual(['app', 'app', 'app', 'sms', 'phone'])
  }, 20_000)
})
