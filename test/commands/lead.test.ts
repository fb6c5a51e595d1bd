/**
 * /lead and the card's Take command (issue 24): the lead on the card, made a
 * manager of the chat (the previous lead back to a member), announced, in
 * the review's figures; refused to outsiders; a missing scope is a note.
 */
import { describe, expect } from 'vitest'
import { COMMANDS } from '../../src/commands/index.js'
import { timelineText } from '../../src/render/timeline.js'
import { ALL_SCOPES } from '../../src/sandbox/server.js'
import { test } from '../support/fixtures.js'
import { clientFor, incident, sandbox, until, view } from '../support/helpers.js'
import { startReceiver } from '../support/receiver.js'

const managersOf = (s: Awaited<ReturnType<typeof sandbox>>, chatId: string) => [
  ...(s.state.chats.get(chatId)?.managers ?? []),
]

describe('the incident lead', () => {
  test('a member’s /lead, then another’s Take command click: card, managers and chat follow each lead; an outsider is refused', async ({
    sandbox: s,
    people: [alice, bob, outsider],
  }) => {
    const { warroom } = await startReceiver(s)
    const opened = await warroom.handle(incident({ members: [alice!.open_id, bob!.open_id] }))
    const chatId = opened.chatId!
    expect(JSON.stringify(view(s, chatId).card)).toContain('"content":"我来指挥"')

    await s.say(chatId, alice!.open_id, '/lead me', { mentionBot: true })
    await until('the card shows Alice as the lead', () =>
      view(s, chatId).cardRead.includes(`🎖 指挥：<at id=${alice!.open_id}></at>`),
    )
    expect(managersOf(s, chatId)).toEqual([alice!.open_id])
    await until('the announcement', () =>
      view(s, chatId).posts.some((p) => p === `🎖 @${alice!.open_id} 担任事件指挥`),
    )

    // Bob takes command with the card's button.
    const card = JSON.stringify(view(s, chatId).card)
    const k = /"op":"lead","k":"([^"]+)"/.exec(card)![1]
    const clicked = await s.click(opened.cardMessageId!, bob!.open_id, { op: 'lead', k })
    expect((clicked.body as { toast: { content: string } }).toast.content).toBe('你已担任事件指挥')
    expect(managersOf(s, chatId)).toEqual([bob!.open_id])
    expect(s.state.chats.get(chatId)!.members.has(alice!.open_id)).toBe(true) // still a member
    expect(view(s, chatId).cardRead).toContain(`🎖 指挥：<at id=${bob!.open_id}></at>`)
    expect(view(s, chatId).posts.at(-1)).toBe(
      `🎖 @${bob!.open_id} 担任事件指挥（接替 @${alice!.open_id}）`,
    )

    // Someone outside the war room (a forwarded card): refused, nothing changes.
    const refused = await COMMANDS.run(
      { op: 'lead' },
      { room: warroom, ref: { chatId }, by: { openId: outsider!.open_id }, language: 'zh' },
    )
    expect(refused).toMatchObject({ action: 'none', reason: '只有事件群的成员可以操作' })
    expect(managersOf(s, chatId)).toEqual([bob!.open_id])

    // The review counts the time to the first lead.
    const record = (await warroom.find({ chatId }))!
    const { figures } = await timelineText(clientFor(s), record, 'json', {
      language: 'zh',
      timeZone: 'UTC',
    })
    expect(figures.timeToLeadMs).toBeGreaterThanOrEqual(0)
    expect(figures.timeToLeadMs).toBeLessThan(60_000)
  })

  test('without the scope to set managers, the lead is still taken and the chat says why it is no manager', async () => {
    // im:chat opens add_managers (UNCONFIRMED); the finer chat scopes still create, read and rename.
    const s = await sandbox({ scopes: ALL_SCOPES.filter((x) => x !== 'im:chat') })
    const [alice] = [...s.state.users.values()]
    const { warroom } = await startReceiver(s)
    const opened = await warroom.handle(incident({ members: [alice!.open_id] }))
    const result = await warroom.takeLead({ chatId: opened.chatId! }, { openId: alice!.open_id })
    expect(result.action).toBe('updated')
    expect(result.warnings.join()).toContain('99991672')
    expect(view(s, opened.chatId!).cardRead).toContain('🎖 指挥：')
    expect(view(s, opened.chatId!).posts.at(-1)).toMatch(
      /担任事件指挥（未能设为群管理员：Feishu code 99991672/,
    )
    expect(managersOf(s, opened.chatId!)).toEqual([])
  })

  test('reminds the chat when nobody leads after warroom.lead_reminder, and not once someone does', async ({
    sandbox: s,
    people: [alice],
  }) => {
    const { warroom } = await startReceiver(s, { config: { warroom: { lead_reminder: '1s' } } })
    const led = await warroom.handle(incident({ key: 'led', members: [alice!.open_id] }))
    await warroom.takeLead({ chatId: led.chatId! }, { openId: alice!.open_id })
    const unled = await warroom.handle(incident({ key: 'unled', members: [alice!.open_id] }))
    await until('the reminder', () =>
      view(s, unled.chatId!).posts.some((p) => p.includes('还没有人担任指挥')),
    )
    await new Promise((r) => setTimeout(r, 500))
    expect(view(s, led.chatId!).posts.some((p) => p.includes('还没有人担任指挥'))).toBe(false)
  })

  test('/lead @someone hands the lead to a member mentioned after the command; the bot’s own mention is not taken for them', async ({
    sandbox: s,
    people: [alice, bob, carol],
  }) => {
    const { warroom } = await startReceiver(s)
    const opened = await warroom.handle(incident({ members: [alice!.open_id, bob!.open_id] }))
    const chatId = opened.chatId!
    await s.say(chatId, alice!.open_id, `/lead @${bob!.open_id}`, { mentionBot: true })
    await until('Bob leads', () =>
      view(s, chatId).cardRead.includes(`🎖 指挥：<at id=${bob!.open_id}></at>`),
    )
    expect(managersOf(s, chatId)).toEqual([bob!.open_id])
    // Someone outside the war room cannot be handed the lead.
    const refused = await warroom.takeLead(
      { chatId },
      { openId: alice!.open_id },
      { openId: carol!.open_id },
    )
    expect(refused).toMatchObject({ action: 'none', reason: '只有事件群的成员可以操作' })
    expect(managersOf(s, chatId)).toEqual([bob!.open_id])
  })
})
