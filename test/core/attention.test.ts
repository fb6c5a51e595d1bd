/**
 * Time-sensitive until answered (issue 25): the war room stays at the top of
 * paged people's chat list (im/v2 feed cards); one person's answer clears it
 * for them, an acknowledgement for everyone; an escalation step marks whom it
 * pages; a missing scope is one plain line.
 */
import { describe, expect } from 'vitest'
import { ALL_SCOPES } from '../../src/sandbox/server.js'
import { alert, alertmanagerPayload } from '../fixtures/alerts.js'
import { test } from '../support/fixtures.js'
import { incident, sandbox, until, view } from '../support/helpers.js'
import { post, startReceiver } from '../support/receiver.js'

type Sandbox = Awaited<ReturnType<typeof sandbox>>
const marked = (s: Sandbox, chatId: string) => [...(s.state.timeSensitive.get(chatId) ?? [])].sort()

describe('time-sensitive until answered', () => {
  test('a critical opening marks the paged; a message clears it for its writer, /ack for everyone', async ({
    sandbox: s,
    people: [alice, bob],
  }) => {
    const { warroom } = await startReceiver(s)
    const opened = await warroom.handle(
      incident({ severity: 'critical', members: [alice!.open_id, bob!.open_id] }),
    )
    const chatId = opened.chatId!
    expect(marked(s, chatId)).toEqual([alice!.open_id, bob!.open_id].sort())

    // Bob answers in the chat (not a command): only his mark goes.
    await s.say(chatId, bob!.open_id, 'looking at it', { mentionBot: true })
    await until('Bob cleared', () => !marked(s, chatId).includes(bob!.open_id))
    expect(marked(s, chatId)).toEqual([alice!.open_id])

    // Alice's /ack clears it for everyone.
    await s.say(chatId, alice!.open_id, '/ack', { mentionBot: true })
    await until('all cleared', () => marked(s, chatId).length === 0)
    expect((await warroom.find({ chatId }))!.timeSensitive).toBeUndefined()
  })

  test('an escalation step marks the people it pages', async ({ sandbox: s }) => {
    const [alice, , carol] = [...s.state.users.values()]
    const { url } = await startReceiver(s, {
      config: {
        routes: [
          {
            match: { team: 'payments' },
            members: [alice!.open_id],
            escalation: [{ after: '1s', urgent: 'app', to: [carol!.email] }],
          },
        ],
      },
    })
    const { json } = await post(
      `${url}/alertmanager`,
      alertmanagerPayload([
        alert({ instance: 'i1', severity: 'warning', labels: { team: 'payments' } }),
      ]),
    )
    expect(marked(s, json.chat_id)).toEqual([]) // a warning buzzes nobody as it opens
    await until('the step', () => s.state.urgent.length === 1, 10_000)
    await until('Carol marked', () => marked(s, json.chat_id).includes(carol!.open_id))
    expect(marked(s, json.chat_id)).toEqual([carol!.open_id])
  })

  test('without the feed-card scope the war room opens and the chat names the scope, once', async () => {
    const scope = 'im:datasync.feed_card.time_sensitive:write'
    const s = await sandbox({ scopes: ALL_SCOPES.filter((x) => x !== scope) })
    const [alice] = [...s.state.users.values()]
    const { warroom } = await startReceiver(s)
    const opened = await warroom.handle(
      incident({ severity: 'critical', members: [alice!.open_id] }),
    )
    expect(opened.action).toBe('opened')
    expect(s.state.urgent).toHaveLength(1) // the urgent notice itself went out
    await warroom.bring({ chatId: opened.chatId! }, { openId: alice!.open_id }, [alice!.open_id], {
      page: true,
    })
    const lines = view(s, opened.chatId!).posts.filter((p) =>
      p.startsWith('⚠️ 未能将本群设为即时提醒'),
    )
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain(scope)
  })
})
