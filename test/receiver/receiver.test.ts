import { createHmac } from 'node:crypto'
import { request } from 'undici'
import { describe, expect, it } from 'vitest'
import { decryptEvent } from '../../src/receiver/feishu-events.js'
import { FileStore } from '../../src/store/store.js'
import { encryptEvent, signEvent } from '../../src/util/event-crypto.js'
import {
  alert,
  alertmanagerPayload,
  grafanaPayload,
  grafanaTestPayload,
} from '../fixtures/alerts.js'
import { countRequests, incident, sandbox, tempDir, view } from '../support/helpers.js'
import { post, startReceiver, TOKEN } from '../support/receiver.js'

const chats = (s: Awaited<ReturnType<typeof sandbox>>) =>
  [...s.state.chats.values()].filter((c) => c.description !== 'p2p')

describe('POST /alertmanager', () => {
  it('opens, updates, ignores repeats and resolves a group, routing members by labels', async () => {
    const s = await sandbox()
    const [alice, bob] = [...s.state.users.values()]
    const { url } = await startReceiver(s, {
      config: {
        members: [bob!.open_id],
        routes: [{ match: { team: 'payments' }, members: ['alice@example.com'] }],
      },
    })
    const first = alertmanagerPayload([alert({ instance: 'checkout-1' })], {
      notification_reason: 'first notification',
      routeLabels: { team: 'payments' },
    })
    const opened = await post(`${url}/alertmanager`, first)
    expect(opened.status).toBe(200)
    expect(opened.json.action).toBe('opened')
    const chatId = opened.json.chat_id
    let v = view(s, chatId)
    expect(v.name).toBe('🔥 [P0] 5xx rate above 5% on checkout-1')
    expect(v.members.sort()).toEqual([alice!.open_id, bob!.open_id].sort())
    expect(v.cardRead).toContain('http://alertmanager.acme.example:9093/#/silences/new?filter=')
    expect(v.cardRead).toContain('https://runbooks.acme.example/high-error-rate')

    const repeat = await post(`${url}/alertmanager`, first)
    expect(repeat.json).toEqual({ action: 'none', reason: 'repeat' })
    expect(countRequests(s, 'patchMessage') + countRequests(s, 'sendMessage')).toBe(1) // only the card so far

    const two = alertmanagerPayload([
      alert({ instance: 'checkout-1' }),
      alert({ instance: 'checkout-2', startsAt: '2026-11-25T10:01:00Z' }),
    ])
    const updated = await post(`${url}/alertmanager`, two)
    expect(updated.json.action).toBe('updated')
    v = view(s, chatId)
    expect(v.cards).toHaveLength(1)
    expect(v.cardRead).toContain('checkout-2')
    expect(v.posts.at(-1)).toContain('新增 1 项告警')

    const partial = alertmanagerPayload([
      alert({ instance: 'checkout-1', status: 'resolved' }),
      alert({ instance: 'checkout-2', startsAt: '2026-11-25T10:01:00Z' }),
    ])
    expect((await post(`${url}/alertmanager`, partial)).json.action).toBe('updated')
    expect(view(s, chatId).posts.at(-1)).toContain('1 项已恢复')

    const allResolved = alertmanagerPayload([
      alert({ instance: 'checkout-2', status: 'resolved', startsAt: '2026-11-25T10:01:00Z' }),
    ])
    const resolved = await post(`${url}/alertmanager`, allResolved)
    expect(resolved.json.action).toBe('resolved')
    v = view(s, chatId)
    expect(v.name).toBe('[已解决] [P0] 5xx rate above 5% on checkout-1')
    expect(v.card.header.template).toBe('green')
    expect(chats(s)).toHaveLength(1)
  })

  it('requires the bearer token (or basic auth) and compares it exactly', async () => {
    const s = await sandbox()
    const { url } = await startReceiver(s, {
      config: { auth: { bearer_token: TOKEN, basic: { username: 'am', password: 'secret-pass' } } },
    })
    const body = alertmanagerPayload([alert({ instance: 'a' })])
    for (const path of ['/alertmanager', '/grafana', '/incidents']) {
      expect((await post(`${url}${path}`, body, { token: null })).status).toBe(401)
      expect((await post(`${url}${path}`, body, { token: `${TOKEN}x` })).status).toBe(401)
      expect((await post(`${url}${path}`, body, { token: TOKEN.slice(0, -1) })).status).toBe(401)
      const wrongBasic = Buffer.from('am:wrong-pass').toString('base64')
      expect(
        (
          await post(`${url}${path}`, body, {
            token: null,
            headers: { authorization: `Basic ${wrongBasic}` },
          })
        ).status,
      ).toBe(401)
    }
    expect(chats(s)).toHaveLength(0)
    const basic = Buffer.from('am:secret-pass').toString('base64')
    expect(
      (
        await post(`${url}/alertmanager`, body, {
          token: null,
          headers: { authorization: `Basic ${basic}` },
        })
      ).json.action,
    ).toBe('opened')
  })

  it('answers 400 naming the first bad field, 415 for a wrong type, 413 over the limit, and changes nothing', async () => {
    const s = await sandbox()
    const { url } = await startReceiver(s, { config: { server: { body_limit_bytes: 4096 } } })
    const bad = alertmanagerPayload([alert({ instance: 'a' })]) as any
    bad.alerts[0].startsAt = 'yesterday'
    const r1 = await post(`${url}/alertmanager`, bad)
    expect(r1.status).toBe(400)
    expect(r1.json.error).toContain('alerts[0].startsAt')
    const r2 = await post(`${url}/alertmanager`, {
      ...alertmanagerPayload([alert({ instance: 'a' })]),
      version: '3',
    })
    expect(r2.json.error).toContain('version')
    expect((await post(`${url}/alertmanager`, '{"version": "4",')).json.error).toContain(
      'not valid JSON',
    )
    expect(
      (await post(`${url}/alertmanager`, Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))).json.error,
    ).toBe('body is not valid UTF-8')
    expect((await post(`${url}/alertmanager`, '[]')).json.error).toBe('body must be a JSON object')
    expect(
      (await post(`${url}/alertmanager`, {}, { headers: { 'content-type': 'application/xml' } }))
        .status,
    ).toBe(415)
    const big = await post(`${url}/alertmanager`, { pad: 'x'.repeat(10_000) })
    expect(big.status).toBe(413)
    const inc = await post(`${url}/incidents`, { key: 'k', title: 't', severity: 'sev1' })
    expect(inc.status).toBe(400)
    expect(inc.json.error).toContain('severity')
    expect(chats(s)).toHaveLength(0)
    expect(countRequests(s, 'createChat')).toBe(0)
  })

  it('answers 503 when Feishu fails transiently, and the retry opens exactly one chat', async () => {
    const s = await sandbox()
    const { url } = await startReceiver(s, { retry: { maxAttempts: 2, maxElapsedMs: 2000 } })
    s.faults.add({
      kind: 'status',
      status: 502,
      times: 2,
      endpoint: 'sendMessage',
    })
    const body = alertmanagerPayload([alert({ instance: 'a' })])
    const failed = await post(`${url}/alertmanager`, body)
    expect(failed.status).toBe(503)
    const retried = await post(`${url}/alertmanager`, body)
    expect(retried.status).toBe(200)
    expect(chats(s)).toHaveLength(1)
    expect(view(s, chats(s)[0]!.chat_id).cards).toHaveLength(1)
  })

  it('answers 200 at once when the card was sent but every answer was lost: the card is found in the chat', async () => {
    const s = await sandbox()
    const { url } = await startReceiver(s, { retry: { maxAttempts: 2, maxElapsedMs: 2000 } })
    s.faults.add({
      kind: 'status',
      status: 502,
      times: 2,
      endpoint: 'sendMessage',
      afterEffect: true,
    })
    const r = await post(`${url}/alertmanager`, alertmanagerPayload([alert({ instance: 'a' })]))
    expect(r.status).toBe(200)
    expect(chats(s)).toHaveLength(1)
    const v = view(s, chats(s)[0]!.chat_id)
    expect(v.cards).toHaveLength(1)
    expect(v.pinned).toEqual([v.cards[0]!.message_id])
  })

  it('answers 200 with the Feishu error when retrying cannot help (a missing scope)', async () => {
    const s = await sandbox({ scopes: ['im:message'] })
    const { url } = await startReceiver(s)
    const r = await post(`${url}/alertmanager`, alertmanagerPayload([alert({ instance: 'a' })]))
    expect(r.status).toBe(200)
    expect(r.json).toMatchObject({ action: 'failed', code: 99991672 })
    expect(r.json.error).toContain('im:chat')
  })

  it('keeps one chat when an HA pair delivers every notification twice, concurrently', async () => {
    const s = await sandbox()
    const { url } = await startReceiver(s)
    const body = alertmanagerPayload([alert({ instance: 'a' })])
    const results = await Promise.all([
      post(`${url}/alertmanager`, body),
      post(`${url}/alertmanager`, body),
    ])
    expect(results.map((r) => r.status)).toEqual([200, 200])
    expect(chats(s)).toHaveLength(1)
    expect(view(s, chats(s)[0]!.chat_id).cards).toHaveLength(1)
  })

  it('resolves in the same chat after a restart between firing and resolution', async () => {
    const s = await sandbox()
    const dir = await tempDir()
    const first = await startReceiver(s, { store: await FileStore.open(dir) })
    const opened = await post(
      `${first.url}/alertmanager`,
      alertmanagerPayload([alert({ instance: 'a' })]),
    )
    await first.receiver.close()
    const second = await startReceiver(s, { store: await FileStore.open(dir) })
    const resolved = await post(
      `${second.url}/alertmanager`,
      alertmanagerPayload([alert({ instance: 'a', status: 'resolved' })]),
    )
    expect(resolved.json.action).toBe('resolved')
    expect(resolved.json.chat_id).toBe(opened.json.chat_id)
    expect(view(s, opened.json.chat_id).name).toMatch(/^\[已解决\] /)
  })
})

