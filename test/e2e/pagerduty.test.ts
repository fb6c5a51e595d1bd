/**
 * PagerDuty Events API v2, compatible (issue 27): the real Alertmanager's own
 * PagerDuty notifier (pagerduty_configs with `url` at the receiver) opens one
 * war room per group and resolves it; PagerDuty's documented example events
 * get PagerDuty's answers; a malformed event gets 400 naming the field; a
 * route's routing key selects that route.
 */
import { request } from 'undici'
import { describe, expect, it } from 'vitest'
import { ALERTMANAGER, startAlertmanager } from '../support/alertmanager.js'
import { test } from '../support/fixtures.js'
import { sandbox, until, view } from '../support/helpers.js'
import { freshSchema, HAVE_POSTGRES, pgStore } from '../support/postgres.js'
import { post, startReceiver, TOKEN } from '../support/receiver.js'

const enqueue = async (url: string, body: unknown, path = '/v2/enqueue') => {
  const res = await request(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> }
}

// PagerDuty's documented trigger example (developer.pagerduty.com, Events API v2, "Send an alert event").
const trigger = (routingKey: string, dedupKey?: string) => ({
  payload: {
    summary: 'DISK at 99% on machine prod-datapipe03.example.com',
    timestamp: '2015-07-17T08:42:58.315+0000',
    severity: 'critical',
    source: 'prod-datapipe03.example.com',
    component: 'mysql',
    group: 'prod-datapipe',
    class: 'disk',
    custom_details: { free_space: '1%', ping_time: '1500ms', load_avg: '0.75' },
  },
  routing_key: routingKey,
  ...(dedupKey ? { dedup_key: dedupKey } : {}),
  images: [
    {
      src: 'https://www.pagerduty.com/wp-content/uploads/2016/05/pagerduty-logo-green.png',
      href: 'https://example.com/',
      alt: 'Example text',
    },
  ],
  links: [{ href: 'https://example.com/', text: 'Link text' }],
  event_action: 'trigger',
  client: 'Sample Monitoring Service',
  client_url: 'https://monitoring.service.com',
})

