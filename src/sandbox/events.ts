import { randomBytes } from 'node:crypto'
import { request } from 'undici'
import { encryptEvent, signEvent } from '../util/event-crypto.js'
import type { SandboxCore } from './core.js'
import type { LongConnection } from './longconn.js'

/**
 * Feishu's side of events: a person writes in a chat or clicks a card
 * button, and the event is delivered to the app's event URL, encrypted and
 * signed with the same code the receiver verifies with.
 */

/** Where Feishu delivers events and card callbacks for the app, with its Encrypt Key and token. */
export interface EventTarget {
  url: string
  encryptKey?: string
  verificationToken?: string
}

type WithEvents = SandboxCore & { events: EventTarget | undefined; longConnection?: LongConnection }

/** A user writes in a chat and Feishu delivers im.message.receive_v1 (when the bot may see it). */
export async function say(
  sb: SandboxCore & { events: EventTarget | undefined },
  chatId: string,
  openId: string,
  text: string,
  options: { mentionBot?: boolean } = {},
) {
  // People mentioned as @ou_… in the text arrive as Feishu sends them: @_user_N keys plus a mentions list.
  const ids: string[] = options.mentionBot ? [sb.botOpenId] : []
  const body = text.replace(/@(ou_[A-Za-z0-9]+)/g, (_, id: string) => {
    ids.push(id)
    return `@_user_${ids.length}`
  })
  const content = options.mentionBot ? `@_user_1 ${body}` : body
  const message = sb.postUserMessage(chatId, openId, content, sb.now(), ids)
  const user = sb.state.users.get(openId)
  const delivery = await deliver(sb, {
    schema: '2.0',
    header: eventHeader(sb, 'im.message.receive_v1'),
    event: {
      sender: {
        sender_id: {
          open_id: openId,
          union_id: user?.union_id ?? '',
          user_id: user?.user_id ?? '',
        },
        sender_type: 'user',
        tenant_key: 'sandbox-tenant',
      },
      message: {
        message_id: message.message_id,
        root_id: '',
        parent_id: '',
        create_time: String(message.create_time),
        chat_id: chatId,
        chat_type: 'group',
        message_type: 'text',
        content: JSON.stringify({ text: content }),
        mentions: ids.map((id, i) => ({
          key: `@_user_${i + 1}`,
          id: {
            open_id: id,
            union_id: sb.state.users.get(id)?.union_id ?? '',
            user_id: sb.state.users.get(id)?.user_id ?? '',
          },
          name: id === sb.botOpenId ? sb.appName : (sb.state.users.get(id)?.name ?? ''),
          tenant_key: 'sandbox-tenant',
        })),
      },
    },
  })
  return { message, delivery }
}

/** A user clicks a card button and Feishu calls back with card.action.trigger. */
export async function click(
  sb: SandboxCore & { events: EventTarget | undefined },
  messageId: string,
  openId: string,
  value: Record<string, unknown>,
) {
  const message = sb.state.messages.get(messageId)
  if (!message) throw new Error(`no message ${messageId}`)
  const user = sb.state.users.get(openId)
  return deliver(
    sb,
    {
      schema: '2.0',
      header: eventHeader(sb, 'card.action.trigger'),
      event: {
        operator: {
          tenant_key: 'sandbox-tenant',
          user_id: user?.user_id ?? '',
          union_id: user?.union_id ?? '',
          open_id: openId,
        },
        token: `c-${randomBytes(16).toString('hex')}`,
        action: { value, tag: 'button' },
        host: 'im_message',
        context: { open_message_id: messageId, open_chat_id: message.chat_id },
      },
    },
    true,
  )
}

/**
 * A user reacts to a message with an emoji and Feishu delivers
 * im.message.reaction.created_v1 (for chats the bot is in; the event names
 * the message only, not its chat).
 */
export async function react(
  sb: SandboxCore & { events: EventTarget | undefined },
  messageId: string,
  openId: string,
  emojiType: string,
) {
  const message = sb.state.messages.get(messageId)
  if (!message) throw new Error(`no message ${messageId}`)
  message.reactions = [...(message.reactions ?? []), { emoji_type: emojiType, by: openId }]
  sb.changed()
  const user = sb.state.users.get(openId)
  return deliver(sb, {
    schema: '2.0',
    header: eventHeader(sb, 'im.message.reaction.created_v1'),
    event: {
      message_id: messageId,
      reaction_type: { emoji_type: emojiType },
      operator_type: 'user',
      user_id: { open_id: openId, union_id: user?.union_id ?? '', user_id: user?.user_id ?? '' },
      app_id: sb.appId,
      action_time: String(sb.now()),
    },
  })
}

function eventHeader(sb: WithEvents, eventType: string) {
  return {
    event_id: randomBytes(16).toString('hex'),
    token: sb.events?.verificationToken ?? '',
    create_time: String(sb.now()),
    event_type: eventType,
    tenant_key: 'sandbox-tenant',
    app_id: sb.appId,
  }
}

/**
 * Delivers an event as Feishu does: over the long connection when the app
 * holds one (plaintext, no signature: the connection is authenticated), else
 * posted to the event URL, encrypted and signed when an Encrypt Key is set.
 */
async function deliver(
  sb: WithEvents,
  event: unknown,
  callback = false,
): Promise<{ status: number; body: unknown }> {
  // An app that has used the long connection and has no event URL gets its events held for it.
  const hold = !sb.events && (sb.longConnection?.accepted ?? 0) > 0
  const overConnection = await sb.longConnection?.deliver(event, { callback, hold })
  if (overConnection) return overConnection
  const target = sb.events
  if (!target) return { status: 0, body: 'no event URL configured' }
  let raw = JSON.stringify(event)
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (target.encryptKey) {
    raw = JSON.stringify({ encrypt: encryptEvent(raw, target.encryptKey) })
    const timestamp = String(Math.floor(sb.now() / 1000))
    const nonce = randomBytes(8).toString('hex')
    headers['x-lark-request-timestamp'] = timestamp
    headers['x-lark-request-nonce'] = nonce
    headers['x-lark-signature'] = signEvent(timestamp, nonce, target.encryptKey, Buffer.from(raw))
  }
  const res = await request(target.url, { method: 'POST', headers, body: raw })
  const text = await res.body.text()
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {
    // keep the text
  }
  return { status: res.statusCode, body }
}
