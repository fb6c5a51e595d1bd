/**
 * Archiving (issue 28, in part): with review.dissolve_after, a resolved war
 * room is dissolved only after its timeline is saved and its document is
 * complete; a chat the app does not own is left alone.
 */
import { describe, expect } from 'vitest'
import { test } from '../support/fixtures.js'
import { incident, until } from '../support/helpers.js'
import { startReceiver } from '../support/receiver.js'

describe('dissolving a resolved war room', () => {
  test('dissolve_after: 1s dissolves it once the timeline and the document exist', async ({
    sandbox: s,
    people: [alice],
  }) => {
    const { warroom } = await startReceiver(s, {
      config: { review: { document: 'auto', dissolve_after: '1s' } },
    })
    const opened = await warroom.handle(incident({ members: [alice!.open_id] }))
    const chatId = opened.chatId!
    const chat = s.state.chats.get(chatId)!
    await s.say(chatId, alice!.open_id, '/resolve fixed', { mentionBot: true })
    await until('dissolved', () => chat.status === 'dissolved', 8000)
    // The job writes dissolvedAt once Feishu has answered, a moment after the chat is gone.
    await until(
      'recorded',
      async () => (await warroom.find({ chatId }))?.dissolvedAt !== undefined,
      5000,
    )
    const record = (await warroom.find({ chatId }))!
    // A second after the review was saved, which came after the document.
    const doc = [...s.state.documents.values()][0]!
    expect(record.dissolvedAt! - doc.created_at).toBeGreaterThanOrEqual(1000)
    // The document was complete before (filled and shared).
    expect([...s.state.documents.values()][0]!.members).toHaveLength(1)
    expect(record.postmortem).toMatchObject({ filled: true, shared: true })
  })

  test('a chat the app does not own is not dissolved; the incident keeps its record', async ({
    sandbox: s,
    people: [alice],
  }) => {
    const { warroom } = await startReceiver(s, { config: { review: { dissolve_after: '1s' } } })
    const opened = await warroom.handle(incident({ members: [alice!.open_id] }))
    const chat = s.state.chats.get(opened.chatId!)!
    chat.owner = { type: 'user', id: alice!.open_id } // ownership handed to a person
    await s.say(opened.chatId!, alice!.open_id, '/resolve fixed', { mentionBot: true })
    await new Promise((r) => setTimeout(r, 3000))
    expect(chat.status).toBe('normal')
    expect((await warroom.find({ chatId: opened.chatId! }))!.dissolvedAt).toBeUndefined()
  })
})
