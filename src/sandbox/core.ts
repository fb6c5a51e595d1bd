import { inspectText } from './cards.js'
import {
  ALL_SCOPES,
  ApiError,
  fieldError,
  frequencyLimit,
  type SandboxOptions,
  SYSTEM_TEMPLATES,
} from './common.js'
import { FaultQueue } from './faults.js'
import { cardContent } from './history.js'
import { FEISHU_LIMITS, WindowLimiter } from './limits.js'
import {
  DEFAULT_USERS,
  newId,
  type SandboxChat,
  type SandboxMessage,
  SandboxState,
} from './state.js'

/**
 * The sandbox's world and its rules: the app, its users and chats, the clock,
 * the rate limits, and the lookups and views every handler uses. HTTP lives
 * in server.ts, message content in content.ts, the handlers in handlers/.
 */
export class SandboxCore {
  readonly state = new SandboxState()
  readonly faults = new FaultQueue()
  readonly appId: string
  readonly appSecret: string
  readonly appName: string
  scopes: Set<string>
  rateLimits: boolean
  tokenTtlSeconds: number
  clockOffsetMs: number
  /** What a repeated uuid answers after the first call completed (see SandboxOptions). */
  repeatedUuid: 'original' | 'error'
  /** What an over-long chat name or description gets (see SandboxOptions). */
  longChatText: 'refuse' | 'truncate' | 'accept'
  /** Calls refused by the rate limits (99991400, 230020, 230047). */
  refusedByLimits = 0
  /** The same, by the limit that refused them (api:<endpoint>, chat, patch, pin). */
  readonly refusedBy: Record<string, number> = {}
  /** Requests refused by Feishu's official schemas, with what was wrong. */
  readonly violations: Array<{
    tool: string
    violations: Array<{ field: string; description: string }>
  }> = []
  /** Every Open API request received, in order (endpoint name, or the raw path when unknown). */
  readonly requests: Array<{ endpoint: string; method: string; path: string; at: number }> = []

  protected readonly tokens = new Map<string, { expiresAt: number }>()
  protected readonly limiter: WindowLimiter
  protected readonly listeners = new Set<() => void>()
  protected readonly options: SandboxOptions

  constructor(options: SandboxOptions = {}) {
    this.options = options
    this.appId = options.appId ?? 'cli_sandbox0000000001'
    this.appSecret = options.appSecret ?? 'sandbox-app-secret'
    this.appName = options.appName ?? 'War Room Bot'
    this.scopes = new Set(options.scopes ?? ALL_SCOPES)
    this.rateLimits = options.rateLimits ?? true
    this.tokenTtlSeconds = options.tokenTtlSeconds ?? 7200
    this.clockOffsetMs = options.clockOffsetMs ?? 0
    this.repeatedUuid =
      options.repeatedUuid ?? (process.env.SANDBOX_REPEATED_UUID === 'error' ? 'error' : 'original')
    const long = options.longChatText ?? process.env.SANDBOX_LONG_CHAT_TEXT
    this.longChatText = long === 'truncate' || long === 'accept' ? long : 'refuse'
    this.limiter = new WindowLimiter(() => this.now(), options.rateLimitWindows ?? 'sliding')
    if (options.seedUsers ?? true) for (const u of DEFAULT_USERS) this.state.addUser(u)
  }

  now(): number {
    return Date.now() + this.clockOffsetMs
  }

  /** Moves the sandbox's clock forward (token expiry, uuid windows, the 14-day patch limit). */
  advance(ms: number): void {
    this.clockOffsetMs += ms
  }

  /** Every token issued so far stops working at once. */
  expireAllTokens(): void {
    for (const t of this.tokens.values()) t.expiresAt = 0
  }

  /** Called after every change, for the live /sandbox page. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Called after every change, for the live /sandbox page. */
  changed(): void {
    for (const l of this.listeners) l()
  }

  /** A user writes in a chat (for trying /ack by hand, and for timeline tests). */
  postUserMessage(
    chatId: string,
    openId: string,
    text: string,
    at = this.now(),
    mentions: string[] = [],
  ): SandboxMessage {
    const chat = this.state.chats.get(chatId)
    if (!chat) throw new Error(`no chat ${chatId}`)
    if (!chat.members.has(openId)) throw new Error(`${openId} is not a member of ${chatId}`)
    const message = this.state.addMessage({
      message_id: newId('om_'),
      chat_id: chatId,
      msg_type: 'text',
      content: JSON.stringify({ text }),
      sender: { id: openId, id_type: 'open_id', sender_type: 'user' },
      create_time: at,
      update_time: at,
      patches: 0,
      ...inspectText({ text }),
      // Text keeps @_user_N keys; the ids they stand for, in order.
      ...(mentions.length ? { mentions } : {}),
    })
    this.changed()
    return message
  }

