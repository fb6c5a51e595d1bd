/**
 * "Last time this fired" (issue 28): a new episode of a resolved key shows on
 * its card when the earlier one was, how long it took, what fixed it and a
 * link to its chat; beyond the look-back, nothing.
 */
import { describe, expect } from 'vitest'
import { test } from '../support/fixtures.js'
import { incident, view } from '../support/helpers.js'
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
