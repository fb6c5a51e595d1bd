import {
  ApiError,
  fieldError,
  GROUP_HISTORY_SCOPE,
  type Handler,
  PATCH_WINDOW_MS,
  parseJson,
} from '../common.js'
import type { SandboxContent } from '../content.js'
import type { SandboxCore } from '../core.js'
import type { RouteName } from '../routes.js'

/** `card_msg_content_type=raw_card_content` (used by Lark's CLI): cards as JSON, not degraded. */
function rawCards(url: URL): boolean {
  const kind = url.searchParams.get('card_msg_content_type')
  if (kind !== null && kind !== 'raw_card_content' && kind !== 'user_card_content')
    throw fieldError(
      'card_msg_content_type',
      'card_msg_content_type must be raw_card_content or user_card_content',
    )
  return kind === 'raw_card_content'
}

/** Send, reply, update, read, pin and buzz messages. */
export function messageHandlers(
  sb: SandboxCore,
  content: SandboxContent,
): Partial<Record<RouteName, Handler>> {
  return {
    sendMessage: ({ url, body }) => {
      const receiveIdType = url.searchParams.get('receive_id_type')
      if (receiveIdType === null) throw fieldError('receive_id_type', 'receive_id_type is required')
      if (!['open_id', 'union_id', 'user_id', 'email', 'chat_id'].includes(receiveIdType))
        throw fieldError(
          'receive_id_type',
          'receive_id_type must be one of open_id, union_id, user_id, email, chat_id',
        )
      const input = parseJson(body) as Record<string, unknown>
      if (typeof input.receive_id !== 'string' || !input.receive_id)
        throw fieldError('receive_id', 'receive_id is required')
      const receiveId = input.receive_id
      return content.postAsBot(input, () => {
        if (receiveIdType === 'chat_id') return sb.chatFor(receiveId, true, 230002)
        const user = sb.state.userBy(receiveIdType, receiveId)
        if (!user)
          throw new ApiError(
            400,
            receiveIdType === 'open_id' ? 99992351 : 230034,
            `Invalid receive_id: ${receiveIdType} ${receiveId} does not exist.`,
          )
        if (user.status !== 'active') throw new ApiError(400, 230029, 'The user has resigned.')
        return sb.p2pChat(user.open_id)
      })
    },

    replyMessage: ({ params, body }) => {
      const parent = sb.messageFor(params.message_id!)
      const input = parseJson(body) as Record<string, unknown>
      return content.postAsBot(input, () => sb.chatFor(parent.chat_id, true, 230002), parent)
    },

    patchMessage: ({ params, body }) => {
      const message = sb.messageFor(params.message_id!)
      if (message.sender.id !== sb.appId)
        throw new ApiError(
          400,
          230027,
          'Lack of necessary permissions: the message was not sent by this app.',
        )
      if (message.msg_type !== 'interactive')
        throw new ApiError(
          400,
          230001,
          'Your request contains an invalid request parameter, ext=only cards can be updated',
        )
      const chat = sb.chatFor(message.chat_id, true, 230002)
      if (sb.now() - message.create_time > PATCH_WINDOW_MS)
        throw new ApiError(400, 230031, 'The message is older than 14 days and cannot be updated.')
      const input = parseJson(body) as Record<string, unknown>
      const rendered = content.inspectContent('interactive', input.content, chat)
      const before = JSON.parse(message.content) as { schema?: string }
      const after = JSON.parse(input.content as string) as { schema?: string }
      if (before.schema === '2.0' && after.schema !== '2.0')
        throw new ApiError(
          400,
          230099,
          'Failed to create card content, ext=ErrCode: 200830; ErrMsg: a JSON 2.0 card cannot be updated to JSON 1.0;',
        )
      sb.limitMessage('patch', message.message_id)
      message.content = input.content as string
      message.mentions = rendered.mentions
      message.links = rendered.links
      message.patches++
      message.update_time = sb.now()
      sb.state.cardVersion(message)
      return {}
    },

    getMessage: ({ params, url }) => {
      const message = sb.messageFor(params.message_id!)
      sb.chatFor(message.chat_id, true, 230002)
      return { items: [sb.messageView(message, rawCards(url))] }
    },

    listMessages: ({ url }) => {
      const containerType = sb.idType(
        url.searchParams.get('container_id_type'),
        'container_id_type',
        ['chat', 'thread'],
      )
      const containerId = url.searchParams.get('container_id')
      if (!containerId) throw fieldError('container_id', 'container_id is required')
      if (containerType === 'thread') return { items: [], has_more: false }
      const chat = sb.chatFor(containerId, true, 230002)
      if (!sb.scopes.has(GROUP_HISTORY_SCOPE))
        throw new ApiError(
          400,
          230027,
          `Lack of necessary permissions, ext=reading group messages needs ${GROUP_HISTORY_SCOPE}`,
        )
      const sort = url.searchParams.get('sort_type') ?? 'ByCreateTimeAsc'
      if (sort !== 'ByCreateTimeAsc' && sort !== 'ByCreateTimeDesc')
        throw fieldError('sort_type', 'unknown sort_type')
      const start = url.searchParams.get('start_time')
      const end = url.searchParams.get('end_time')
      // Replies are in the chat's history too (only replies in a thread live in the thread's).
      let list = sb.state.messagesIn(chat.chat_id)
      if (start) list = list.filter((m) => m.create_time >= Number(start) * 1000)
      if (end) list = list.filter((m) => m.create_time <= Number(end) * 1000)
      list = [...list].sort((a, b) => a.create_time - b.create_time)
      if (sort === 'ByCreateTimeDesc') list.reverse()
      return sb.paginate(
        list.map((m) => sb.messageView(m, rawCards(url))),
        url,
        20,
        50,
      )
    },

    pinMessage: ({ body }) => {
      const input = parseJson(body) as { message_id?: unknown }
      if (typeof input.message_id !== 'string')
        throw fieldError('message_id', 'message_id is required')
      const message = sb.messageFor(input.message_id)
      sb.chatFor(message.chat_id, true, 230002)
      sb.limitMessage('pin', message.message_id)
      let pin = sb.state.pins.get(message.message_id)
      if (!pin) {
        pin = {
          message_id: message.message_id,
          chat_id: message.chat_id,
          create_time: sb.now(),
          operator: sb.appId,
        }
        sb.state.pins.set(message.message_id, pin)
      }
      return {
        pin: {
          message_id: pin.message_id,
          chat_id: pin.chat_id,
          operator_id: pin.operator,
          operator_id_type: 'app_id',
          create_time: String(pin.create_time),
        },
      }
    },

    listPins: ({ url }) => {
      const chatId = url.searchParams.get('chat_id')
      if (!chatId) throw fieldError('chat_id', 'chat_id is required')
      const chat = sb.chatFor(chatId, true, 230002)
      const pins = [...sb.state.pins.values()]
        .filter((p) => p.chat_id === chat.chat_id)
        .sort((a, b) => b.create_time - a.create_time)
        .map((p) => ({
          message_id: p.message_id,
          chat_id: p.chat_id,
          operator_id: p.operator,
          operator_id_type: 'app_id',
          create_time: String(p.create_time),
        }))
      return sb.paginate(pins, url, 20, 50)
    },

    urgentApp: (ctx) => content.urgent('app', ctx),

    urgentSms: (ctx) => content.urgent('sms', ctx),

    urgentPhone: (ctx) => content.urgent('phone', ctx),
  }
}
