/**
 * Escalation, deeper (issue 25): a policy that repeats, a step that keeps on
 * until the resolution, `manager` in a step, `when:` windows (a table, and a
 * step that waits), and acknowledgements that expire.
 */
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/config.js'
import { nextInWindow, WhenSchema } from '../../src/model/window.js'
import { test } from '../support/fixtures.js'
import { incident, until, view } from '../support/helpers.js'
import { freshSchema, HAVE_POSTGRES, pgStore } from '../support/postgres.js'
import { startReceiver } from '../support/receiver.js'

const at = (iso: string) => Date.parse(iso)

describe('when: windows', () => {
  const office = WhenSchema.parse({
    time_zone: 'Asia/Shanghai',
    days: ['monday', 'tuesday', 'wednesday', 'thursday', 'friday'],
    hours: '09:00-18:00',
    holidays: ['2026-10-01'],
  })
  const night = WhenSchema.parse({ time_zone: 'Asia/Shanghai', hours: '22:00-06:00' })
  // [what, window, now, expected]
  const table: Array<[string, typeof office, string, string]> = [
    ['inside: now', office, '2026-12-01T03:00:00Z', '2026-12-01T03:00:00Z'], // Tue 11:00 CST
    ['before hours: 09:00 that day', office, '2026-12-01T00:30:00Z', '2026-12-01T01:00:00Z'],
    ['after hours: 09:00 next day', office, '2026-12-01T11:00:00Z', '2026-12-02T01:00:00Z'],
    ['Saturday: Monday 09:00', office, '2026-12-05T03:00:00Z', '2026-12-07T01:00:00Z'],
    ['a holiday (Thu 1 Oct): Fri 09:00', office, '2026-10-01T03:00:00Z', '2026-10-02T01:00:00Z'],
    ['overnight, 23:00: now', night, '2026-12-01T15:00:00Z', '2026-12-01T15:00:00Z'],
    [
      'overnight, 03:00 (from yesterday): now',
      night,
      '2026-12-01T19:00:00Z',
      '2026-12-01T19:00:00Z',
    ],
    ['overnight, noon: 22:00', night, '2026-12-01T04:00:00Z', '2026-12-01T14:00:00Z'],
  ]
  it.each(table)('%s', (_, when, now, expected) => {
    expect(new Date(nextInWindow(at(now), when)!).toISOString()).toBe(
      new Date(at(expected)).toISOString(),
    )
  })

  it('flattens a repeating policy into rounds, a period apart', () => {
    const config = parseConfig({
      routes: [
        {
          match: {},
          escalation: { repeat: 2, steps: [{ after: '5m' }, { after: '15m', urgent: 'sms' }] },
        },
      ],
    })
    const steps = config.routes[0]!.escalation.map((s) => [s.after / 60_000, s.urgent, s.round])
    // Period: the last step's 15 minutes plus the first's 5.
    expect(steps).toEqual([
      [5, 'app', 1],
      [15, 'sms', 1],
      [25, 'app', 2],
      [35, 'sms', 2],
      [45, 'app', 3],
      [55, 'sms', 3],
    ])
    expect(() => parseConfig({ routes: [{ escalation: { repeat: 2, steps: [] } }] })).toThrow(
      /routes\[0\]\.escalation\.steps: Too small/,
    )
  })
})

