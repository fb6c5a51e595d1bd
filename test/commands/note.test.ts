/**
 * Key moments (issue 28): `/note` and a 📌 reaction on any message of the war
 * room mark a moment; the bot answers with a reaction; the timeline and the
 * review summary list them first, in order.
 */
import { describe, expect } from 'vitest'
import { timelineText } from '../../src/render/timeline.js'
import { test } from '../support/fixtures.js'
import { clientFor, incident, until, view } from '../support/helpers.js'
import { startReceiver } from '../support/receiver.js'

describe('key moments', () => {
  test('a 📌 on a message and /note mark moments, answered with a reaction, listed first in the timeline and the review', async ({
    sandbox: s,
    people: [alice, bob, outsider],
  }) => {
    const { warroom } = await startReceiver(s)
    const opened = await warroom.handle(incident({ members: [alice!.open_id, bob!.open_id] }))
    const chatId = opened.chatId!
    const { message: said } = await s.say(
      chatId,
      bob!.open_id,
      'db primary failed over to replica-2',
    )
    await s.react(said.message_id, alice!.open_id, 'Pin')
    await until('the bot’s reaction', () =>
      (s.state.messages.get(said.message_id)!.reactions ?? []).some((r) => r.by === s.appId),
    )
    // A second 📌 on the same message, another emoji, and an outsider's 📌 add nothing.
    await s.react(said.message_id, bob!.open_id, 'Pin')
    await s.react(said.message_id, bob!.open_id, 'SMILE')
    const { message: note } = await s.say(chatId, alice!.open_id, '/note rolled back v42', {
      mentionBot: true,
    })
    await until('the /note answered', () =>
      (s.state.messages.get(note.message_id)!.reactions ?? []).some((r) => r.by === s.appId),
    )
    const other = await warroom.handle(incident({ key: 'other', members: [alice!.open_id] }))
    const { message: elsewhere } = await s.say(other.chatId!, alice!.open_id, 'not here')
    await s.react(elsewhere.message_id, outsider!.open_id, 'Pin')
    const record = (await warroom.find({ chatId }))!
    expect(record.moments!.map((m) => m.text)).toEqual([
      'db primary failed over to replica-2',
      'rolled back v42',
    ])
    expect((await warroom.find({ chatId: other.chatId! }))!.moments).toBeUndefined()

    // The timeline starts with them.
    const { text } = await timelineText(clientFor(s), record, 'markdown', {
      language: 'zh',
      timeZone: 'UTC',
    })
    const start = text.indexOf('## 关键时刻')
    const section = text.slice(start, text.indexOf('\n\n', text.indexOf('\n\n', start) + 2))
    // Bob's words, marked by Alice; Alice's own note.
    expect(section.split('\n').filter((l) => l.startsWith('- '))).toEqual([
      expect.stringMatching(
        new RegExp(` ${bob!.name}: db primary failed over to replica-2 \\(📌 ${alice!.name}\\)$`),
      ),
      expect.stringMatching(new RegExp(` ${alice!.name}: rolled back v42$`)),
    ])
    // Before the chat's own lines (where the same message appears again, in its place).
    expect(start).toBeGreaterThan(0)
    expect(start).toBeLessThan(text.lastIndexOf('db primary failed over to replica-2'))
    // And the review summary lists them before the updates.
    await s.say(chatId, alice!.open_id, '/resolve', { mentionBot: true })
    await until('the review summary', () =>
      view(s, chatId).posts.some((p) => p.startsWith('📋 复盘摘要')),
    )
    const summary = view(s, chatId).posts.find((p) => p.startsWith('📋 复盘摘要'))!
    expect(summary.split('\n').slice(1, 4)).toEqual([
      '关键时刻 2 个：',
      expect.stringMatching(/db primary failed over to replica-2$/),
      expect.stringMatching(/rolled back v42$/),
    ])
  })
})
