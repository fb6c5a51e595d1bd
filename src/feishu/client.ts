import { FormData } from 'undici'
import { AttentionApi } from './attention.js'
import { DocumentsApi } from './documents.js'
import { DOMAINS, FeishuTransport, type TransportOptions } from './transport.js'
import type {
  AddMembersResult,
  BatchGetIdUser,
  ChatInfo,
  ChatSummary,
  CreateChatBody,
  Message,
  MsgType,
  Page,
  Pin,
  ReceiveIdType,
  UpdateChatBody,
  UserIdType,
} from './types.js'

export type FeishuClientOptions = TransportOptions

/** Feishu's documented batch limits. */
export const LIMITS = {
  /** Create chat's user_id_list; the rest are added through chat members. */
  usersPerCreate: 50,
  membersPerCall: 50,
  /** urgent_app / urgent_sms / urgent_phone user_id_list. */
  idsPerUrgent: 200,
  idsPerBatchGet: 50,
  chatPageSize: 100,
  messagePageSize: 50,
  uuidLength: 50,
} as const

/**
 * Typed methods for the part of the Feishu Open API a war room needs. Each
 * method is one documented endpoint (or a loop over its pages or batches);
 * retries, tokens and errors live in FeishuTransport.
 */
export class FeishuClient {
  readonly transport: FeishuTransport
  /** Video meetings, time-sensitive chats, reactions; documents (docx, drive). */
  readonly attention: AttentionApi
  readonly documents: DocumentsApi

  constructor(options: FeishuClientOptions | FeishuTransport) {
    this.transport = options instanceof FeishuTransport ? options : new FeishuTransport(options)
    this.attention = new AttentionApi(this.transport)
    this.documents = new DocumentsApi(this.transport)
  }

  get appId(): string {
    return this.transport.appId
  }

  close = (): Promise<void> => this.transport.close()

  /** An AppLink that opens the chat in the Feishu or Lark client. */
  chatLink(chatId: string): string {
    const host =
      this.transport.baseUrl === DOMAINS.lark.api ? DOMAINS.lark.applink : DOMAINS.feishu.applink
    return `${host}/client/chat/open?openChatId=${encodeURIComponent(chatId)}`
  }

  /** Creates a chat; the bot joins as owner. A repeated `uuid` within 10 h creates nothing new. */
  async createChat(
    body: CreateChatBody,
    options: { uuid?: string; setBotManager?: boolean; userIdType?: UserIdType } = {},
  ): Promise<ChatInfo & { chat_id: string }> {
    checkUuid(options.uuid)
    return this.transport.call({
      endpoint: 'createChat',
      query: {
        user_id_type: options.userIdType ?? 'open_id',
        set_bot_manager: options.setBotManager,
        uuid: options.uuid,
      },
      body,
      idempotent: options.uuid !== undefined,
    })
  }

  getChat(chatId: string): Promise<ChatInfo> {
    return this.transport.call({
      endpoint: 'getChat',
      params: { chat_id: chatId },
      idempotent: true,
    })
  }

  /** Partial update (Feishu's PUT leaves omitted fields alone). */
  async updateChat(chatId: string, body: UpdateChatBody): Promise<void> {
    await this.transport.call({
      endpoint: 'updateChat',
      params: { chat_id: chatId },
      body,
      idempotent: true,
    })
  }

  /** Every chat the bot is in, oldest first, page after page. */
  listChats(options: { pageSize?: number } = {}): AsyncGenerator<ChatSummary> {
    return this.paginate<ChatSummary>('listChats', {
      page_size: options.pageSize ?? LIMITS.chatPageSize,
      sort_type: 'ByCreateTimeAsc',
    })
  }

  /** Chats visible to the bot whose name (or members' names) match `query` (1–64 characters). */
  searchChats(query: string, options: { pageSize?: number } = {}): AsyncGenerator<ChatSummary> {
    return this.paginate<ChatSummary>('searchChats', {
      query,
      page_size: options.pageSize ?? LIMITS.chatPageSize,
    })
  }

  /**
   * Adds members in batches of 50, serially (Feishu refuses concurrent member
   * changes on one chat). With succeed_type=1 unusable ids are reported, not
   * fatal: the result lists them.
   */
  async addMembers(
    chatId: string,
    ids: string[],
    options: { memberIdType?: UserIdType | 'app_id' } = {},
  ): Promise<AddMembersResult> {
    const result: AddMembersResult = {
      invalid_id_list: [],
      not_existed_id_list: [],
      pending_approval_id_list: [],
    }
    for (const batch of chunk(unique(ids), LIMITS.membersPerCall)) {
      const data = await this.transport.call<Partial<AddMembersResult>>({
        endpoint: 'addMembers',
        params: { chat_id: chatId },
        query: { member_id_type: options.memberIdType ?? 'open_id', succeed_type: 1 },
        body: { id_list: batch },
        idempotent: true,
      })
      result.invalid_id_list.push(...(data.invalid_id_list ?? []))
      result.not_existed_id_list.push(...(data.not_existed_id_list ?? []))
      result.pending_approval_id_list.push(...(data.pending_approval_id_list ?? []))
    }
    return result
  }