describe('deeper escalation', () => {
  test('repeat: 2 with until: resolve keeps paging an acknowledged incident on schedule and stops at the resolution', async ({
    sandbox: s,
    people: [alice, bob],
  }) => {
    const { warroom } = await startReceiver(s, {
      config: {
        warroom: { urgent_on_critical: false },
        routes: [
          {
            match: {},
            escalation: {
              repeat: 2,
              steps: [{ after: '1s', urgent: 'app', to: [bob!.open_id], until: 'resolve' }],
            },
          },
        ],
      },
    })
    const opened = await warroom.handle(incident({ members: [alice!.open_id, bob!.open_id] }))
    const chatId = opened.chatId!
    await warroom.acknowledge({ chatId }, { openId: alice!.open_id })
    const pages = () => s.state.urgent.filter((u) => u.user_ids.includes(bob!.open_id)).length
    await until('the first round', () => pages() === 1, 5000)
    await until('the second round, 2 s later', () => pages() === 2, 5000)
    await warroom.resolveBy({ chatId }, { openId: alice!.open_id })
    await new Promise((r) => setTimeout(r, 3000)) // the third round would have come by now
    expect(pages()).toBe(2)
  })

  test('to: manager pages the responders’ manager, invited first', async ({ sandbox: s }) => {
    const [alice, , , dave] = [...s.state.users.values()]
    alice!.leader = dave!.open_id
    const { warroom } = await startReceiver(s, {
      config: {
        warroom: { urgent_on_critical: false },
        routes: [
          { match: {}, members: [alice!.open_id], escalation: [{ after: '1s', to: ['manager'] }] },
        ],
      },
    })
    const opened = await warroom.handle(incident({ members: [alice!.open_id] }))
    await until(
      'Dave is paged',
      () => s.state.urgent.some((u) => u.user_ids.includes(dave!.open_id)),
      5000,
    )
    expect(s.state.chats.get(opened.chatId!)!.members.has(dave!.open_id)).toBe(true)
    expect(s.state.urgent.flatMap((u) => u.user_ids)).toEqual([dave!.open_id])
  })

  test('a step outside its window waits for the window, and says when', async ({
    sandbox: s,
    people: [alice, bob],
  }) => {
    // A window that is closed now: only on a day that is not today.
    const today = new Date(s.now()).getUTCDay()
    const days = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday']
    const other = days[(today + 3) % 7]!
    const when = { time_zone: 'UTC', days: [other], hours: '00:00-24:00' }
    const { warroom } = await startReceiver(s, {
      config: {
        warroom: { urgent_on_critical: false },
        routes: [{ match: {}, escalation: [{ after: '1s', to: [bob!.open_id], when }] }],
      },
    })
    const opened = await warroom.handle(incident({ members: [alice!.open_id, bob!.open_id] }))
    await until(
      'the line',
      () => view(s, opened.chatId!).posts.some((p) => p.startsWith('⏳ 第 1 步升级不在它的时段内')),
      5000,
    )
    expect(s.state.urgent).toHaveLength(0)
    // The step's own job is done a moment after its line: the window's job is what is left.
    const escalateJobs = () =>
      (warroom.jobs() as unknown as { list(): Array<{ kind: string; dueAt: number }> })
        .list()
        .filter((j) => j.kind === 'escalate')
    await until('the step’s job done', () => escalateJobs().length === 1, 5000)
    const waiting = escalateJobs()
    expect(waiting[0]!.dueAt).toBe(nextInWindow(s.now(), WhenSchema.parse(when)))
  })

  test('an acknowledgement with no update within ack_expires re-pages its author and starts the policy over; an update keeps it', async ({
    sandbox: s,
    people: [alice, bob],
  }) => {
    const { warroom } = await startReceiver(s, {
      config: {
        warroom: { urgent_on_critical: false, ack_expires: '3s' },
        routes: [{ match: {}, escalation: [{ after: '1s', to: [bob!.open_id] }] }],
      },
    })
    const kept = await warroom.handle(
      incident({ key: 'kept', members: [alice!.open_id, bob!.open_id] }),
    )
    const lapsed = await warroom.handle(
      incident({ key: 'lapsed', members: [alice!.open_id, bob!.open_id] }),
    )
    await warroom.acknowledge({ chatId: kept.chatId! }, { openId: alice!.open_id })
    await warroom.acknowledge({ chatId: lapsed.chatId! }, { openId: alice!.open_id })
    // An update 1.5 s after the acknowledgement keeps it alive until 3 s after the update.
    await new Promise((r) => setTimeout(r, 1500))
    await warroom.postUpdate({ chatId: kept.chatId! }, { openId: alice!.open_id }, 'rolling back')
    const buzzes = (chat: string, who: string) =>
      s.state.urgent.filter(
        (u) => s.state.messages.get(u.message_id)?.chat_id === chat && u.user_ids.includes(who),
      ).length
    await until('Alice paged again', () => buzzes(lapsed.chatId!, alice!.open_id) === 1, 6000)
    // The incident with an update was left alone (it would lapse 1.5 s from now).
    expect(buzzes(kept.chatId!, alice!.open_id)).toBe(0)
    expect((await warroom.find({ chatId: kept.chatId! }))!.ack).toBeDefined()
    expect(
      view(s, lapsed.chatId!).posts.some((p) => p.startsWith('⏰ @') && p.includes('的确认已失效')),
    ).toBe(true)
    // The policy starts over: its step comes again, to Bob.
    await until('the step again', () => buzzes(lapsed.chatId!, bob!.open_id) === 1, 6000)
    expect((await warroom.find({ chatId: lapsed.chatId! }))!.ack).toBeUndefined()
  })
})

describe('the urgent budget', () => {
  for (const store of ['memory', 'postgres'] as const)
    test.skipIf(store === 'postgres' && !HAVE_POSTGRES)(
      `phone_per_hour: 1 holds the second phone call back and says so in its chat (${store === 'postgres' ? 'two replicas on one PostgreSQL' : 'one process'})`,
      async ({ sandbox: s, people: [alice, bob] }) => {
        const schema = store === 'postgres' ? freshSchema() : undefined
        const config = {
          warroom: { urgent_on_critical: false, urgent_budget: { phone_per_hour: 1 } },
          routes: [
            { match: {}, escalation: [{ after: '1s', urgent: 'phone', to: [bob!.open_id] }] },
          ],
        }
        // Two receivers (replicas) on one PostgreSQL schema; in memory, one receiver.
        const first = await startReceiver(s, {
          config,
          ...(schema ? { store: await pgStore(schema) } : {}),
        })
        const second = schema
          ? await startReceiver(s, { config, store: await pgStore(schema) })
          : first
        const a = await first.warroom.handle(
          incident({ key: 'a', members: [alice!.open_id, bob!.open_id] }),
        )
        const b = await second.warroom.handle(
          incident({ key: 'b', members: [alice!.open_id, bob!.open_id] }),
        )
        const held = () =>
          [a, b].filter((r) =>
            view(s, r.chatId!).posts.some((p) =>
              p.includes('加急未发送：已达上限（warroom.urgent_budget.phone_per_hour: 1）'),
            ),
          ).length
        await until('one phone call and one held back', () => held() === 1, 8000)
        await new Promise((r) => setTimeout(r, 500))
        expect(s.state.urgent.filter((u) => u.kind === 'phone')).toHaveLength(1)
        expect(held()).toBe(1)
      },
    )
})
