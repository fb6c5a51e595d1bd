/**
 * /invite and /page (issue 24): more people into the war room from the chat;
 * /page also sends an in-app urgent notice for the card.
 */
import { describe, expect } from 'vitest'
import { test } from '../support/fixtures.js'
import { incident, until, view } from '../support/helpers.js'
import { startReceiver } from '../support/receiver.js'

describe('more people', () => {
  test('/invite adds people by email; /page adds and buzzes them with a note; nobody found is said', async ({
    sandbox: s,
    people: [alice, bob, carol],
  }) => {
    const { warroom } = await startReceiver(s)
    const opened = await warroom.handle(incident({ members: [alice!.open_id] }))
    const chatId = opened.chatId!
    await s.say(chatId, alice!.open_id, `/invite ${bob!.email}`, { mentionBot: true })
    await until('Bob joins', () => s.state.chats.get(chatId)!.members.has(bob!.open_id))
    await until('the line', () =>
      view(s, chatId).posts.includes(`➕ @${alice!.open_id} 邀请了 @${bob!.open_id} `),
    )
    expect(s.state.urgent).toHaveLength(0) // an invitation buzzes nobody

    await s.say(chatId, bob!.open_id, `/呼叫 ${carol!.email} 主库延迟`, { mentionBot: true })
    await until('Carol is buzzed', () =>
      s.state.urgent.some((u) => u.kind === 'app' && u.user_ids.includes(carol!.open_id)),
    )
    const buzz = s.state.urgent.find((u) => u.user_ids.includes(carol!.open_id))!
    expect(buzz.message_id).toBe(opened.cardMessageId) // for the card
    expect(s.state.chats.get(chatId)!.members.has(carol!.open_id)).toBe(true)
    await until('the line', () =>
      view(s, chatId).posts.some(
        (p) =>
          p.startsWith(`📣 @${bob!.open_id} 呼叫了 @${carol!.open_id}`) && p.endsWith('主库延迟'),
      ),
    )

    // An @mention after the command: Alice pages Bob, who is in the chat already.
    await s.say(chatId, alice!.open_id, `/page @${bob!.open_id} 看一下`, { mentionBot: true })
    await until('Bob is buzzed', () =>
      s.state.urgent.some((u) => u.user_ids.includes(bob!.open_id)),
    )

    // Named twice in one /page (email and mention): one urgent notice with Carol once; asked again, again.
    const pagesOfCarol = () =>
      s.state.urgent.filter((u) => u.user_ids.includes(carol!.open_id)).length
    await s.say(chatId, alice!.open_id, `/page ${carol!.email} @${carol!.open_id}`, {
      mentionBot: true,
    })
    await until('Carol paged again', () => pagesOfCarol() === 2)
    expect(s.state.urgent.at(-1)!.user_ids).toEqual([carol!.open_id])
    // Asked a fourth time within the hour: urgent.per_incident_per_hour (3) holds it, and the chat says so.
    await s.say(chatId, bob!.open_id, `/page ${carol!.email}`, { mentionBot: true })
    await until('the held line', () =>
      view(s, chatId).posts.some((p) => p.includes('⚠️ 加急未发送：已达上限')),
    )
    expect(pagesOfCarol()).toBe(2)

    // Nobody to be found: the chat says so, nothing is sent.
    const before = s.state.urgent.length
    await s.say(chatId, alice!.open_id, '/page nobody@nowhere.example', { mentionBot: true })
    await until('the answer', () =>
      view(s, chatId).posts.some((p) => p.startsWith('没有找到可以邀请的人')),
    )
    expect(s.state.urgent).toHaveLength(before)
  })
})
