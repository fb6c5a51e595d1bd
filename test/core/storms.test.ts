/**
 * Storm rooms (issue 26): when the new-chat budget is spent, non-critical
 * incidents join their route's storm room instead of being refused; each
 * keeps its record and resolves there; a button or /split gives one a room
 * of its own; the room resolves when none is left; a critical one and,
 * once the budget recovers, new ones get rooms of their own.
 */
import { describe, expect } from 'vitest'
import { NewChatBudget } from '../../src/core/admission.js'
import { alert, alertmanagerPayload } from '../fixtures/alerts.js'
import { test } from '../support/fixtures.js'
import { until, view } from '../support/helpers.js'
import { freshSchema, HAVE_POSTGRES, pgStore } from '../support/postgres.js'
import { post, startReceiver } from '../support/receiver.js'

const group = (n: number, status: 'firing' | 'resolved' = 'firing', severity = 'warning') =>
  alertmanagerPayload([alert({ instance: `db-${n}`, status, severity })], {
    groupKey: `{}/{team="payments"}:{instance="db-${n}"}`,
    commonLabels: {
      alertname: 'HighErrorRate',
      team: 'payments',
      instance: `db-${n}`,
      severity,
    },
  })

describe('storm rooms', () => {
  test('beyond the budget, incidents gather in their route’s storm room, keep their own state, split out, and the room resolves when none is left', async ({
    sandbox: s,
    people: [alice],
  }) => {
    const { url, warroom } = await startReceiver(s, {
      config: { routes: [{ match: { team: 'payments' }, members: [alice!.open_id] }] },
      budget: new NewChatBudget({ perMinute: 100, perSourcePerMinute: 2 }, () => s.now()),
    })
    const answers = []
    for (let n = 1; n <= 5; n++) answers.push(await post(`${url}/alertmanager`, group(n)))
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200])
    const own = answers.slice(0, 2).map((a) => a.json.chat_id as string)
    const stormChat = answers[2]!.json.chat_id as string
    expect(new Set(own).size).toBe(2)
    expect(answers.slice(2).map((a) => a.json.chat_id)).toEqual([stormChat, stormChat, stormChat])
    expect(answers[2]!.json.storm).toBe('storm:alertmanager:team=payments')
    expect(s.state.chats.size).toBe(3) // two rooms and one storm room, for five incidents

    // The room's card follows within a second (a sync a second: its card takes 5 patches a second).
    await until('the storm card lists three', () =>
      view(s, stormChat).cardRead.includes('3 个未恢复 / 共 3 个。'),
    )
    const room = view(s, stormChat)
    expect(room.name).toContain('告警风暴：team=payments')
    expect(room.members).toContain(alice!.open_id)
    expect(room.cardRead).toContain('3 个未恢复 / 共 3 个。')
    for (const n of [1, 2, 3])
      expect(room.cardRead).toMatch(new RegExp(`🔴 #${n} 5xx rate above 5% on db-${n + 2}`))
    const splits = () =>
      (
        view(s, stormChat).card.elements as Array<{
          tag: string
          actions?: Array<{ value?: Record<string, string> }>
        }>
      )
        .flatMap((e) => e.actions ?? [])
        .filter((b) => b.value?.op === 'split')
        .map((b) => b.value!.n)
    expect(splits()).toEqual(['3', '2', '1'])

    // Each keeps its own state: group 3 (#1) resolves by its source, the room stays open.
    await post(`${url}/alertmanager`, group(3, 'resolved'))
    await until('#1 green', () => /🟢 #1 /.test(view(s, stormChat).cardRead))
    expect((await warroom.find({ key: answers[2]!.json.key }))?.status).toBe('resolved')
    expect(view(s, stormChat).name.startsWith('[已解决]')).toBe(false)
    expect(splits()).toEqual(['3', '2'])

    // The card's button gives #2 (group 4) a room of its own; its next notification goes there.
    const card = s.state.messagesIn(stormChat).find((m) => m.msg_type === 'interactive')!
    await s.click(card.message_id, alice!.open_id, {
      op: 'split',
      k: (await warroom.find({ chatId: stormChat }))!.keyHash,
      n: '2',
    })
    await until('its own room', () => view(s, stormChat).posts.some((p) => p.startsWith('🔀 #2 ')))
    const moved = (await warroom.find({ key: answers[3]!.json.key }))!
    expect(moved.chatId).not.toBe(stormChat)
    expect(view(s, moved.chatId).cardRead).toContain('上一次事件群') // back to the storm room
    expect(view(s, stormChat).cardRead).toContain('#2 5xx rate above 5% on db-4（已独立建群）')
    const again = await post(`${url}/alertmanager`, group(4, 'resolved'))
    expect(again.json.chat_id).toBe(moved.chatId)
    expect(view(s, moved.chatId).name.startsWith('[已解决] ')).toBe(true)

    // /split by number, then the last one resolves: the storm room resolves with it.
    await s.say(stormChat, alice!.open_id, '/split 9', { mentionBot: true })
    await until('the answer', () =>
      s.state.messagesIn(stormChat).some((m) => m.content.includes('风暴群里没有未恢复的 #9')),
    )
    // #3 (group 5) raised to critical by its source: a room of its own at once; nothing is left in the storm room.
    const raised = await post(`${url}/alertmanager`, group(5, 'firing', 'critical'))
    expect(raised.json.storm).toBeUndefined()
    expect(raised.json.chat_id).not.toBe(stormChat)
    expect(view(s, raised.json.chat_id).name).toContain('[P0]')
    await post(`${url}/alertmanager`, group(5, 'resolved', 'critical'))
    expect(view(s, raised.json.chat_id).name.startsWith('[已解决] ')).toBe(true)
    await until('the room resolved', () => view(s, stormChat).name.startsWith('[已解决] '))
    // Its review, once: the room's, not one per incident resolved in it (on its own, or inside
    // the resolution message when the room's messages were backlogged).
    await until('the review', () => view(s, stormChat).posts.some((p) => p.includes('📋 复盘摘要')))
    await new Promise((r) => setTimeout(r, 300))
    expect(view(s, stormChat).posts.filter((p) => p.includes('📋 复盘摘要'))).toHaveLength(1)
    expect(view(s, stormChat).cardRead).not.toContain('🔴')

    // A critical incident never waits in a storm room; once the budget recovers, rooms of their own again.
    const critical = await post(`${url}/alertmanager`, group(6, 'firing', 'critical'))
    expect(critical.json.storm).toBeUndefined()
    s.advance(61_000)
    const later = await post(`${url}/alertmanager`, group(7))
    expect(later.json.storm).toBeUndefined()
    expect(later.json.chat_id).not.toBe(stormChat)
  })

  test('a person resolving the storm room resolves every incident still in it', async ({
    sandbox: s,
    people: [alice],
  }) => {
    const { url, warroom } = await startReceiver(s, {
      config: { routes: [{ match: { team: 'payments' }, members: [alice!.open_id] }] },
      budget: new NewChatBudget({ perMinute: 100, perSourcePerMinute: 1 }, () => s.now()),
    })
    const keys: string[] = []
    for (let n = 1; n <= 3; n++) keys.push((await post(`${url}/alertmanager`, group(n))).json.key)
    const { chatId: stormChat } = (await warroom.find({ key: keys[1]! }))!
    await s.say(stormChat, alice!.open_id, '/resolve the pool was full', { mentionBot: true })
    await until('resolved', () => view(s, stormChat).name.startsWith('[已解决] '))
    for (const key of keys.slice(1)) {
      const member = (await warroom.find({ key }))!
      expect(member.status).toBe('resolved')
      expect(member.resolvedBy?.openId).toBe(alice!.open_id)
    }
    // A later notification of a resolved incident does not reopen the storm room.
    const r = await post(`${url}/alertmanager`, group(2))
    expect(r.json.chat_id).not.toBe(stormChat)
  })

  test.skipIf(!HAVE_POSTGRES)(
    'on PostgreSQL, two replicas: incidents beyond the budget gather in one storm room, each once',
    async ({ sandbox: s, people: [alice] }) => {
      const schema = freshSchema()
      const config = { routes: [{ match: { team: 'payments' }, members: [alice!.open_id] }] }
      const replicas = await Promise.all(
        [0, 1].map(async () =>
          startReceiver(s, {
            config,
            store: await pgStore(schema),
            budget: new NewChatBudget({ perMinute: 100, perSourcePerMinute: 1 }, () => s.now()),
          }),
        ),
      )
      // Each replica has its own budget of one: two rooms of their own, the other four in one storm room.
      const answers = await Promise.all(
        [1, 2, 3, 4, 5, 6].map((n) => post(`${replicas[n % 2]!.url}/alertmanager`, group(n))),
      )
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200])
      const stormed = answers.filter((a) => a.json.storm)
      expect(stormed).toHaveLength(4)
      const rooms = new Set(stormed.map((a) => a.json.chat_id))
      expect(rooms.size).toBe(1)
      const [stormChat] = [...rooms] as string[]
      await until('the storm card lists four', () =>
        view(s, stormChat!).cardRead.includes('4 个未恢复 / 共 4 个。'),
      )
      const numbers = [...view(s, stormChat!).cardRead.matchAll(/🔴 #(\d+) /g)].map((m) => m[1])
      expect(numbers.sort()).toEqual(['1', '2', '3', '4'])
      expect(s.state.chats.size).toBe(3)
    },
  )
})