describe('POST/PUT /grafana', () => {
  it('opens a war room with dashboard and panel links, the alert image and both methods', async () => {
    const s = await sandbox()
    const { url } = await startReceiver(s)
    const body = grafanaPayload([alert({ instance: 'checkout-1' })])
    const r = await post(`${url}/grafana`, body, { method: 'PUT' })
    expect(r.json.action).toBe('opened')
    const v = view(s, r.json.chat_id)
    expect(v.cardRead).toContain('https://grafana.acme.example/d/checkout?orgId=1&viewPanel=4')
    expect(v.cardRead).toContain('https://grafana.acme.example/d/checkout?orgId=1')
    expect(v.cardRead).toContain('当前值=0.072')
    const again = await post(
      `${url}/grafana`,
      grafanaPayload([alert({ instance: 'checkout-1', status: 'resolved' })]),
    )
    expect(again.json.action).toBe('resolved')
  })

  it('answers Grafana’s Test notification with 200, opens nothing, and posts to the test chat', async () => {
    const s = await sandbox()
    const testChat = [...s.state.chats.values()][0]
    expect(testChat).toBeUndefined()
    const { url, warroom } = await startReceiver(s)
    const opened = await warroom.handle(incident({ key: 'any' }))
    const withTestChat = await startReceiver(s, {
      config: { grafana: { test_chat_id: opened.chatId } },
    })
    const r = await post(`${withTestChat.url}/grafana`, grafanaTestPayload())
    expect(r.status).toBe(200)
    expect(r.json.action).toBe('none')
    expect(chats(s)).toHaveLength(1)
    expect(view(s, opened.chatId!).posts.at(-1)).toContain('Grafana test notification')
    expect((await post(`${url}/grafana`, grafanaTestPayload())).status).toBe(200)
  })

  it('verifies the HMAC signature over the raw body, with and without a timestamp', async () => {
    const s = await sandbox()
    const secret = 'grafana-hmac-secret'
    const { url } = await startReceiver(s, { config: { grafana: { hmac_secret: secret } } })
    const raw = JSON.stringify(grafanaPayload([alert({ instance: 'x' })]), null, 2)
    const sig = createHmac('sha256', secret).update(raw).digest('hex')
    expect((await post(`${url}/grafana`, raw)).status).toBe(401)
    expect(
      (
        await post(`${url}/grafana`, raw, {
          headers: { 'x-grafana-alerting-signature': 'ab'.repeat(32) },
        })
      ).status,
    ).toBe(401)
    const ok = await post(`${url}/grafana`, raw, {
      headers: { 'x-grafana-alerting-signature': sig },
    })
    expect(ok.json.action).toBe('opened')

    const stamped = await startReceiver(s, {
      config: {
        grafana: { hmac_secret: secret, hmac_timestamp_header: 'X-Grafana-Alerting-Timestamp' },
      },
    })
    const now = String(Math.floor(Date.now() / 1000))
    const sig2 = createHmac('sha256', secret).update(`${now}:${raw}`).digest('hex')
    const stale = String(Math.floor(Date.now() / 1000) - 3600)
    const sig3 = createHmac('sha256', secret).update(`${stale}:${raw}`).digest('hex')
    expect(
      (
        await post(`${stamped.url}/grafana`, raw, {
          headers: { 'x-grafana-alerting-signature': sig3, 'x-grafana-alerting-timestamp': stale },
        })
      ).json.error,
    ).toContain('stale')
    expect(
      (
        await post(`${stamped.url}/grafana`, raw, {
          headers: { 'x-grafana-alerting-signature': sig2, 'x-grafana-alerting-timestamp': now },
        })
      ).status,
    ).toBe(200)
  })
})

