import { FeishuError } from '../feishu/errors.js'
import type { Person } from '../model/incident.js'
import { safePlainText, singleLine, truncate } from '../render/text.js'
import type { IncidentRecord } from '../store/store.js'
import type { Messages } from './messages.js'
import { type Core, type Op, reasonOf } from './model.js'

/** The emoji Feishu calls a pin (📌): reacting with it marks a key moment. */
export const PIN_EMOJI = 'Pin'
/** The bot's "noted" on a marked message. */
const NOTED_EMOJI = 'OK'

/**
 * Key moments for the review: a 📌 reaction on any message of the war room,
 * or `/note <text>`. Kept with the incident (the timeline and the review
 * list them first); the bot answers with a reaction, and a missing reaction
 * scope only costs that answer.
 */
export class Moments {
  constructor(
    private readonly core: Core,
    private readonly messages: Messages,
  ) {}

  /** `/fixed <what>`: the resolution note, kept for the review and the next firing; said in the chat. */
  async fix(record: IncidentRecord, by: Person, text: string): Promise<string | undefined> {
    const note = truncate(safePlainText(singleLine(text)).trim(), 500)
    if (!note) return this.messages.t.fixPrompt
    const at = this.core.now()
    record.resolutionNote = note
    record.events.push({ type: 'updated', at, by, detail: `what fixed it: ${note}` })
    await this.messages.post(
      record,
      [[{ tag: 'text', text: `${this.messages.t.fixNoted}${note}` }]],
      `fixed:${at}`,
    )
    return undefined
  }

  /** A reacted-to message's chat and text (a reaction's event names the message only). */
  async lookup(
    messageId: string,
  ): Promise<{ chatId: string; text: string; author?: Person } | undefined> {
    const message = await this.core.client.attention.message(messageId)
    if (!message) return undefined
    const sender = message.sender
    return {
      chatId: message.chat_id,
      text: textOf(message.msg_type, message.content),
      ...(sender?.sender_type === 'user' && sender.id ? { author: { openId: sender.id } } : {}),
    }
  }

  /** A reason when there is nothing to do (the same message marked twice). */
  async mark(
    record: IncidentRecord,
    by: Person,
    moment: { text: string; messageId?: string | undefined; author?: Person | undefined },
    op: Op,
  ): Promise<string | undefined> {
    const text = truncate(safePlainText(singleLine(moment.text)).trim(), 500)
    if (!text) return 'nothing to note: /note <what happened>'
    if (moment.messageId && record.moments?.some((m) => m.messageId === moment.messageId))
      return 'already a key moment'
    const at = this.core.now()
    record.moments = [
      ...(record.moments ?? []),
      {
        at,
        by,
        text,
        ...(moment.messageId ? { messageId: moment.messageId } : {}),
        ...(moment.author && moment.author.openId !== by.openId ? { author: moment.author } : {}),
      },
    ].slice(-100)
    record.events.push({ type: 'updated', at, by, detail: `key moment: ${text}` })
    if (moment.messageId)
      try {
        await this.core.client.attention.react(moment.messageId, NOTED_EMOJI)
      } catch (error) {
        if (!(error instanceof FeishuError) || error.isTransient) throw error
        op.warnings.push(`the key moment was not answered with a reaction: ${reasonOf(error)}`)
      }
    return undefined
  }
}

/** What a message says, for the review: a text's text, a post's text nodes, else its type. */
function textOf(type: string, content: string): string {
  try {
    const body = JSON.parse(content) as Record<string, unknown>
    if (type === 'text') return String(body.text ?? '').replace(/@_user_\d+\s*/g, '')
    if (type === 'post') {
      const post = (Object.values(body)[0] ?? body) as {
        title?: string
        content?: Array<Array<{ text?: string }>>
      }
      const text = (post.content ?? []).map((p) => p.map((n) => n.text ?? '').join('')).join(' ')
      return [post.title, text].filter(Boolean).join(': ')
    }
    if (type === 'interactive') return '(card)'
  } catch {
    // not JSON: shown as its type
  }
  return `(${type})`
}
