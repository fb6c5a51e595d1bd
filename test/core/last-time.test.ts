/**
 * "Last time this fired" (issue 28): a new episode of a resolved key shows on
 * its card when the earlier one was, how long it took, what fixed it and a
 * link to its chat; beyond the look-back, nothing.
 */
import { describe, expect } from 'vitest'
import { test } from '../support/fixtures.js'
import { incident, until, view } from '../support/helpers.js'
import { startReceiver } from '../support/receiver.js'

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
})