describe('POST /incidents', () => {
  it('takes a normalised incident, routing members on its labels', async () => {
    const s = await sandbox()
    const [, , carol] = [...s.state.users.values()]
    const { url } = await startReceiver(s, {
      config: {
        routes: [
          { match_re: { service: 'checkout-.*' }, members: [carol!.open_id], severity: 'critical' },
        ],
      },
    })
    const r = await post(`${url}/incidents`, incident({ labels: { service: 'checkout-api' } }))
    expect(r.json.action).toBe('opened')
    expect(view(s, r.json.chat_id).members).toEqual([carol!.open_id])
    expect(view(s, r.json.chat_id).card.header.template).toBe('carmine')
    const unknown = await post(`${url}/incidents`, { ...incident(), colour: 'red' })
    expect(unknown.status).toBe(400)
    expect(unknown.json.error).toContain('unknown field(s) colour')
  })
})

describe('GET /healthz and /metrics', () => {
  it('reports health and Prometheus metrics of webhooks and Feishu calls', async () => {
    const s = await sandbox()
    const { url } = await startReceiver(s)
    await post(`${url}/alertmanager`, alertmanagerPayload([alert({ instance: 'a' })]))
    await post(`${url}/alertmanager`, {}, { token: 'nope-nope-nope' })
    const health = await request(`${url}/healthz`)
    expect(await health.body.json()).toEqual({ status: 'ok' })
    const res = await request(`${url}/metrics`)
    const text = await res.body.text()
    expect(res.headers['content-type']).toContain('text/plain')
    expect(text).toContain('warroom_webhooks_total{source="alertmanager",outcome="opened"} 1')
    expect(text).toContain('warroom_webhooks_total{source="alertmanager",outcome="unauthorized"} 1')
    expect(text).toMatch(
      /warroom_feishu_calls_total\{endpoint="createChat",result="ok",code="0"\} 1/,
    )
    expect(text).toContain('warroom_webhook_duration_seconds_bucket')
    expect((await request(`${url}/nope`)).statusCode).toBe(404)
  })
})

