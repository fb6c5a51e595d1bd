/**
 * The stakeholder feed (issue 24): with broadcast_chat set, the standing chat
 * gets one thread per incident with its opening, severity changes, status
 * updates and resolution, and nothing else.
 */
import { describe, expect } from 'vitest'
import { test } from '../support/fixtures.js'
import { addChat, incident, until } from '../support/helpers.js'
import { startReceiver } from '../support/receiver.js'

describe('the stakeholder feed', () => {
  test('one thread per incident: the opening, the update and the resolution, nothing else', async ({
    sandbox: s,
    people: [alice, bob],
  }) => {
    const feed = addChat(s, { name: 'incidents (stakeholders)', members: new Set([bob!.open_id]) })
    const { warroom } = await startReceiver(s, { config: { warroom: { broadcast_chat: feed } } })
    const a = await warroom.handle(incident({ key: 'feed:a', members: [alice!.open_id] }))
    const b = await warroom.handle(
      incident({ key: 'feed:b', title: 'Payments slow', members: [alice!.open_id] }),
    )
    await warroom.acknowledge({ chatId: a.chatId! }, { openId: alice!.open_id }) // not for the feed
    await warroom.postUpdate({ chatId: a.chatId! }, { openId: alice!.open_id }, 'rolled back v42')
    await warroom.resolveBy({ chatId: a.chatId! }, { openId: alice!.open_id })
    const inFeed = () => s.state.messagesIn(feed)
    await until('the resolution in the thread', () => inFeed().length === 4)
    const roots = inFeed().filter((m) => !m.parent_id)
    expect(roots).toHaveLength(2) // one per incident
    const rootA = roots.find((m) => m.content.includes('Checkout API'))!
    expect(rootA.content).toContain(a.chatId!) // the way into the war room
    const thread = inFeed().filter((m) => m.root_id === rootA.message_id)
    expect(
      thread.map((m) => m.content.includes('rolled back v42') || m.content.includes('✅ 已解决')),
    ).toEqual([true, true])
    expect(new Set(thread.map((m) => m.thread_id)).size).toBe(1)
    expect(thread[0]!.thread_id).toMatch(/^omt_/)
    // Incident b has only its opening; the ack went nowhere near the feed.
    expect(inFeed().some((m) => m.content.includes('确认'))).toBe(false)
    expect(roots.find((m) => m.content.includes('Payments slow'))).toBeDefined()
    expect(b.warnings).toEqual([])
  })

  test('a feed the bot cannot post to is a warning; the war room opens', async ({
    sandbox: s,
    people: [alice],
  }) => {
    const { warroom } = await startReceiver(s, {
      config: { warroom: { broadcast_chat: 'oc_0000000000000000000000000000' } },
    })
    const r = await warroom.handle(incident({ members: [alice!.open_id] }))
    expect(r.action).toBe('opened')
    expect(r.warnings.join()).toContain(
      'the stakeholder feed oc_0000000000000000000000000000 was not told',
    )
  })
})