  /** Adds or removes managers of a chat the app owns (twice is the same); answers who they are now. */
  async setManagers(
    chatId: string,
    change: 'add' | 'delete',
    openIds: string[],
  ): Promise<{ chat_managers?: string[] }> {
    return this.transport.call<{ chat_managers?: string[] }>({
      endpoint: change === 'add' ? 'addManagers' : 'deleteManagers',
      params: { chat_id: chatId },
      query: { member_id_type: 'open_id' },
      body: { manager_ids: unique(openIds) },
      idempotent: true,
    })
  }

  /** Puts a message at the top of the chat (the top notice), for everyone in it. */
  async putTopNotice(chatId: string, messageId: string): Promise<void> {
    await this.transport.call({
      endpoint: 'putTopNotice',
      params: { chat_id: chatId },
      body: { chat_top_notice: [{ action_type: '1', message_id: messageId }] },
      idempotent: true,
    })
  }

  /** The people in a chat (Feishu leaves bots out), page after page. */
  listMembers(chatId: string): AsyncGenerator<{ member_id: string; name?: string }> {
    return this.paginate(
      'listMembers',
      { member_id_type: 'open_id', page_size: 100 },
      { chat_id: chatId },
    )
  }

  /** Sends a message; `content` is the object, serialised here. Retried only with a `uuid`. */
  async sendMessage(args: {
    receiveIdType: ReceiveIdType
    receiveId: string
    msgType: MsgType
    content: object
    uuid?: string
  }): Promise<Message> {
    checkUuid(args.uuid)
    return this.transport.call({
      endpoint: 'sendMessage',
      query: { receive_id_type: args.receiveIdType },
      body: {
        receive_id: args.receiveId,
        msg_type: args.msgType,
        content: JSON.stringify(args.content),
        uuid: args.uuid,
      },
      idempotent: args.uuid !== undefined,
    })
  }

  async reply(
    messageId: string,
    args: {
      msgType: MsgType
      content: object
      uuid?: string
      replyInThread?: boolean
      /** The chat the message is in, when known: the reply is paced with the chat's messages. */
      chatId?: string
    },
  ): Promise<Message> {
    checkUuid(args.uuid)
    return this.transport.call({
      endpoint: 'replyMessage',
      params: { message_id: messageId },
      ...(args.chatId ? { chatId: args.chatId } : {}),
      body: {
        msg_type: args.msgType,
        content: JSON.stringify(args.content),
        uuid: args.uuid,
        reply_in_thread: args.replyInThread,
      },
      idempotent: args.uuid !== undefined,
    })
  }

  /** Replaces a card the app sent (it must have been sent with update_multi: true). */
  /** A card's new content; a function renders it as the patch leaves the pacer (the latest state). */
  async patchCard(messageId: string, card: object | (() => object)): Promise<void> {
    const content = () => ({ content: JSON.stringify(typeof card === 'function' ? card() : card) })
    await this.transport.call({
      endpoint: 'patchMessage',
      params: { message_id: messageId },
      body: typeof card === 'function' ? content : content(),
      idempotent: true,
    })
  }

  /** Uploads an image for use in messages or cards; returns its image_key. */
  async uploadImage(
    bytes: Uint8Array,
    options: { imageType?: 'message' | 'avatar'; filename?: string; contentType?: string } = {},
  ): Promise<string> {
    const form = new FormData()
    form.append('image_type', options.imageType ?? 'message')
    form.append(
      'image',
      new Blob([bytes], { type: options.contentType ?? 'application/octet-stream' }),
      options.filename ?? 'image',
    )
    const data = await this.transport.call<{ image_key: string }>({
      endpoint: 'uploadImage',
      body: form,
      // An extra upload has no visible effect; losing the image matters more.
      idempotent: true,
    })
    return data.image_key
  }

  /**
   * The chat's messages in time order, fetched page by page as the caller
   * consumes them, so a long history never sits in memory at once.
   */
  listMessages(
    chatId: string,
    options: { startTime?: number; endTime?: number; pageSize?: number; descending?: boolean } = {},
  ): AsyncGenerator<Message> {
    return this.paginate<Message>('listMessages', {
      container_id_type: 'chat',
      container_id: chatId,
      start_time: options.startTime,
      end_time: options.endTime,
      sort_type: options.descending ? 'ByCreateTimeDesc' : 'ByCreateTimeAsc',
      page_size: options.pageSize ?? LIMITS.messagePageSize,
    })
  }

