/**
 * Escalation: while nobody acknowledges, each step of the route's policy
 * fires once at its time (an urgent notice of its kind to the people it names,
 * invited first), also across a restart; /ack stops what is left.
 */
import { describe, expect, it } from 'vitest'
import { FileStore } from '../../src/store/store.js'
import { alert, alertmanagerPayload } from '../fixtures/alerts.js'
import { sandbox, tempDir, until, view } from '../support/helpers.js'
import { freshSchema, HAVE_POSTGRES, pgStore } from '../support/postgres.js'
import { post, startReceiver } from '../support/receiver.js'

type Sandbox = Awaited<ReturnType<typeof sandbox>>

function policy(s: Sandbox) {
  const [alice, bob, carol] = [...s.state.users.values()]
  return {
    alice: alice!,
    bob: bob!,
    carol: carol!,
    config: {
      routes: [
        {
          match: { team: 'payments' },
          members: [alice!.open_id],
          escalation: [
            { after: '1s', urgent: 'app', to: [bob!.email] },
            { after: '2s', urgent: 'phone', invite: [carol!.email] },
          ],
        },
      ],
    },
  }
}

const firing = () =>
  alertmanagerPayload([
    alert({ instance: 'i1', severity: 'critical', labels: { team: 'payments' } }),
  ])

// The first notice is the critical incident's buzz of its responders as it opens (urgent_on_critical).
const notices = (s: Sandbox) =>
  s.state.urgent.slice(1).map((u) => `${u.kind}:${u.user_ids.join(',')}`)

describe('escalation', () => {
  it('escalates an unacknowledged incident on schedule: the right kind to the right people, once each', async () => {
    const s = await sandbox()
    const p = policy(s)
    const { url } = await startReceiver(s, { config: p.config })
    const { json } = await post(`${url}/alertmanager`, firing())
    expect(json.action).toBe('opened')
    // The card says what comes next, and when.
    expect(view(s, json.chat_id).cardRead).toContain('无人确认时')
    await until('both steps', () => s.state.urgent.length >= 3, 10_000)
    await new Promise((r) => setTimeout(r, 1500)) // nothing more comes
    expect(notices(s)).toEqual([`app:${p.bob.open_id}`, `phone:${p.carol.open_id}`])
    const v = view(s, json.chat_id)
    // Bob and Carol were invited before they were buzzed (Feishu buzzes only members).
    expect(v.members.sort()).toEqual([p.alice.open_id, p.bob.open_id, p.carol.open_id].sort())
    expect(v.posts.filter((t) => t.startsWith('⏫'))).toHaveLength(2)
    expect(v.cardRead).not.toContain('无人确认时') // no step left
  })

  it('stops when someone acknowledges', async () => {
    const s = await sandbox()
    const p = policy(s)
    const { url, warroom } = await startReceiver(s, { config: p.config })
    const { json } = await post(`${url}/alertmanager`, firing())
    await warroom.acknowledge({ chatId: json.chat_id }, { openId: p.alice.open_id })
    await new Promise((r) => setTimeout(r, 3000))
    expect(notices(s)).toEqual([])
    expect(s.state.urgent.map((u) => u.user_ids)).toEqual([[p.alice.open_id]])
    expect(view(s, json.chat_id).cardRead).not.toContain('无人确认时')
  })

  it('keeps its timers across a restart (file store) and fires each step once', async () => {
    const s = await sandbox()
    const p = policy(s)
    const dir = await tempDir()
    const first = await startReceiver(s, { config: p.config, store: await FileStore.open(dir) })
    const { json } = await post(`${first.url}/alertmanager`, firing())
    await until('the first step', () => s.state.urgent.length === 2, 10_000)
    await first.receiver.close() // the process stops between the two steps
    const second = await startReceiver(s, { config: p.config, store: await FileStore.open(dir) })
    await until('the second step', () => s.state.urgent.length === 3, 10_000)
    await new Promise((r) => setTimeout(r, 1500))
    expect(notices(s)).toEqual([`app:${p.bob.open_id}`, `phone:${p.carol.open_id}`])
    expect((await second.warroom.find({ chatId: json.chat_id }))?.escalation?.fired).toEqual([0, 1])
  })

  it.skipIf(!HAVE_POSTGRES)('fires each step in one replica only', async () => {
    const s = await sandbox()
    const p = policy(s)
    const schema = freshSchema()
    const one = await startReceiver(s, { config: p.config, store: await pgStore(schema) })
    await startReceiver(s, { config: p.config, store: await pgStore(schema) })
    await startReceiver(s, { config: p.config, store: await pgStore(schema) })
    await post(`${one.url}/alertmanager`, firing())
    await until('both steps', () => s.state.urgent.length >= 3, 10_000)
    await new Promise((r) => setTimeout(r, 1500))
    expect(notices(s)).toEqual([`app:${p.bob.open_id}`, `phone:${p.carol.open_id}`])
  })
})

describe('reminders', () => {
  it('nudge an acknowledged incident while it stays open, and stop when it resolves', async () => {
    const s = await sandbox()
    const [alice] = [...s.state.users.values()]
    const { url, warroom } = await startReceiver(s, {
      config: { warroom: { remind_every: '1s' }, members: [alice!.open_id] },
    })
    const { json } = await post(`${url}/alertmanager`, firing())
    await warroom.acknowledge({ chatId: json.chat_id }, { openId: alice!.open_id })
    const nudges = () => view(s, json.chat_id).posts.filter((t) => t.startsWith('⏰'))
    await until('two reminders', () => nudges().length >= 2, 10_000)
    expect(nudges()[0]).toMatch(new RegExp(`^⏰ @${alice!.open_id} 已确认 \\S+，事件仍未解决。`))
    await warroom.resolveBy({ chatId: json.chat_id }, { openId: alice!.open_id })
    const after = nudges().length
    await new Promise((r) => setTimeout(r, 2500))
    expect(nudges().length).toBe(after)
  })
})

describe('escalation with on-call and resolution', () => {
  it('buzzes whoever is on call when the step fires, and a resolution cancels what is left', async () => {
    const s = await sandbox()
    const [alice, bob, carol] = [...s.state.users.values()]
    const { url } = await startReceiver(s, {
      config: {
        warroom: { urgent_on_critical: false },
        schedules: {
          payments: {
            time_zone: 'UTC',
            // Carol is on call now: a 1-day rotation that started today with her.
            layers: [
              {
                users: [carol!.email, bob!.email],
                rotation: 'daily',
                handoff: '00:00',
                start: new Date().toISOString().slice(0, 10),
              },
            ],
          },
        },
        routes: [
          {
            match: { team: 'payments' },
            members: [alice!.open_id],
            escalation: [
              { after: '1s', urgent: 'sms', to: ['oncall:payments'] },
              { after: '3s', urgent: 'phone', to: ['oncall:payments'] },
            ],
          },
        ],
      },
    })
    const { json } = await post(`${url}/alertmanager`, firing())
    await until('the first step', () => s.state.urgent.length === 1, 10_000)
    expect(s.state.urgent.map((u) => [u.kind, u.user_ids])).toEqual([['sms', [carol!.open_id]]])
    expect(view(s, json.chat_id).members).toContain(carol!.open_id) // invited first
    const resolved = alertmanagerPayload([
      alert({
        instance: 'i1',
        severity: 'critical',
        labels: { team: 'payments' },
        status: 'resolved',
      }),
    ])
    expect((await post(`${url}/alertmanager`, resolved)).json.action).toBe('resolved')
    await new Promise((r) => setTimeout(r, 3000)) // past the second step's time
    expect(s.state.urgent).toHaveLength(1)
  })
})
