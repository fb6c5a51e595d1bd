/**
 * /silence and /unsilence against the real Alertmanager (Debian's package):
 * the silence exists (amtool lists it), Alertmanager stops notifying the
 * silenced group, and /unsilence expires it.
 */
import { execFileSync } from 'node:child_process'
import { request } from 'undici'
import { describe, expect, it } from 'vitest'
import { warRoomConfig } from '../../src/cli/main.js'
import { parseConfig } from '../../src/config/config.js'
import { ALERTMANAGER, startAlertmanager, webhookConfig } from '../support/alertmanager.js'
import { sandbox, until, view } from '../support/helpers.js'
import { startReceiver } from '../support/receiver.js'

interface Silence {
  id: string
  matchers: Array<{ name: string; value: string; isRegex: boolean; isEqual?: boolean }>
  comment: string
  createdBy: string
  status: { state: string }
}

/** The value of the card button whose op is `op`. */
function buttonValue(card: unknown, op: string): Record<string, unknown> | undefined {
  if (!card || typeof card !== 'object') return undefined
  const value = (card as { value?: { op?: string } }).value
  if (value?.op === op) return value as Record<string, unknown>
  for (const child of Object.values(card)) {
    const found = buttonValue(child, op)
    if (found) return found
  }
  return undefined
}

function amtool(url: string, ...args: string[]): Silence[] {
  const out = execFileSync(
    'amtool',
    ['silence', 'query', `--alertmanager.url=${url}`, '-o', 'json', ...args],
    {
      encoding: 'utf8',
    },
  )
  return JSON.parse(out || '[]') as Silence[]
}