  /** Pins a message; pinning a pinned message returns the existing pin. */
  async pinMessage(messageId: string): Promise<Pin> {
    const data = await this.transport.call<{ pin: Pin }>({
      endpoint: 'pinMessage',
      body: { message_id: messageId },
      idempotent: true,
    })
    return data.pin
  }

  /** Pinned messages of a chat (the war room pins its card, so this finds it again). */
  listPins(chatId: string): AsyncGenerator<Pin> {
    return this.paginate<Pin>('listPins', { chat_id: chatId, page_size: 50 })
  }

  /**
   * Buzzes (加急) users about a message the bot sent, 200 per call. Not
   * retried after an ambiguous failure: a second buzz is worse than a missing one.
   */
  urgentApp(messageId: string, userIds: string[], userIdType: UserIdType = 'open_id') {
    return this.urgent('app', messageId, userIds, userIdType)
  }

  /** An urgent notice of one kind: in the app, by SMS, or by a phone call (each a paid quota). */
  async urgent(
    kind: 'app' | 'sms' | 'phone',
    messageId: string,
    userIds: string[],
    userIdType: UserIdType = 'open_id',
  ): Promise<string[]> {
    const endpoint = ({ app: 'urgentApp', sms: 'urgentSms', phone: 'urgentPhone' } as const)[kind]
    const invalid: string[] = []
    for (const batch of chunk(unique(userIds), LIMITS.idsPerUrgent)) {
      const data = await this.transport.call<{ invalid_user_id_list?: string[] }>({
        endpoint,
        params: { message_id: messageId },
        query: { user_id_type: userIdType },
        body: { user_id_list: batch },
        idempotent: false,
      })
      invalid.push(...(data.invalid_user_id_list ?? []))
    }
    return invalid
  }

  /** A user's display name (needs a contact scope; see ENDPOINTS.getUser). */
  async getUserName(openId: string): Promise<string | undefined> {
    const data = await this.transport.call<{ user?: { name?: string } }>({
      endpoint: 'getUser',
      params: { user_id: openId },
      query: { user_id_type: 'open_id' },
      idempotent: true,
    })
    return data.user?.name || undefined
  }

  /** Emails and mobiles to user ids, 50 of each a call; unknown ones map to undefined. */
  async batchGetId(
    input: { emails?: string[]; mobiles?: string[] },
    userIdType: UserIdType = 'open_id',
  ): Promise<Map<string, string | undefined>> {
    const emails = unique(input.emails ?? [])
    const mobiles = unique(input.mobiles ?? [])
    const result = new Map<string, string | undefined>()
    for (const key of [...emails, ...mobiles]) result.set(key, undefined)
    const calls = Math.ceil(Math.max(emails.length, mobiles.length) / LIMITS.idsPerBatchGet)
    for (let i = 0; i < calls; i++) {
      const slice = (list: string[]) =>
        list.slice(i * LIMITS.idsPerBatchGet, (i + 1) * LIMITS.idsPerBatchGet)
      const e = slice(emails)
      const m = slice(mobiles)
      const data = await this.transport.call<{ user_list?: BatchGetIdUser[] }>({
        endpoint: 'batchGetId',
        query: { user_id_type: userIdType },
        body: { ...(e.length ? { emails: e } : {}), ...(m.length ? { mobiles: m } : {}) },
        idempotent: true,
      })
      for (const user of data.user_list ?? []) {
        const key = user.email ?? user.mobile
        if (key && user.user_id) result.set(key, user.user_id)
      }
    }
    return result
  }

  private async *paginate<T>(
    endpoint: 'listChats' | 'searchChats' | 'listMessages' | 'listPins' | 'listMembers',
    query: Record<string, string | number | undefined>,
    params?: Record<string, string>,
  ): AsyncGenerator<T> {
    let pageToken: string | undefined
    do {
      const page = await this.transport.call<Page<T>>({
        endpoint,
        ...(params ? { params } : {}),
        query: { ...query, page_token: pageToken },
        idempotent: true,
      })
      for (const item of page.items ?? []) yield item
      pageToken = page.has_more ? page.page_token : undefined
    } while (pageToken)
  }
}

function checkUuid(uuid: string | undefined): void {
  if (uuid !== undefined && (uuid.length === 0 || uuid.length > LIMITS.uuidLength)) {
    throw new Error(`Feishu uuid must be 1–${LIMITS.uuidLength} characters, got ${uuid.length}`)
  }
}

function unique(list: string[]): string[] {
  return [...new Set(list.filter((s) => s.length > 0))]
}

function chunk<T>(list: T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size))
  return out
}
