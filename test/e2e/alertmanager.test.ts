import { describe, expect, it } from 'vitest'
import { ALERTMANAGER, startAlertmanager, webhookConfig } from '../support/alertmanager.js'
import { sandbox, view } from '../support/helpers.js'
import { startReceiver } from '../support/receiver.js'

async function until<T>(what: string, check: () => T | undefined | false, ms = 20_000): Promise<T> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    const value = check()
    if (value) return value
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`timed out waiting for ${what}`)
}

describe.skipIf(!ALERTMANAGER)('the real Alertmanager sending to the receiver', () => {
  it('opens a routed war room, updates the card when an alert joins, and resolves with a green card and a rename', {
    timeout: 60_000,
  }, async () => {
    const s = await sandbox()
    const [alice, bob] = [...s.state.users.values()]
    const { url } = await startReceiver(s, {
      config: {
        routes: [{ match: { team: 'payments' }, members: ['alice@example.com', bob!.open_id] }],
      },
    })
    const am = await startAlertmanager(webhookConfig(url))

    const startsAt = new Date().toISOString()
    const alertBody = (instance: string, endsAt?: string) => ({
      labels: { alertname: 'HighErrorRate', team: 'payments', severity: 'critical', instance },
      annotations: {
        summary: 'Checkout 5xx above 5%',
        description: `instance ${instance} is failing`,
      },
      startsAt,
      ...(endsAt ? { endsAt } : {}),
      generatorURL: `http://prometheus.acme.example/graph?i=${instance}`,
    })
    const postAlerts = (alerts: unknown[]) => am.postAlerts(alerts)

    await postAlerts([alertBody('checkout-1')])
    const chat = await until('a war room', () =>
      [...s.state.chats.values()].find((c) => c.description.includes('[warroom:')),
    )
    // The chat exists before its card is posted and pinned: wait for the whole opening.
    await until('the pinned card', () => view(s, chat.chat_id).pinned.length === 1)
    let v = view(s, chat.chat_id)
    expect(v.name).toBe('🔥 [P0] Checkout 5xx above 5%')
    expect(v.members.sort()).toEqual([alice!.open_id, bob!.open_id].sort())
    expect(v.cards).toHaveLength(1)
    expect(v.pinned).toEqual([v.cards[0]!.message_id])

    await postAlerts([alertBody('checkout-2')])
    await until('the card to show the second alert', () =>
      view(s, chat.chat_id).cardRead.includes('instance=checkout-2'),
    )
    v = view(s, chat.chat_id)
    expect(v.cards).toHaveLength(1)
    expect(s.state.messages.get(v.cards[0]!.message_id)!.patches).toBeGreaterThanOrEqual(1)

    const past = new Date(Date.now() - 1000).toISOString()
    await postAlerts([alertBody('checkout-1', past), alertBody('checkout-2', past)])
    // The card and rename, and the resolution line, go out side by side: wait for all three.
    await until('the resolution line, the green card and the rename', () => {
      const now = view(s, chat.chat_id)
      return (
        now.posts.some((p) => p.includes('事件已解决')) &&
        now.card.header.template === 'green' &&
        now.name.startsWith('[已解决] ')
      )
    })
    v = view(s, chat.chat_id)
    expect(v.name).toBe('[已解决] [P0] Checkout 5xx above 5%')
    expect(v.card.header.template).toBe('green')
    expect(v.posts.some((p) => p.includes('事件已解决'))).toBe(true)
    expect(
      [...s.state.chats.values()].filter((c) => c.description.includes('[warroom:')),
    ).toHaveLength(1)
  })
})