  chatFor(chatId: string, botMustBeMember: boolean, notMemberCode = 232011): SandboxChat {
    const chat = this.state.chats.get(chatId)
    if (!chat || !/^oc_/.test(chatId)) throw new ApiError(400, 232006, 'Invalid chat_id.')
    if (chat.status === 'dissolved')
      throw new ApiError(
        400,
        232009,
        'Your request specifies a chat which has already been dissolved.',
      )
    if (botMustBeMember && !chat.bots.has(this.appId))
      throw new ApiError(
        400,
        notMemberCode,
        notMemberCode === 230002
          ? 'Bot is not in the chat.'
          : 'Operator and chat can NOT be in different tenants / operator not in chat.',
      )
    return chat
  }

  idType(
    value: string | null,
    field: string,
    allowed: readonly string[],
    fallback?: string,
  ): string {
    const v = value ?? fallback
    if (v === undefined) throw fieldError(field, `${field} is required`)
    if (!allowed.includes(v))
      throw fieldError(field, `${field} must be one of ${allowed.join(', ')}`)
    return v
  }

  resolveUsers(ids: unknown, idType: string) {
    if (!Array.isArray(ids) || ids.some((i) => typeof i !== 'string'))
      throw fieldError('id_list', 'must be an array of strings')
    const valid: string[] = []
    const invalid: string[] = []
    const missing: string[] = []
    for (const id of ids as string[]) {
      const user = this.state.userBy(idType, id)
      if (!user) missing.push(id)
      else if (user.status !== 'active') invalid.push(id)
      else valid.push(user.open_id)
    }
    return { valid, invalid, missing }
  }

  addToChat(chat: SandboxChat, openIds: string[]): void {
    const added = openIds.filter((id) => !chat.members.has(id))
    for (const id of added) chat.members.add(id)
    if (added.length)
      this.state.addSystemMessage(chat.chat_id, this.now(), SYSTEM_TEMPLATES.invited, {
        from_user: [this.appName],
        to_chatters: added.map((id) => this.state.userName(id)),
      })
  }

  messageFor(id: string): SandboxMessage {
    const message = this.state.messages.get(id)
    if (!message)
      throw new ApiError(
        400,
        230001,
        'Your request contains an invalid request parameter, ext=message_id not found',
      )
    return message
  }

  /** The bot's one-to-one chat with a user, created on first use. */
  p2pChat(openId: string): SandboxChat {
    for (const chat of this.state.chats.values()) {
      if (
        chat.chat_type === 'private' &&
        chat.name === '' &&
        chat.members.size === 1 &&
        chat.members.has(openId) &&
        chat.description === 'p2p'
      )
        return chat
    }
    const now = this.now()
    const chat: SandboxChat = {
      chat_id: newId('oc_'),
      name: '',
      description: 'p2p',
      owner: { type: 'app', id: this.appId },
      members: new Set([openId]),
      bots: new Set([this.appId]),
      botManagers: new Set(),
      chat_type: 'private',
      status: 'normal',
      created_at: now,
      names: [],
      urgent_setting: 'all_members',
      at_all_permission: 'only_owner',
      edit_permission: 'only_owner',
    }
    this.state.chats.set(chat.chat_id, chat)
    return chat
  }

  /**
   * A chat a person made and added the bot to (a stakeholder feed): owned by
   * the first member, with `chatId` when the config names one.
   */
  standingChat(name: string, members: string[], chatId = newId('oc_')): SandboxChat {
    const now = this.now()
    const chat: SandboxChat = {
      chat_id: chatId,
      name,
      description: '',
      owner: { type: 'user', id: members[0] ?? this.appId },
      members: new Set(members),
      bots: new Set([this.appId]),
      botManagers: new Set(),
      chat_type: 'private',
      status: 'normal',
      created_at: now,
      names: [{ name, at: now }],
      urgent_setting: 'all_members',
      at_all_permission: 'all_members',
      edit_permission: 'all_members',
    }
    this.state.chats.set(chat.chat_id, chat)
    this.state.addSystemMessage(chat.chat_id, now, SYSTEM_TEMPLATES.created, {
      from_user: [this.state.userName(chat.owner.id)],
    })
    return chat
  }