describe('POST /feishu/events', () => {
  it('decrypts the documented test vector', () => {
    expect(decryptEvent('P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=', 'test key')).toBe(
      'hello world',
    )
    expect(decryptEvent(encryptEvent('{"a":1}', 'k'), 'k')).toBe('{"a":1}')
  })

  it('answers the URL verification challenge, plain and encrypted, checking the token', async () => {
    const s = await sandbox()
    const plain = await startReceiver(s, { config: { feishu: { verification_token: 'vtoken-1' } } })
    const ok = await post(
      `${plain.url}/feishu/events`,
      { challenge: 'abc', token: 'vtoken-1', type: 'url_verification' },
      { token: null },
    )
    expect(ok.json).toEqual({ challenge: 'abc' })
    const bad = await post(
      `${plain.url}/feishu/events`,
      { challenge: 'abc', token: 'other', type: 'url_verification' },
      { token: null },
    )
    expect(bad.status).toBe(401)
    const enc = await startReceiver(s, {
      config: { feishu: { encrypt_key: 'ek-123', verification_token: 'vtoken-1' } },
    })
    const encrypted = encryptEvent(
      JSON.stringify({ challenge: 'xyz', token: 'vtoken-1', type: 'url_verification' }),
      'ek-123',
    )
    expect(
      (await post(`${enc.url}/feishu/events`, { encrypt: encrypted }, { token: null })).json,
    ).toEqual({ challenge: 'xyz' })
  })

  it('acts on /ack and /resolve typed in the chat, delivered encrypted and signed, once per delivery', async () => {
    const s = await sandbox()
    const [alice, bob] = [...s.state.users.values()]
    const { warroom } = await startReceiver(s, {
      config: { feishu: { encrypt_key: 'ek-123', verification_token: 'vtoken-1' } },
    })
    const opened = await warroom.handle(incident({ members: [alice!.open_id, bob!.open_id] }))
    const ack = await s.say(opened.chatId!, bob!.open_id, '/ack', { mentionBot: true })
    expect(ack.delivery.status).toBe(200)
    await waitFor(async () => (await warroom.find({ chatId: opened.chatId! }))?.ack !== undefined)
    let v = view(s, opened.chatId!)
    expect(v.cardRead).toContain('已确认')
    expect(v.posts.at(-1)).toContain(`@${bob!.open_id}`)
    await s.say(opened.chatId!, alice!.open_id, '/status')
    await waitFor(async () => view(s, opened.chatId!).posts.at(-1)?.includes('状态') ?? false)
    await s.say(opened.chatId!, alice!.open_id, '/resolve rolled back v42')
    // The card and rename, and the resolution line, go out side by side: wait for both.
    await waitFor(async () => {
      const now = view(s, opened.chatId!)
      return (
        now.name.startsWith('[已解决] ') && now.posts.some((p) => p.includes('rolled back v42'))
      )
    })
    v = view(s, opened.chatId!)
    expect(v.name.startsWith('[已解决] ')).toBe(true)
    const resolution = v.posts.find((p) => p.includes('rolled back v42'))
    // Read as a person would: who resolved it, in the right order, no double spaces.
    expect(resolution).toMatch(
      new RegExp(`^✅ 事件已解决 · 持续 \\S+ · 由 @${alice!.open_id} 标记解决\nrolled back v42$`),
    )
    expect(v.card.header.template).toBe('green')
    // A person's resolution gets the review summary and the timeline too.
    await waitFor(async () => view(s, opened.chatId!).posts.some((p) => p.includes('复盘摘要')))
  })

  it('rejects bad signatures, stale timestamps and unencrypted bodies when an Encrypt Key is set', async () => {
    const s = await sandbox()
    const { url } = await startReceiver(s, { config: { feishu: { encrypt_key: 'ek-123' } } })
    const raw = ` {"encrypt": "${encryptEvent('{"schema":"2.0","header":{"event_id":"e1","event_type":"x"}}', 'ek-123')}"} `
    const now = String(Math.floor(Date.now() / 1000))
    const good = signEvent(now, 'n1', 'ek-123', Buffer.from(raw))
    // A body that is not compact JSON: the signature covers the raw bytes.
    expect(
      (
        await post(`${url}/feishu/events`, raw, {
          token: null,
          headers: sigHeaders(now, 'n1', good),
        })
      ).status,
    ).toBe(200)
    expect(
      (
        await post(`${url}/feishu/events`, raw, {
          token: null,
          headers: sigHeaders(now, 'n2', good),
        })
      ).status,
    ).toBe(401)
    expect((await post(`${url}/feishu/events`, raw, { token: null })).status).toBe(401)
    const old = String(Math.floor(Date.now() / 1000) - 3600)
    const stale = await post(`${url}/feishu/events`, raw, {
      token: null,
      headers: sigHeaders(old, 'n1', signEvent(old, 'n1', 'ek-123', Buffer.from(raw))),
    })
    expect(stale.status).toBe(401)
    expect(stale.json.error).toContain('stale')
    const plain = await post(
      `${url}/feishu/events`,
      { schema: '2.0', header: { event_type: 'x' } },
      { token: null, headers: sigHeaders(now, 'n1', good) },
    )
    expect(plain.status).toBe(400)
  })

  it('ignores a duplicate delivery of the same event', async () => {
    const s = await sandbox()
    const [alice] = [...s.state.users.values()]
    const { url, warroom, metrics } = await startReceiver(s)
    const opened = await warroom.handle(incident({ members: [alice!.open_id] }))
    const message = s.postUserMessage(opened.chatId!, alice!.open_id, '/resolve done')
    const event = {
      schema: '2.0',
      header: {
        event_id: 'ev-dup-1',
        event_type: 'im.message.receive_v1',
        token: '',
        app_id: s.appId,
      },
      event: {
        sender: { sender_id: { open_id: alice!.open_id }, sender_type: 'user' },
        message: {
          message_id: message.message_id,
          chat_id: opened.chatId,
          chat_type: 'group',
          message_type: 'text',
          content: JSON.stringify({ text: '/resolve done' }),
          mentions: [],
        },
      },
    }
    await post(`${url}/feishu/events`, event, { token: null })
    await post(`${url}/feishu/events`, event, { token: null })
    await post(
      `${url}/feishu/events`,
      { ...event, header: { ...event.header, event_id: 'ev-dup-2' } },
      { token: null },
    )
    await waitFor(async () => view(s, opened.chatId!).name.startsWith('[已解决] '))
    const text = await metrics.registry.metrics()
    expect(text).toContain(
      'warroom_feishu_events_total{type="im.message.receive_v1",outcome="duplicate"} 2',
    )
    expect(view(s, opened.chatId!).posts.filter((p) => p.includes('事件已解决'))).toHaveLength(1)
  })

  it('handles the card buttons within the time limit and answers with a toast and the new card', async () => {
    const s = await sandbox()
    const [alice] = [...s.state.users.values()]
    const { warroom } = await startReceiver(s)
    const opened = await warroom.handle(incident({ members: [alice!.open_id] }))
    const card = view(s, opened.chatId!).card
    const ackButton = card.elements
      .find((e: any) => e.tag === 'action')
      .actions.find((a: any) => a.value?.op === 'ack')
    const started = Date.now()
    const res = await s.click(opened.cardMessageId!, alice!.open_id, ackButton.value)
    expect(Date.now() - started).toBeLessThan(3000)
    expect(res.status).toBe(200)
    expect((res.body as any).toast).toEqual({ type: 'success', content: '已确认' })
    expect(JSON.stringify((res.body as any).card.data)).toContain('已确认')
    expect(view(s, opened.chatId!).cardRead).toContain('已确认')
    const resolveButton = view(s, opened.chatId!)
      .card.elements.find((e: any) => e.tag === 'action')
      .actions.find((a: any) => a.value?.op === 'resolve')
    expect(resolveButton.value.op).toBe('resolve')
    await s.click(opened.cardMessageId!, alice!.open_id, resolveButton.value)
    expect(view(s, opened.chatId!).name).toMatch(/^\[已解决\] /)
  })
})

function sigHeaders(timestamp: string, nonce: string, signature: string) {
  return {
    'x-lark-request-timestamp': timestamp,
    'x-lark-request-nonce': nonce,
    'x-lark-signature': signature,
  }
}

async function waitFor(check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const until = Date.now() + ms
  while (Date.now() < until) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 20))
  }
  throw new Error('condition not met in time')
}
