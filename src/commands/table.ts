/**
 * Everything derived from the command table: the chat parser, the /help list,
 * the card's buttons and what a click runs. Nothing here names a command.
 */
import type { Language } from '../i18n/index.js'
import type { ButtonState, ChatCommand, CommandContext } from './command.js'

/** A parsed command: its name as `op`, with its arguments beside it. */
export type Parsed = { op: string } & Record<string, unknown>

export class CommandTable {
  private readonly byWord = new Map<string, ChatCommand>()
  private readonly pattern: RegExp

  constructor(readonly list: ReadonlyArray<ChatCommand>) {
    for (const command of list)
      for (const word of command.words) {
        const w = word.toLowerCase()
        if (this.byWord.has(w)) throw new Error(`two commands are called "${word}"`)
        this.byWord.set(w, command)
      }
    // Longest first, so `unsilence` is not read as `un` + … and `acknowledge` not as `ack`.
    const words = [...this.byWord.keys()].sort((a, b) => b.length - a.length).map(escapeRegExp)
    this.pattern = new RegExp(`^/?(${words.join('|')})(?![A-Za-z])\\s*([\\s\\S]*)$`, 'i')
  }

  named(name: string): ChatCommand | undefined {
    return this.list.find((c) => c.name === name)
  }

  /**
   * Reads a chat message as a command: `/ack`, `/resolve [note]`, also after
   * an @mention of the bot (`@_user_1 /ack`) or, when the bot was mentioned,
   * without the slash (`@bot ack`). An unknown slash word is `help` with
   * `unknown`; a path (`/var/log is full`) and plain talk are no command.
   */
  parse(
    text: string,
    mentionedBot: boolean,
    /** The message's mentions (@_user_N key → open_id): those after the command word are its people. */
    mentions: ReadonlyArray<{ key: string; openId: string }> = [],
  ): Parsed | undefined {
    const cleaned = text.replace(/@_(user|all)_?\d*/g, ' ').trim()
    const addressed = cleaned.startsWith('/') || mentionedBot
    const m = this.pattern.exec(cleaned)
    if (!m) {
      const word = /^\/([A-Za-z\u4e00-\u9fff]{1,20})(?:\s|$)/.exec(cleaned)?.[1]
      return word && this.named('help') ? { op: 'help', unknown: word } : undefined
    }
    if (!addressed) return undefined
    const command = this.byWord.get(m[1]!.toLowerCase())!
    // The mentions after the word (the bot's own comes before it: "@bot /lead @alice").
    const raw = this.pattern.exec(text.replace(/^(\s*@_(user|all)_?\d*)+\s*/, '').trim())?.[2] ?? ''
    const mentioned = [...raw.matchAll(/@_user_\d+/g)]
      .map(([key]) => mentions.find((x) => x.key === key)?.openId)
      .filter((id): id is string => !!id)
    return {
      ...(command.parse?.(m[2]!) ?? {}),
      ...(mentioned.length ? { mentioned } : {}),
      op: command.name,
    }
  }

  /** The /help lines, in the table's order. */
  usage(language: Language): string[] {
    return this.list.map((c) => c.usage[language])
  }

  /** The card's buttons for this state, as card JSON 1.0 elements. */
  buttons(state: ButtonState, language: Language, keyHash: string): Array<Record<string, unknown>> {
    const plain = (content: string) => ({ tag: 'plain_text', content })
    return this.list
      .filter((c) => c.button?.show(state) || c.button?.each)
      .sort((a, b) => a.button!.order - b.button!.order)
      .flatMap((c) => {
        const b = c.button!
        const confirm = b.confirm?.[language]
        const one = (label: string, value: Record<string, string> | undefined) => ({
          tag: 'button',
          text: plain(label ? `${b.text[language]} ${label}` : b.text[language]),
          type: b.type,
          value: { op: c.name, k: keyHash, ...value },
          ...(confirm
            ? { confirm: { title: plain(confirm.title), text: plain(confirm.text) } }
            : {}),
        })
        if (b.each) return b.each(state).map((e) => one(e.label, { ...b.value, ...e.value }))
        return [one('', b.value)]
      })
  }

  /** A click's value → the command and its arguments; undefined for anything not a button here. */
  clicked(value: Record<string, unknown>): { command: ChatCommand; args: Parsed } | undefined {
    const command = typeof value.op === 'string' ? this.named(value.op) : undefined
    if (!command?.button) return undefined
    return { command, args: { ...(command.button.args?.(value) ?? {}), op: command.name } }
  }

  /** Runs a parsed command. */
  run(parsed: Parsed, ctx: Omit<CommandContext, 'commands'>) {
    const command = this.named(parsed.op)
    if (!command) throw new Error(`no command "${parsed.op}"`)
    const { op: _op, ...args } = parsed
    return command.run({ ...ctx, commands: this.list }, args)
  }
}

const escapeRegExp = (word: string) => word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
