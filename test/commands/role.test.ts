/**
 * /role (issue 24): the roles the config lists (warroom.roles) besides the
 * lead, taken or handed out in the chat, shown on the card and announced;
 * an unknown role names the configured ones; refused to outsiders and for
 * people outside the war room.
 */
import { describe, expect } from 'vitest'
import { COMMANDS } from '../../src/commands/index.js'
import { parseConfig } from '../../src/config/config.js'
import { test } from '../support/fixtures.js'
import { incident, until, view } from '../support/helpers.js'
import { startReceiver } from '../support/receiver.js'

describe('incident roles', () => {
  test('/role comms by a member, /role scribe @someone, a handoff: card and chat follow; unknown roles and outsiders are refused', async ({
    sandbox: s,
    people: [alice, bob, outsider],
  }) => {
    const { warroom } = await startReceiver(s, {
      config: { warroom: { roles: ['comms', 'scribe'] } },
    })
    const opened = await warroom.handle(incident({ members: [alice!.open_id, bob!.open_id] }))
    const chatId = opened.chatId!

    await s.say(chatId, alice!.open_id, '/role comms', { mentionBot: true })
    await until('the card shows Alice in comms', () =>
      view(s, chatId).cardRead.includes(`👤 对外沟通：<at id=${alice!.open_id}></at>`),
    )
    expect(view(s, chatId).posts.at(-1)).toBe(`👤 @${alice!.open_id} 担任对外沟通`)

    // Alice hands the scribe role to Bob with a mention; Bob then takes comms over from her.
    await s.say(chatId, alice!.open_id, `/role scribe @${bob!.open_id}`, { mentionBot: true })
    await until('Bob is the scribe', () =>
      view(s, chatId).cardRead.includes(`👤 记录员：<at id=${bob!.open_id}></at>`),
    )
    await s.say(chatId, bob!.open_id, '/角色 comms', { mentionBot: true })
    await until('the handoff', () =>
      view(s, chatId).posts.includes(`👤 @${bob!.open_id} 担任对外沟通（接替 @${alice!.open_id}）`),
    )
    expect(view(s, chatId).cardRead).toContain(`👤 对外沟通：<at id=${bob!.open_id}></at>`)
    expect(view(s, chatId).cardRead).not.toContain(`对外沟通：<at id=${alice!.open_id}>`)

    const run = (args: Record<string, unknown>, by: string) =>
      COMMANDS.run(
        { op: 'role', ...args },
        { room: warroom, ref: { chatId }, by: { openId: by }, language: 'zh' },
      )
    // A role the config does not list: the answer names the ones it does.
    expect(await run({ role: 'cook' }, alice!.open_id)).toMatchObject({
      action: 'none',
      reason:
        '没有「cook」这个角色。可用的角色：comms（对外沟通）、scribe（记录员）（用法：/role <角色> [@某人]）',
    })
    // An outsider may not take one, nor may a role go to someone outside the war room.
    expect(await run({ role: 'scribe' }, outsider!.open_id)).toMatchObject({
      reason: '只有事件群的成员可以操作',
    })
    expect(
      await run({ role: 'scribe', mentioned: [outsider!.open_id] }, alice!.open_id),
    ).toMatchObject({ reason: '只有事件群的成员可以操作' })
    expect(view(s, chatId).cardRead).toContain(`👤 记录员：<at id=${bob!.open_id}></at>`)

    // Kept in the record and its events (the timeline's source).
    const record = (await warroom.find({ chatId }))! as unknown as {
      roles: Record<string, { by: { openId: string } }>
      events: Array<{ detail?: string }>
    }
    expect(record.roles.comms!.by.openId).toBe(bob!.open_id)
    expect(record.events.filter((e) => e.detail?.startsWith('role ')).length).toBe(3)
  })

  test('without roles in the config, /role says how to configure them; bad role lists are config errors', async ({
    sandbox: s,
    people: [alice],
  }) => {
    const { warroom } = await startReceiver(s)
    const opened = await warroom.handle(incident({ members: [alice!.open_id] }))
    const refused = await COMMANDS.run(
      { op: 'role', role: 'comms' },
      {
        room: warroom,
        ref: { chatId: opened.chatId! },
        by: { openId: alice!.open_id },
        language: 'zh',
      },
    )
    expect(refused.reason).toBe(
      '还没有配置角色：在配置的 warroom.roles 中列出，例如 [comms, scribe]',
    )
    expect(() => parseConfig({ warroom: { roles: ['lead'] } })).toThrow(
      /warroom\.roles.*use \/lead/s,
    )
    expect(() => parseConfig({ warroom: { roles: ['Comms Team'] } })).toThrow(
      /short lowercase word/,
    )
    expect(() => parseConfig({ warroom: { roles: ['comms', 'comms'] } })).toThrow(/twice/)
  })
})