describe('PagerDuty Events API v2', () => {
  test('the documented trigger, acknowledge and resolve: PagerDuty’s answers and one war room through its life', async ({
    sandbox: s,
    people: [alice],
  }) => {
    const { url } = await startReceiver(s, { config: { members: [alice!.open_id] } })
    const opened = await enqueue(url, trigger(TOKEN, 'srv01/mysql'))
    expect(opened).toEqual({
      status: 202,
      json: { status: 'success', message: 'Event processed', dedup_key: 'srv01/mysql' },
    })
    const chat = [...s.state.chats.values()].find((c) => c.description.includes('[warroom:'))!
    const v = view(s, chat.chat_id)
    expect(v.name).toBe('🔥 [P0] DISK at 99% on machine prod-datapipe03.example…') // Feishu's 60
    // Source, component, group, class and the custom details as fields; links, the client and the image.
    for (const text of [
      'prod-datapipe03.example.com',
      'mysql',
      'prod-datapipe',
      'free_space',
      '1500ms',
    ])
      expect(v.cardRead).toContain(text)
    expect(v.cardRead).toContain('"url":"https://example.com/"')
    expect(v.cardRead).toContain(`"url":"https://monitoring.service.com/"`)
    expect(v.cardRead).toContain('PagerDuty Events')

    const acked = await enqueue(url, {
      routing_key: TOKEN,
      dedup_key: 'srv01/mysql',
      event_action: 'acknowledge',
    })
    expect(acked.status).toBe(202)
    expect(view(s, chat.chat_id).posts).toContain('✋ PagerDuty event 已确认，正在处理。')
    const resolved = await enqueue(
      url,
      {
        routing_key: TOKEN,
        dedup_key: 'srv01/mysql',
        event_action: 'resolve',
      },
      '/pagerduty/v2/enqueue',
    )
    expect(resolved.json).toMatchObject({ status: 'success', dedup_key: 'srv01/mysql' })
    expect(s.state.chats.get(chat.chat_id)!.name).toMatch(/^\[已解决\] /)
    // After resolution a resolve or acknowledge is dropped (202, nothing opened).
    expect(
      (
        await enqueue(url, {
          routing_key: TOKEN,
          dedup_key: 'srv01/mysql',
          event_action: 'resolve',
        })
      ).status,
    ).toBe(202)
    expect(
      [...s.state.chats.values()].filter((c) => c.description.includes('[warroom:')),
    ).toHaveLength(1)
  })

  test('a trigger without dedup_key gets one generated and answered; the same key under another routing key is another incident', async ({
    sandbox: s,
    people: [alice],
  }) => {
    const { url } = await startReceiver(s, {
      config: { members: [alice!.open_id], routes: [{ routing_key: 'a'.repeat(32), members: [] }] },
    })
    const first = await enqueue(url, trigger(TOKEN))
    expect(first.json.dedup_key).toMatch(/^[0-9a-f-]{36}$/)
    await enqueue(url, trigger(TOKEN, 'same'))
    await enqueue(url, trigger('a'.repeat(32), 'same'))
    expect(
      [...s.state.chats.values()].filter((c) => c.description.includes('[warroom:')),
    ).toHaveLength(3)
  })

  test('only the routing key selects a keyed route: a generic incident naming its label does not', async ({
    sandbox: s,
    people: [alice],
  }) => {
    const key = 'b'.repeat(32)
    const { url } = await startReceiver(s, {
      config: { routes: [{ routing_key: key, members: [alice!.open_id] }] },
    })
    const sneaky = await post(`${url}/incidents`, {
      key: 'sneaky',
      title: 'Sneaky',
      labels: { pagerduty_route: '0' },
    })
    expect(sneaky.json.action).toBe('opened')
    expect(s.state.chats.get(sneaky.json.chat_id)!.members.has(alice!.open_id)).toBe(false)
    await enqueue(url, trigger(key, 'keyed'))
    const keyed = [...s.state.chats.values()].find((c) => c.name.includes('DISK at 99%'))!
    expect(keyed.members.has(alice!.open_id)).toBe(true)
  })

  test('malformed events get 400 naming the field; an unknown routing key is refused; nothing opens', async ({
    sandbox: s,
  }) => {
    const { url } = await startReceiver(s)
    const cases: Array<[unknown, string]> = [
      [
        { ...trigger(TOKEN), event_action: 'page' },
        'event_action must be trigger, acknowledge or resolve',
      ],
      [
        { ...trigger(TOKEN), payload: { ...trigger(TOKEN).payload, severity: 'high' } },
        'payload.severity must be critical, error, warning or info',
      ],
      [
        { ...trigger(TOKEN), payload: { severity: 'error', source: 'x' } },
        'payload.summary is required',
      ],
      [{ event_action: 'trigger', payload: trigger(TOKEN).payload }, 'routing_key is required'],
      [{ routing_key: TOKEN, event_action: 'resolve' }, 'dedup_key is required for resolve'],
      [{ routing_key: TOKEN, event_action: 'trigger' }, 'payload is required for trigger'],
      [trigger('not-a-key-of-ours'), 'routing_key is not one this receiver accepts'],
    ]
    for (const [body, error] of cases) {
      const answer = await enqueue(url, body)
      expect(answer.status, JSON.stringify(answer.json)).toBe(400)
      expect(answer.json).toMatchObject({
        status: 'invalid event',
        message: 'Event object is invalid',
      })
      expect(answer.json.errors).toEqual([error])
    }
    expect(s.state.chats.size).toBe(0)
  })
})

