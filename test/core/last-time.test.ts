/**
 * "Last time this fired" (issue 28): a new episode of a resolved key shows on
 * its card when the earlier one was, how long it took, what fixed it and a
 * link to its chat; beyond the look-back, nothing.
 */
import { describe, expect } from 'vitest'
import { alert, alertmanagerPayload } from '../fixtures/alerts.js'
import { test } from '../support/fixtures.js'
import { incident, until, view } from '../support/helpers.js'
import { post, startReceiver } from '../support/receiver.js'

describe('last time this fired', () => {
  test('the earlier episode’s resolution note, duration and chat are on the new card', async ({
    sandbox: s,
    people: [alice],
  }) => {
    const { warroom } = await startReceiver(s, { config: { warroom: { reopen_window: 0 } } })
    const first = await warroom.handle(incident({ members: [alice!.open_id] }))
    await warroom.resolveBy(
      { chatId: first.chatId! },
      { openId: alice!.open_id },
      'rolled back v42',
    )
    const second = await warroom.handle(incident({ members: [alice!.open_id] }))
    expect(second.chatId).not.toBe(first.chatId)
    const card = view(s, second.chatId!).cardRead
    expect(card).toMatch(/🕘 \*\*上次发生\*\*：\d\d\/\d\d \d\d:\d\d，用时 \d+秒 解决/)
    expect(card).toContain('解决说明：rolled back v42')
    expect(card).toContain(`openChatId=${first.chatId}`) // the earlier chat, one click away
  })

  test('a resolution without a note asks what fixed it; /fixed keeps it for the next firing', async ({
    sandbox: s,
    people: [alice],
  }) => {
    const { warroom } = await startReceiver(s, { config: { warroom: { reopen_window: 0 } } })
    const first = await warroom.handle(incident({ members: [alice!.open_id] }))
    const chatId = first.chatId!
    await s.say(chatId, alice!.open_id, '/resolve', { mentionBot: true })
    await until('the prompt', () =>
      view(s, chatId).posts.some((p) => p.includes('✍️ 是什么解决了问题？写 /fixed <说明>')),
    )
    await s.say(chatId, alice!.open_id, '/修复 restarted the stuck consumer', { mentionBot: true })
    await until('noted', () =>
      view(s, chatId).posts.includes('📝 解决说明已记录：restarted the stuck consumer'),
    )
    const second = await warroom.handle(incident({ members: [alice!.open_id] }))
    expect(view(s, second.chatId!).cardRead).toContain('解决说明：restarted the stuck consumer')
  })

  test('beyond warroom.last_time_within the earlier episode is not shown', async ({
    sandbox: s,
    people: [alice],
  }) => {
    const { warroom } = await startReceiver(s, {
      config: { warroom: { reopen_window: 0, last_time_within: '1s' } },
    })
    const first = await warroom.handle(incident({ members: [alice!.open_id] }))
    await warroom.resolveBy({ chatId: first.chatId! }, { openId: alice!.open_id }, 'fixed')
    s.advance(5000)
    const second = await warroom.handle(incident({ members: [alice!.open_id] }))
    expect(view(s, second.chatId!).cardRead).not.toContain('上次发生')
  })

  test('another group of the same route and alert name shows that one’s resolution; another route or alert name does not', async ({
    sandbox: s,
    people: [alice, bob],
  }) => {
    const { url, warroom } = await startReceiver(s, {
      config: {
        warroom: { reopen_window: 0 },
        review: { document: 'auto' },
        routes: [
          { match: { team: 'payments' }, members: [alice!.open_id] },
          { match: { team: 'search' }, members: [bob!.open_id] },
        ],
      },
    })
    const group = (instance: string, labels: Record<string, string> = {}, status?: 'resolved') =>
      alertmanagerPayload([alert({ instance, labels, ...(status ? { status } : {}) })], {
        groupKey: `{}/{}:{instance="${instance}"}`,
        ...(labels.team
          ? { groupLabels: { alertname: labels.alertname ?? 'HighErrorRate', team: labels.team } }
          : {}),
      })
    const first = await post(`${url}/alertmanager`, group('db-1'))
    const firstChat = first.json.chat_id as string
    await warroom.resolveBy(
      { chatId: firstChat },
      { openId: alice!.open_id },
      'raised the pool size',
    )
    await warroom.summarize({ chatId: firstChat }) // the review: its post-mortem document
    const doc = (await warroom.find({ chatId: firstChat }))!.postmortem!.url
    // A later, different group: same route (team payments), same alert name.
    const alike = await post(`${url}/alertmanager`, group('db-2'))
    expect(alike.json.chat_id).not.toBe(firstChat)
    const card = view(s, alike.json.chat_id).cardRead
    expect(card).toMatch(
      /🕘 \*\*上次同类告警\*\*（5xx rate above 5% on db-1）：11\/25 09:58，用时 \S+ 解决/,
    )
    expect(card).toContain('解决说明：raised the pool size')
    expect(card).toContain(`openChatId=${firstChat}`)
    expect(card).toContain(`[上次的复盘文档](${doc})`)
    // Another route (team search) or another alert name: nothing alike on record.
    const otherRoute = await post(`${url}/alertmanager`, group('db-3', { team: 'search' }))
    expect(view(s, otherRoute.json.chat_id).cardRead).not.toContain('上次')
    const otherName = await post(`${url}/alertmanager`, group('db-4', { alertname: 'DiskFull' }))
    expect(view(s, otherName.json.chat_id).cardRead).not.toContain('上次')
    // A sender cannot name a family of its own: the generic webhook's `family` is dropped.
    const forged = await post(`${url}/incidents`, {
      key: 'forged',
      title: 'forged',
      family: '0:HighErrorRate',
    })
    expect(forged.status).toBe(200)
    expect(view(s, forged.json.chat_id).cardRead).not.toContain('上次')
  })
})
