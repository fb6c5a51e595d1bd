/**
 * /update (issue 24): a formatted status update, the latest on the card, and
 * a reminder when the next is due, reset by a newer update.
 */
import { describe, expect } from 'vitest'
import { test } from '../support/fixtures.js'
import { incident, until, view } from '../support/helpers.js'
import { startReceiver } from '../support/receiver.js'

describe('status updates with a cadence', () => {
  test('posts the update, shows it on the card, reminds after the cadence and not after a newer update', async ({
    sandbox: s,
    people: [alice],
  }) => {
    const { warroom } = await startReceiver(s, { config: { warroom: { update_every: '2s' } } })
    const opened = await warroom.handle(incident({ severity: 'error', members: [alice!.open_id] }))
    const chatId = opened.chatId!
    const messages = () => s.state.messagesIn(chatId)
    const textOf = (m: { content: string }) => JSON.stringify(JSON.parse(m.content))

    await s.say(chatId, alice!.open_id, '/update rolled back to v41, errors falling', {
      mentionBot: true,
    })
    await until('the update', () =>
      view(s, chatId).posts.some((p) => p.startsWith('📝 进展更新 · ')),
    )
    const first = view(s, chatId).posts.find((p) => p.startsWith('📝 进展更新 · '))!
    expect(first).toContain('rolled back to v41, errors falling')
    expect(first).toMatch(/下次更新：/)
    await until('the card', () => view(s, chatId).cardRead.includes('📝 最新进展'))

    // A newer update 1 s later: the first's reminder (due at 2 s) never comes; the second's does.
    await new Promise((r) => setTimeout(r, 1000))
    await s.say(chatId, alice!.open_id, '/进展 watching for 15 min', { mentionBot: true })
    await until(
      'the second update',
      () => view(s, chatId).posts.filter((p) => p.startsWith('📝 进展更新 · ')).length === 2,
    )
    const secondAt = Number(
      messages().filter((m) => textOf(m).includes('📝 进展更新'))[1]!.create_time,
    )
    await until('the reminder', () => view(s, chatId).posts.some((p) => p.startsWith('⏰ ')), 8000)
    const reminder = messages().find((m) => textOf(m).includes('该更新进展了'))!
    expect(Number(reminder.create_time) - secondAt).toBeGreaterThanOrEqual(1900)
    expect(view(s, chatId).cardRead).toContain('watching for 15 min')

    // The review summary lists the episode's updates, oldest first.
    await s.say(chatId, alice!.open_id, '/resolve', { mentionBot: true })
    await until('the review summary', () =>
      view(s, chatId).posts.some((p) => p.startsWith('📋 复盘摘要')),
    )
    const summary = view(s, chatId).posts.find((p) => p.startsWith('📋 复盘摘要'))!
    expect(summary.split('\n').slice(1)).toEqual([
      '进展更新 2 次：',
      expect.stringMatching(/^· \d\d\/\d\d \d\d:\d\d rolled back to v41, errors falling$/),
      expect.stringMatching(/^· \d\d\/\d\d \d\d:\d\d watching for 15 min$/),
    ])
  })

  test('a warning incident has no cadence: the update is posted, no reminder follows', async ({
    sandbox: s,
    people: [alice],
  }) => {
    const { warroom } = await startReceiver(s, { config: { warroom: { update_every: '1s' } } })
    const opened = await warroom.handle(
      incident({ severity: 'warning', members: [alice!.open_id] }),
    )
    const result = await warroom.postUpdate(
      { chatId: opened.chatId! },
      { openId: alice!.open_id },
      'looking',
    )
    expect(result.action).toBe('updated')
    await new Promise((r) => setTimeout(r, 2000))
    expect(view(s, opened.chatId!).posts.some((p) => p.startsWith('⏰ '))).toBe(false)
    expect(view(s, opened.chatId!).posts.find((p) => p.startsWith('📝'))).not.toContain('下次更新')
  })
})
