/**
 * The command table (src/commands/): what the parser reads, who may run each
 * command, and a command added as one file showing up in the parser, /help,
 * on the card and behind its button.
 */
import { describe, expect, it } from 'vitest'
import { COMMANDS } from '../../src/commands/index.js'
import { CommandTable } from '../../src/commands/table.js'
import wave from '../fixtures/commands/wave.js'
import { test } from '../support/fixtures.js'
import { incident, sandbox, until, view } from '../support/helpers.js'
import { startReceiver } from '../support/receiver.js'

describe('the parser, as a table', () => {
  const cases: Array<
    [text: string, mentioned: boolean, parsed: Record<string, unknown> | undefined]
  > = [
    ['/ack', false, { op: 'ack' }],
    ['/acknowledge', false, { op: 'ack' }],
    ['/确认', false, { op: 'ack' }],
    ['@_user_1 /resolve  db failover done', true, { op: 'resolve', note: 'db failover done' }],
    ['/resolve', false, { op: 'resolve' }],
    ['@_user_1 status', true, { op: 'status' }],
    ['/状态', false, { op: 'status' }],
    ['ack', false, undefined], // plain talk, not addressed to the bot
    ['please look at this', true, undefined],
    [
      '/silence 30m rolling back v42',
      false,
      { op: 'silence', durationMs: 30 * 60_000, note: 'rolling back v42' },
    ],
    ['@_user_1 静默 2h', true, { op: 'silence', durationMs: 7_200_000 }],
    ['/unsilence', false, { op: 'unsilence' }],
    ['/取消静默', false, { op: 'unsilence' }],
    ['/silenced', false, { op: 'help', unknown: 'silenced' }], // a typo: answered with the list
    ['/help', false, { op: 'help' }],
    ['@_user_1 帮助', true, { op: 'help' }],
    ['help', false, undefined],
    ['/ackk', false, { op: 'help', unknown: 'ackk' }],
    ['/var/log is full', false, undefined], // a path is no command
  ]
  it.each(cases)('%j (mentioned: %s) → %j', (text, mentioned, parsed) => {
    expect(COMMANDS.parse(text, mentioned)).toEqual(parsed)
  })

  it('takes the people mentioned after the command word, not the bot mentioned before it', () => {
    const mentions = [
      { key: '@_user_1', openId: 'ou_bot' },
      { key: '@_user_2', openId: 'ou_bob' },
    ]
    expect(COMMANDS.parse('@_user_1 /lead @_user_2', true, mentions)).toEqual({
      op: 'lead',
      mentioned: ['ou_bob'],
    })
    expect(COMMANDS.parse('@_user_1 /lead', true, mentions)).toEqual({ op: 'lead' })
  })

  it('reads a duration that is none as NaN (the command answers its usage)', () => {
    expect(COMMANDS.parse('/silence soon', false)?.durationMs).toBeNaN()
  })

  it('refuses two commands with one word', () => {
    expect(() => new CommandTable([...COMMANDS.list, { ...wave, words: ['ack'] }])).toThrow(
      'two commands are called "ack"',
    )
  })
})

describe('who may run each command', () => {
  const memberOnly = COMMANDS.list.filter((c) => c.who === 'member').map((c) => c.name)
  it.each(memberOnly)(
    '/%s is refused to someone outside the war room, and does nothing',
    async (name) => {
      const s = await sandbox()
      const [alice, outsider] = [...s.state.users.values()]
      const { warroom } = await startReceiver(s, {
        config: { alertmanager: { url: 'http://127.0.0.1:9' } },
      })
      const opened = await warroom.handle(
        incident({ members: [alice!.open_id], silence: { alertname: 'X' } }),
      )
      const before = JSON.stringify(view(s, opened.chatId!).card)
      // As a forwarded card's click would come: the table runs it, the core refuses it.
      // Each with arguments it takes (a duration, a severity, a title).
      const word = COMMANDS.named(name)!.words[0]
      const args: Record<string, string> = {
        silence: '1h',
        sev: 'P0',
        title: 'New title',
        invite: 'erin@example.com',
        page: 'erin@example.com',
        update: 'looking into it',
        split: '1',
      }
      const result = await COMMANDS.run(COMMANDS.parse(`/${word} ${args[name] ?? ''}`, false)!, {
        room: warroom,
        ref: { chatId: opened.chatId! },
        by: { openId: outsider!.open_id },
        language: 'zh',
      })
      expect(result).toMatchObject({ action: 'none', reason: '只有事件群的成员可以操作' })
      expect(JSON.stringify(view(s, opened.chatId!).card)).toBe(before)
      expect((await warroom.find({ chatId: opened.chatId! }))?.status).toBe('open')
    },
  )
})

describe('a command added as one file', () => {
  test('is read by the parser, listed by /help, shown on the card and run by its button', async ({
    sandbox: s,
    people: [alice],
  }) => {
    const commands = new CommandTable([...COMMANDS.list, wave])
    const { warroom } = await startReceiver(s, { commands })
    const opened = await warroom.handle(incident({ members: [alice!.open_id] }))
    expect(commands.parse('/wave the team', false)).toEqual({ op: 'wave', to: 'the team' })
    expect(commands.parse('/挥手', false)).toEqual({ op: 'wave', to: 'everyone' })
    // /help lists it, in the table's order.
    await s.say(opened.chatId!, alice!.open_id, '/help')
    await until(
      'the help',
      // Brackets are shown as their full-width lookalikes (no markup from texts).
      () =>
        view(s, opened.chatId!).posts.some((p) => p.endsWith('\n/wave ［对谁］（挥手）打个招呼')),
    )
    // The card has its button, between Resolve (20) and Silence (30).
    const card = JSON.stringify(view(s, opened.chatId!).card)
    expect(card).toContain('"content":"挥手 👋"')
    expect(card.indexOf('标记已解决')).toBeLessThan(card.indexOf('挥手 👋'))
    // The button runs it, with its toast.
    const clicked = await s.click(opened.cardMessageId!, alice!.open_id, {
      op: 'wave',
      k: /"op":"wave","k":"([^"]+)"/.exec(card)![1],
    })
    expect((clicked.body as { toast: { content: string } }).toast.content).toBe('已挥手')
    // Without it in the table, the same click is ignored.
    const plain = await s.click(opened.cardMessageId!, alice!.open_id, { op: 'wave', k: 'x' })
    expect(JSON.stringify(plain.body)).not.toContain('已挥手')
  })
})