describe('the change feed', () => {
  for (const store of ['memory', 'postgres'] as const)
    test.skipIf(store === 'postgres' && !HAVE_POSTGRES)(
      `a change to service=checkout 10 minutes before a checkout incident is on its card; another service’s is not (${store})`,
      async ({ sandbox: s, people: [alice] }) => {
        const { url } = await startReceiver(s, {
          config: { members: [alice!.open_id] },
          ...(store === 'postgres' ? { store: await pgStore(freshSchema()) } : {}),
        })
        const change = (service: string, summary: string, minutesAgo: number) =>
          enqueue(
            url,
            {
              routing_key: TOKEN,
              payload: {
                summary,
                timestamp: new Date(Date.now() - minutesAgo * 60_000).toISOString(),
                source: 'ci.acme.example',
                custom_details: { service, version: 'v42' },
              },
              links: [{ href: 'https://ci.acme.example/deploys/42', text: 'deploy 42' }],
            },
            '/v2/change/enqueue',
          )
        expect(await change('checkout', 'Deployed checkout v42', 10)).toEqual({
          status: 202,
          json: { status: 'success', message: 'Change event processed' },
        })
        await change('payments', 'Deployed payments v7', 5)
        await change('checkout', 'Deployed checkout v40 (long ago)', 180)
        expect(
          (await enqueue(url, { routing_key: TOKEN, payload: {} }, '/v2/change/enqueue')).json,
        ).toMatchObject({
          status: 'invalid event',
          errors: ['payload.summary is required'],
        })
        const { json } = await post(`${url}/incidents`, {
          key: 'checkout-5xx',
          title: 'Checkout 5xx',
          labels: { service: 'checkout' },
        })
        const card = view(s, json.chat_id).cardRead
        expect(card).toContain('🔀 开始前的变更')
        expect(card).toContain('Deployed checkout v42')
        expect(card).toContain('(https://ci.acme.example/deploys/42)')
        expect(card).not.toContain('payments v7')
        expect(card).not.toContain('long ago') // outside changes_window (2h)
      },
    )
})

describe.skipIf(!ALERTMANAGER)('the real Alertmanager’s PagerDuty notifier', () => {
  it('opens one war room per group through pagerduty_configs with url, and resolves it', {
    timeout: 60_000,
  }, async () => {
    const s = await sandbox()
    const [alice] = [...s.state.users.values()]
    const routingKey = 'r'.repeat(32)
    const { url } = await startReceiver(s, {
      config: { routes: [{ routing_key: routingKey, members: [alice!.open_id] }] },
    })
    const am = await startAlertmanager(`route:
  receiver: warroom
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: warroom
    pagerduty_configs:
      - routing_key: ${routingKey}
        url: ${url}/v2/enqueue
        send_resolved: true
`)
    const startsAt = new Date().toISOString()
    const alert = (name: string, instance: string, endsAt?: string) => ({
      labels: { alertname: name, instance, severity: 'critical' },
      annotations: { summary: `${name} on ${instance}` },
      startsAt,
      ...(endsAt ? { endsAt } : {}),
    })
    await am.postAlerts([
      alert('DiskFull', 'db-1'),
      alert('DiskFull', 'db-2'),
      alert('HighLoad', 'web-1'),
    ])
    const rooms = () =>
      [...s.state.chats.values()].filter((c) => c.description.includes('[warroom:'))
    await until('two war rooms', () => rooms().length === 2, 20_000)
    for (const chat of rooms()) expect([...chat.members]).toEqual([alice!.open_id])
    const past = new Date(Date.now() - 1000).toISOString()
    await am.postAlerts([alert('DiskFull', 'db-1', past), alert('DiskFull', 'db-2', past)])
    await until(
      'the DiskFull room resolved',
      () => rooms().some((c) => c.name.startsWith('[已解决] ')),
      20_000,
    )
    await new Promise((r) => setTimeout(r, 3000)) // a repeat would have come by now
    expect(rooms()).toHaveLength(2)
    expect(rooms().filter((c) => c.name.startsWith('[已解决] '))).toHaveLength(1)
    expect(am.log()).not.toMatch(/level=error/)
  })
})