  chatInfo(chat: SandboxChat) {
    return {
      chat_id: chat.chat_id,
      name: chat.name,
      description: chat.description,
      avatar: '',
      i18n_names: {},
      ...(chat.owner.type === 'user' ? { owner_id: chat.owner.id, owner_id_type: 'open_id' } : {}),
      user_manager_id_list: [],
      bot_manager_id_list: [...chat.botManagers],
      chat_mode: 'group',
      chat_type: chat.chat_type,
      chat_tag: 'inner',
      group_message_type: 'chat',
      external: false,
      tenant_key: 'sandbox-tenant',
      urgent_setting: chat.urgent_setting,
      at_all_permission: chat.at_all_permission,
      add_member_permission: 'all_members',
      share_card_permission: 'allowed',
      edit_permission: chat.edit_permission,
      user_count: String(chat.members.size),
      bot_count: String(chat.bots.size),
      chat_status: chat.status,
    }
  }

  chatSummary(chat: SandboxChat) {
    return {
      chat_id: chat.chat_id,
      avatar: '',
      name: chat.name,
      description: chat.description,
      ...(chat.owner.type === 'user' ? { owner_id: chat.owner.id, owner_id_type: 'open_id' } : {}),
      external: false,
      tenant_key: 'sandbox-tenant',
      chat_status: chat.status,
    }
  }

  /** The bot as a person sees it in mentions (its open_id in events). */
  get botOpenId(): string {
    return `ou_bot${this.appId.slice(4)}`
  }

  /** A message as the history answers it (see history.ts); `raw` for raw_card_content. */
  messageView(m: SandboxMessage, raw = false) {
    const mentioned = m.mentions.filter((id) => id !== 'all')
    const keyOf = (id: string) => `@_user_${mentioned.indexOf(id) + 1}`
    let content = m.content
    if (m.msg_type === 'interactive') content = cardContent(JSON.parse(m.content), { keyOf, raw })
    return {
      message_id: m.message_id,
      ...(m.root_id ? { root_id: m.root_id } : {}),
      ...(m.parent_id ? { parent_id: m.parent_id } : {}),
      ...(m.thread_id ? { thread_id: m.thread_id } : {}),
      msg_type: m.msg_type,
      create_time: String(m.create_time),
      update_time: String(m.update_time),
      deleted: false,
      updated: m.patches > 0,
      chat_id: m.chat_id,
      sender: { ...m.sender, tenant_key: 'sandbox-tenant' },
      body: { content },
      mentions: mentioned.map((id, i) => ({
        key: `@_user_${i + 1}`,
        id,
        id_type: 'open_id',
        name: id === this.botOpenId ? this.appName : this.state.userName(id),
        tenant_key: 'sandbox-tenant',
      })),
    }
  }

  paginate<T>(items: T[], url: URL, defaultSize: number, maxSize: number) {
    const sizeParam = url.searchParams.get('page_size')
    const size = sizeParam === null ? defaultSize : Number(sizeParam)
    if (!Number.isInteger(size) || size < 1 || size > maxSize)
      throw fieldError('page_size', `page_size must be 1-${maxSize}`)
    const token = url.searchParams.get('page_token')
    let offset = 0
    if (token) {
      const decoded = Number(Buffer.from(token, 'base64url').toString().replace(/^p:/, ''))
      if (!Number.isInteger(decoded) || decoded < 0)
        throw fieldError('page_token', 'invalid page_token')
      offset = decoded
    }
    const page = items.slice(offset, offset + size)
    const hasMore = offset + size < items.length
    return {
      items: page,
      has_more: hasMore,
      ...(hasMore ? { page_token: Buffer.from(`p:${offset + size}`).toString('base64url') } : {}),
    }
  }

  refuse(limit: string): void {
    this.refusedByLimits++
    this.refusedBy[limit] = (this.refusedBy[limit] ?? 0) + 1
  }

  limitChat(chatId: string): void {
    if (this.rateLimits && this.limiter.take(`chat:${chatId}`, FEISHU_LIMITS.perChat)) {
      this.refuse('chat')
      throw new ApiError(400, 230020, 'This operation triggers the frequency limit.')
    }
  }

  /** Documents: 3 creates a second per app, 3 edits a second per document (docx API pages). */
  limitDocuments(key: string): void {
    const limited = this.rateLimits && this.limiter.take(`docx:${key}`, FEISHU_LIMITS.docx)
    if (limited) {
      this.refuse('docx')
      throw frequencyLimit(limited)
    }
  }

  limitMessage(kind: 'patch' | 'pin', messageId: string): void {
    if (this.rateLimits && this.limiter.take(`${kind}:${messageId}`, FEISHU_LIMITS.perMessage)) {
      this.refuse(kind)
      throw new ApiError(
        400,
        kind === 'pin' ? 230047 : 230020,
        'This operation triggers the frequency limit.',
      )
    }
  }
}