describe.skipIf(!ALERTMANAGER)('/silence with the real Alertmanager', () => {
  it('creates the silence for the group, Alertmanager holds its notifications, /unsilence expires it', {
    timeout: 90_000,
  }, async () => {
    const s = await sandbox()
    const [alice] = [...s.state.users.values()]
    // Alertmanager first (its port is then its own), pointed at the receiver once that listens.
    const am = await startAlertmanager(webhookConfig('http://127.0.0.1:9'))
    const amUrl = am.url
    const { url } = await startReceiver(s, {
      config: { members: [alice!.open_id], alertmanager: { url: amUrl } },
    })
    await am.reload(webhookConfig(url))
    const startsAt = new Date().toISOString()
    const alert = (instance: string) => ({
      labels: { alertname: 'DiskFull', team: 'storage', severity: 'error', instance },
      annotations: { summary: 'Disk almost full' },
      startsAt,
    })
    await am.postAlerts([alert('i1')])
    const chat = await until('the war room', () =>
      [...s.state.chats.values()].some((c) => c.description.includes('[warroom:')),
    ).then(() => [...s.state.chats.values()].find((c) => c.description.includes('[warroom:'))!)
    await until('the card', () => view(s, chat.chat_id).pinned.length === 1)
    // The card offers the button, since /silence can reach this Alertmanager.
    expect(view(s, chat.chat_id).cardRead, am.log()).toContain('静默 1 小时')

    await s.say(chat.chat_id, alice!.open_id, '/silence 1h rolling back v42')
    await until('the silence message', () =>
      view(s, chat.chat_id).posts.some((p) => p.startsWith('🔕')),
    )
    const active = amtool(amUrl)
    expect(active, `${JSON.stringify(view(s, chat.chat_id).posts)}\n${am.log()}`).toHaveLength(1)
    expect(active[0]!.matchers.map((m) => [m.name, m.value, m.isRegex]).sort()).toEqual([
      ['alertname', 'DiskFull', false],
      ['team', 'storage', false],
    ])
    expect(active[0]!.comment).toContain('rolling back v42')
    // Alertmanager names the person who silenced, not an id.
    expect(active[0]!.createdBy).toBe(`${alice!.name} (via feishu-warroom)`)
    const posted = view(s, chat.chat_id).posts.find((p) => p.startsWith('🔕'))!
    expect(posted).toContain(active[0]!.id)
    // The card follows the line (patched after it is posted).
    await until('the card to say so', () =>
      view(s, chat.chat_id).cardRead.includes('已在 Alertmanager 静默至'),
    )

    // A new alert in the silenced group: Alertmanager holds it (its API marks it silenced).
    await am.postAlerts([alert('i1'), alert('i2')])
    await until('Alertmanager to mark the new alert silenced', async () => {
      const r = await request(`${amUrl}/api/v2/alerts?silenced=true&active=false`)
      const alerts = (await r.body.json()) as Array<{
        labels: Record<string, string>
        status: { silencedBy: string[] }
      }>
      return alerts.some(
        (a) => a.labels.instance === 'i2' && a.status.silencedBy.includes(active[0]!.id),
      )
    })
    await new Promise((r) => setTimeout(r, 4000)) // two group intervals
    expect(view(s, chat.chat_id).cardRead).not.toContain('instance=i2')

    await s.say(chat.chat_id, alice!.open_id, '/unsilence')
    await until('the unsilence message', () =>
      view(s, chat.chat_id).posts.some((p) => p.startsWith('🔔')),
    )
    expect(amtool(amUrl)).toEqual([])
    expect(amtool(amUrl, '--expired').map((x) => x.id)).toContain(active[0]!.id)
    // Notifications resume: the held alert reaches the card.
    await am.postAlerts([alert('i1'), alert('i2')])
    await until(
      'the card to show i2',
      () => view(s, chat.chat_id).cardRead.includes('instance=i2'),
      20_000,
    )

    // The card's button silences the group for an hour: a click by a member.
    const v = view(s, chat.chat_id)
    const value = buttonValue(v.card, 'silence')
    expect(value).toMatchObject({ op: 'silence', d: '1h' })
    const clicked = await s.click(v.cards[0]!.message_id, alice!.open_id, value!)
    expect(clicked.status).toBe(200)
    expect(JSON.stringify(clicked.body)).toContain('已静默')
    const byButton = amtool(amUrl)
    expect(byButton).toHaveLength(1)
    const endsAt = Date.parse((byButton[0] as unknown as { endsAt: string }).endsAt)
    const hours = (endsAt - Date.now()) / 3600_000
    expect(hours).toBeGreaterThan(0.95)
    expect(hours).toBeLessThanOrEqual(1)

    // Resolved while the silence is still in force: the green card keeps saying so.
    await s.say(chat.chat_id, alice!.open_id, '/resolve')
    await until('the green card', () => view(s, chat.chat_id).name.startsWith('[已解决]'))
    await until('the card to be green', () => view(s, chat.chat_id).cardRead.includes('已解决'))
    expect(view(s, chat.chat_id).cardRead).toContain('已在 Alertmanager 静默至')
  })

  it('answers a member who cannot silence why, and a non-member nothing is done', async () => {
    const s = await sandbox()
    const [alice, , , , erin] = [...s.state.users.values()]
    const { warroom } = await startReceiver(s, { config: { members: [alice!.open_id] } })
    const opened = await warroom.handle({
      key: 'generic:x',
      title: 'Not from Alertmanager',
      members: [alice!.open_id],
    })
    const refused = await warroom.silence(
      { chatId: opened.chatId! },
      { openId: alice!.open_id },
      3600_000,
    )
    expect(refused.reason).toBe('这个事件不是来自 Alertmanager，无法在这里静默。')
    const outsider = await warroom.silence(
      { chatId: opened.chatId! },
      { openId: erin!.open_id },
      3600_000,
    )
    expect(outsider.reason).toBe('只有事件群的成员可以操作')
  })
})

describe('which Alertmanager', () => {
  it('is the route’s own when it names one, else the global one', () => {
    const config = parseConfig({
      alertmanager: { url: 'http://am-global:9093' },
      routes: [
        {
          match: { team: 'storage' },
          alertmanager: { url: 'http://am-storage:9093', bearer_token: 't0ken-storage' },
        },
      ],
    })
    const amFor = warRoomConfig(config).alertmanagerFor!
    expect(amFor({ team: 'storage' })).toEqual({
      url: 'http://am-storage:9093',
      bearer_token: 't0ken-storage',
    })
    expect(amFor({ team: 'payments' })).toEqual({ url: 'http://am-global:9093' })
    expect(() => parseConfig({ alertmanager: { url: 'am:9093' } })).toThrow(
      /alertmanager\.url: must be an http\(s\) URL/,
    )
  })
})
