import {
  CARD_LIMIT_BYTES,
  inspectCard,
  inspectPost,
  inspectText,
  type Rendered,
  TEXT_LIMIT_BYTES,
} from './cards.js'
import { ApiError, type Ctx, fieldError, MESSAGE_UUID_WINDOW_MS, parseJson } from './common.js'
import type { SandboxCore } from './core.js'
import { SANDBOX_LIMITS } from './limits.js'
import { newId, type SandboxChat, type SandboxMessage } from './state.js'

/**
 * What a bot may post and how it lands: content checked as Feishu checks it
 * (sizes, card structure, mentions), uuid de-duplication, and urgent notices.
 */
export class SandboxContent {
  /** Composed with the world it posts into, not a layer of it. */
  constructor(private readonly world: SandboxCore) {}

  /** Validates content for a send or patch and returns what it renders to. */
  inspectContent(msgType: string, contentText: unknown, chat: SandboxChat | undefined): Rendered {
    if (typeof contentText !== 'string')
      throw fieldError('content', 'content must be a JSON string')
    const limit = msgType === 'text' ? TEXT_LIMIT_BYTES : CARD_LIMIT_BYTES
    if (Buffer.byteLength(contentText) > limit)
      throw new ApiError(
        400,
        230025,
        'The message content is too long; the size limit is exceeded.',
      )
    let content: unknown
    try {
      content = JSON.parse(contentText)
    } catch {
      throw new ApiError(
        400,
        230001,
        'Your request contains an invalid request parameter, ext=invalid message content: content is not valid JSON',
      )
    }
    if (!content || typeof content !== 'object' || Array.isArray(content))
      throw new ApiError(
        400,
        230001,
        'Your request contains an invalid request parameter, ext=invalid message content',
      )
    const obj = content as Record<string, unknown>
    let rendered: Rendered
    switch (msgType) {
      case 'text':
        rendered = inspectText(obj)
        break
      case 'post':
        rendered = inspectPost(obj)
        break
      case 'interactive':
        rendered = inspectCard(obj)
        break
      case 'image': {
        const key = obj.image_key
        if (typeof key !== 'string' || !this.world.state.images.has(key))
          throw new ApiError(
            400,
            230001,
            'Your request contains an invalid request parameter, ext=invalid image_key',
          )
        rendered = { mentions: [], links: [] }
        break
      }
      case 'share_chat':
        rendered = { mentions: [], links: [] }
        break
      default:
        throw new ApiError(
          400,
          230001,
          `Your request contains an invalid request parameter, ext=unsupported msg_type ${msgType}`,
        )
    }
    if (chat) {
      for (const id of rendered.mentions) {
        if (id === 'all') {
          if (
            chat.at_all_permission === 'only_owner' &&
            !(chat.owner.type === 'app' && chat.owner.id === this.world.appId)
          )
            throw new ApiError(
              400,
              230001,
              'Your request contains an invalid request parameter, ext=no permission to mention all',
            )
          continue
        }
        const user =
          this.world.state.userBy('open_id', id) ??
          this.world.state.userBy('user_id', id) ??
          this.world.state.userBy('email', id) ??
          this.world.state.userBy('union_id', id)
        if (!user || !chat.members.has(user.open_id))
          throw new ApiError(
            400,
            230001,
            `Your request contains an invalid request parameter, ext=the mentioned user ${id} is not in the chat`,
          )
      }
    }
    return rendered
  }

  /** Send and reply: validation, the 1-hour uuid window, content checks, the per-chat limit. */
  postAsBot(input: Record<string, unknown>, chatOf: () => SandboxChat, parent?: SandboxMessage) {
    if (typeof input.msg_type !== 'string') throw fieldError('msg_type', 'msg_type is required')
    const uuid = typeof input.uuid === 'string' ? input.uuid : undefined
    if (uuid !== undefined && (uuid.length === 0 || uuid.length > 50))
      throw fieldError('uuid', 'uuid must be 1-50 characters')
    const now = this.world.now()
    if (uuid) {
      const seen = this.world.state.messageUuids.get(uuid)
      const earlier =
        seen &&
        now - seen.at < MESSAGE_UUID_WINDOW_MS &&
        this.world.state.messages.get(seen.message_id)
      if (earlier && this.world.repeatedUuid === 'error')
        throw new ApiError(
          400,
          230001,
          'Your request contains an invalid request parameter, ext=uuid has been used',
        )
      if (earlier) return this.world.messageView(earlier)
    }
    const chat = chatOf()
    const rendered = this.inspectContent(input.msg_type, input.content, chat)
    // reply_in_thread: the first reply opens the parent's thread (the parent is then in it too),
    // later ones join it.
    if (parent && input.reply_in_thread === true) parent.thread_id ??= newId('omt_')
    this.world.limitChat(chat.chat_id)
    const message = this.world.state.addMessage({
      message_id: newId('om_'),
      chat_id: chat.chat_id,
      msg_type: input.msg_type,
      content: input.content as string,
      sender: { id: this.world.appId, id_type: 'app_id', sender_type: 'app' },
      create_time: now,
      update_time: now,
      ...(parent
        ? { parent_id: parent.message_id, root_id: parent.root_id ?? parent.message_id }
        : {}),
      ...(parent?.thread_id ? { thread_id: parent.thread_id } : {}),
      patches: 0,
      ...rendered,
      ...(uuid ? { uuid } : {}),
    })
    if (uuid) this.world.state.messageUuids.set(uuid, { message_id: message.message_id, at: now })
    return this.world.messageView(message)
  }

  /** urgent_app / urgent_sms / urgent_phone: only members of the message's chat are buzzed. */
  urgent(kind: 'app' | 'sms' | 'phone', { url, params, body }: Ctx) {
    const message = this.world.messageFor(params.message_id!)
    if (message.sender.id !== this.world.appId)
      throw new ApiError(400, 230012, 'The bot is not the sender of this message.')
    const chat = this.world.chatFor(message.chat_id, true, 230002)
    const idType = this.world.idType(
      url.searchParams.get('user_id_type'),
      'user_id_type',
      ['open_id', 'union_id', 'user_id'],
      'open_id',
    )
    const input = parseJson(body) as { user_id_list?: unknown }
    if (!Array.isArray(input.user_id_list) || input.user_id_list.length === 0)
      throw fieldError('user_id_list', 'user_id_list must not be empty')
    if (input.user_id_list.length > SANDBOX_LIMITS.urgentIds)
      throw fieldError('user_id_list', `user_id_list takes at most ${SANDBOX_LIMITS.urgentIds} ids`)
    const valid: string[] = []
    const invalid: string[] = []
    for (const id of input.user_id_list as string[]) {
      const user = this.world.state.userBy(idType, id)
      if (user && chat.members.has(user.open_id)) valid.push(user.open_id)
      else invalid.push(id)
    }
    if (valid.length === 0)
      throw new ApiError(
        400,
        230001,
        'Your request contains an invalid request parameter, ext=no valid user in user_id_list',
      )
    this.world.state.urgent.push({
      kind,
      message_id: message.message_id,
      user_ids: valid,
      at: this.world.now(),
    })
    return { invalid_user_id_list: invalid }
  }
}
