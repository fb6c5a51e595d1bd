import { createCipheriv, createHash, randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { request } from 'undici'
import { errorMessage } from '../errors.js'
import {
  CARD_LIMIT_BYTES,
  ContentError,
  cardForHistory,
  imageFormat,
  inspectCard,
  inspectPost,
  inspectText,
  type Rendered,
  TEXT_LIMIT_BYTES,
} from './cards.js'
import {
  type Fault,
  FaultQueue,
  FEISHU_LIMITS,
  SANDBOX_LIMITS,
  WindowLimiter,
  type WindowModel,
} from './limits.js'
import { type Part, parseMultipart } from './multipart.js'
import { checkRequest } from './official.js'
import { matchRoute, type RouteName, SANDBOX_ROUTES } from './routes.js'
import {
  DEFAULT_USERS,
  newId,
  type SandboxChat,
  type SandboxMessage,
  SandboxState,
} from './state.js'

export interface SandboxOptions {
  /** The one app the sandbox knows. */
  appId?: string
  appSecret?: string
  appName?: string
  /** Scopes granted to the app; all the product needs by default. */
  scopes?: Iterable<string>
  /** Lifetime of a new tenant_access_token in seconds (Feishu: 7200). */
  tokenTtlSeconds?: number
  /** Enforce Feishu's documented rate limits (default true). */
  rateLimits?: boolean
  /** How the limits are counted: any span of the window (default), or windows aligned to the epoch. */
  rateLimitWindows?: WindowModel
  /** Seed the directory with demo users (default true). */
  seedUsers?: boolean
  host?: string
  port?: number
  /** Milliseconds added to the wall clock: lets tests move time forward. */
  clockOffsetMs?: number
}

/** Reading group history needs this sensitive scope on top of the message-list ones. */
const GROUP_HISTORY_SCOPE = 'im:message.group_msg'

/** Every scope a route takes, plus group history: what a fully set-up app has. */
export const ALL_SCOPES: readonly string[] = [
  ...new Set([...Object.values(SANDBOX_ROUTES).flatMap((e) => e.scopes), GROUP_HISTORY_SCOPE]),
]

/** Chat names are cut by Feishu's client beyond this (UNVERIFIED: the API limit is not documented). */
export const CHAT_NAME_LIMIT = 60
const CREATE_CHAT_UUID_WINDOW_MS = 10 * 3600_000
const MESSAGE_UUID_WINDOW_MS = 3600_000
const PATCH_WINDOW_MS = 14 * 24 * 3600_000
const MAX_BODY_BYTES = 12 * 1024 * 1024

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    msg: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(msg)
  }
}

const fieldError = (field: string, description: string) =>
  new ApiError(400, 99992402, 'field validation failed', {
    field_violations: [{ field, description }],
  })

interface Ctx {
  req: IncomingMessage
  url: URL
  params: Record<string, string>
  body: Buffer
  appId: string
}

type Handler = (ctx: Ctx) => Promise<unknown> | unknown

/**
 * An in-memory Feishu Open API on loopback: the endpoints, envelopes, error
 * codes, uuid windows and rate limits the product relies on, plus fault
 * injection. `npm start` without credentials runs the product against it.
 */
export class FeishuSandbox {
  readonly state = new SandboxState()
  readonly faults = new FaultQueue()
  readonly appId: string
  readonly appSecret: string
  readonly appName: string
  scopes: Set<string>
  rateLimits: boolean
  tokenTtlSeconds: number
  clockOffsetMs: number
  /** Calls refused by the rate limits (99991400, 230020, 230047). */
  refusedByLimits = 0
  /** Requests refused by Feishu's official schemas, with what was wrong. */
  readonly violations: Array<{
    tool: string
    violations: Array<{ field: string; description: string }>
  }> = []
  /** Every Open API request received, in order (endpoint name, or the raw path when unknown). */
  readonly requests: Array<{ endpoint: string; method: string; path: string; at: number }> = []

  /** TCP connections accepted, to check that clients reuse them. */
  connections = 0

  private readonly tokens = new Map<string, { expiresAt: number }>()
  private readonly limiter: WindowLimiter
  private server: Server | undefined
  private readonly listeners = new Set<() => void>()
  private readonly options: SandboxOptions

  constructor(options: SandboxOptions = {}) {
    this.options = options
    this.appId = options.appId ?? 'cli_sandbox0000000001'
    this.appSecret = options.appSecret ?? 'sandbox-app-secret'
    this.appName = options.appName ?? 'War Room Bot'
    this.scopes = new Set(options.scopes ?? ALL_SCOPES)
    this.rateLimits = options.rateLimits ?? true
    this.tokenTtlSeconds = options.tokenTtlSeconds ?? 7200
    this.clockOffsetMs = options.clockOffsetMs ?? 0
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

  get url(): string {
    const address = this.server?.address() as AddressInfo | null
    if (!address) throw new Error('the sandbox is not listening')
    return `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`
  }

  async listen(): Promise<string> {
    const server = createServer((req, res) => {
      void this.handle(req, res)
    })
    server.keepAliveTimeout = 60_000
    server.on('connection', () => {
      this.connections++
    })
    this.server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => resolve())
    })
    return this.url
  }

  async close(): Promise<void> {
    const server = this.server
    if (!server) return
    this.server = undefined
    await new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
  }

  /** A user writes in a chat (for trying /ack by hand, and for timeline tests). */
  postUserMessage(chatId: string, openId: string, text: string, at = this.now()): SandboxMessage {
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
    })
    this.changed()
    return message
  }

  /**
   * Where Feishu would deliver events and card callbacks for this app (the
   * receiver's /feishu/events), with the app's Encrypt Key and token.
   */
  events: { url: string; encryptKey?: string; verificationToken?: string } | undefined

  /** A user writes in a chat and Feishu delivers im.message.receive_v1 (when the bot may see it). */
  async say(chatId: string, openId: string, text: string, options: { mentionBot?: boolean } = {}) {
    const content = options.mentionBot ? `@_user_1 ${text}` : text
    const message = this.postUserMessage(chatId, openId, content)
    const user = this.state.users.get(openId)
    const delivery = await this.deliver({
      schema: '2.0',
      header: this.eventHeader('im.message.receive_v1'),
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
          mentions: options.mentionBot
            ? [
                {
                  key: '@_user_1',
                  id: { open_id: `ou_bot${this.appId.slice(4)}`, union_id: '', user_id: '' },
                  name: this.appName,
                  tenant_key: 'sandbox-tenant',
                },
              ]
            : [],
        },
      },
    })
    return { message, delivery }
  }

  /** A user clicks a card button and Feishu calls back with card.action.trigger. */
  async click(messageId: string, openId: string, value: Record<string, unknown>) {
    const message = this.state.messages.get(messageId)
    if (!message) throw new Error(`no message ${messageId}`)
    const user = this.state.users.get(openId)
    return this.deliver({
      schema: '2.0',
      header: this.eventHeader('card.action.trigger'),
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
    })
  }

  private eventHeader(eventType: string) {
    return {
      event_id: randomBytes(16).toString('hex'),
      token: this.events?.verificationToken ?? '',
      create_time: String(this.now()),
      event_type: eventType,
      tenant_key: 'sandbox-tenant',
      app_id: this.appId,
    }
  }

  /** Posts an event as Feishu does: encrypted and signed when an Encrypt Key is set. */
  private async deliver(event: unknown): Promise<{ status: number; body: unknown }> {
    const target = this.events
    if (!target) return { status: 0, body: 'no event URL configured' }
    let raw = JSON.stringify(event)
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (target.encryptKey) {
      const key = createHash('sha256').update(target.encryptKey).digest()
      const iv = randomBytes(16)
      const cipher = createCipheriv('aes-256-cbc', key, iv)
      raw = JSON.stringify({
        encrypt: Buffer.concat([iv, cipher.update(raw, 'utf8'), cipher.final()]).toString('base64'),
      })
      const timestamp = String(Math.floor(this.now() / 1000))
      const nonce = randomBytes(8).toString('hex')
      headers['x-lark-request-timestamp'] = timestamp
      headers['x-lark-request-nonce'] = nonce
      headers['x-lark-signature'] = createHash('sha256')
        .update(timestamp + nonce + target.encryptKey + raw)
        .digest('hex')
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

  // ---------------------------------------------------------------- plumbing

  private changed(): void {
    for (const l of this.listeners) l()
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sandbox')
    const logId = `${new Date(this.now()).toISOString().replace(/\D/g, '').slice(0, 14)}${randomBytes(8).toString('hex').toUpperCase()}`
    res.setHeader('x-tt-logid', logId)
    if (url.pathname.startsWith('/_sandbox/')) {
      await this.control(req, res, url)
      return
    }
    if (!url.pathname.startsWith('/open-apis/')) {
      this.reply(res, 404, { code: 404, msg: 'not found' }, logId)
      return
    }
    const matched = matchRoute(req.method ?? '', url.pathname)
    const route = matched?.route
    const endpoint = route?.name ?? url.pathname
    this.requests.push({ endpoint, method: req.method ?? '', path: url.pathname, at: this.now() })
    let body: Buffer
    try {
      body = await readBody(req)
    } catch {
      this.reply(res, 413, { code: 99992402, msg: 'request body too large' }, logId)
      return
    }

    const fault = this.faults.take(endpoint)
    if (fault?.kind === 'delay') await new Promise((r) => setTimeout(r, fault.ms ?? 1000))
    // A fault before the work: Feishu never saw the call.
    if (fault && !fault.afterEffect && this.applyFault(fault, req, res, logId)) return

    let status = 200
    let payload: Record<string, unknown>
    let headers: Record<string, string> = {}
    try {
      if (!route || !matched)
        throw new ApiError(404, 404, `404 page not found: ${req.method} ${url.pathname}`)
      const params = matched.params
      if (route.name === 'token') {
        this.conform(route.tool, req, url, params, body)
        payload = this.issueToken(body)
      } else {
        const appId = this.authenticate(req, route.name)
        this.checkScopes(route.name)
        this.conform(route.tool, req, url, params, body)
        if (this.rateLimits) {
          const limited = this.limiter.take(`api:${route.name}`, FEISHU_LIMITS.api)
          if (limited) this.refusedByLimits++
          if (limited)
            throw new ApiError(
              429,
              99991400,
              'request trigger frequency limit',
              {},
              {
                'x-ogw-ratelimit-limit': String(limited.limit),
                'x-ogw-ratelimit-reset': String(limited.resetSeconds),
              },
            )
        }
        const data = await this.handlers[route.name]({ req, url, params, body, appId })
        payload = { code: 0, msg: 'success', data: data ?? {} }
        this.changed()
      }
    } catch (error) {
      if (error instanceof ApiError) {
        status = error.status
        headers = error.headers
        payload = {
          code: error.code,
          msg: error.message,
          error: { log_id: logId, ...error.extra },
        }
      } else if (error instanceof ContentError) {
        status = 400
        payload = { code: error.code, msg: error.message, error: { log_id: logId } }
      } else {
        status = 500
        payload = {
          code: 2200,
          msg: `Internal Error: ${errorMessage(error)}`,
          error: { log_id: logId },
        }
      }
    }

    // A fault after the work: it is done, only the answer is lost.
    if (fault?.afterEffect && this.applyFault(fault, req, res, logId)) return
    this.reply(res, status, payload, logId, headers)
  }

  /** Answers with the fault instead of the result; false when the fault does not replace the answer. */
  private applyFault(
    fault: Fault,
    req: IncomingMessage,
    res: ServerResponse,
    logId: string,
  ): boolean {
    if (fault.kind === 'drop') {
      req.socket.destroy()
      return true
    }
    if (fault.kind === 'status') {
      this.failWith(res, fault.status ?? 500, fault.html ?? false, logId)
      return true
    }
    if (fault.kind === 'rateLimit') {
      this.rateLimited(res, 50, fault.resetSeconds ?? 1, logId)
      return true
    }
    return false
  }

  private reply(
    res: ServerResponse,
    status: number,
    payload: unknown,
    _logId: string,
    headers: Record<string, string> = {},
  ): void {
    const text = JSON.stringify(payload)
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      ...headers,
    })
    res.end(text)
  }

  private failWith(res: ServerResponse, status: number, html: boolean, logId: string): void {
    if (html) {
      const text = `<html><body><h1>${status} Bad Gateway</h1></body></html>`
      res.writeHead(status, {
        'content-type': 'text/html',
        'content-length': Buffer.byteLength(text),
      })
      res.end(text)
    } else {
      this.reply(
        res,
        status,
        { code: 2200, msg: 'Internal Error', error: { log_id: logId } },
        logId,
      )
    }
  }

  private rateLimited(res: ServerResponse, limit: number, reset: number, logId: string): void {
    this.reply(
      res,
      429,
      { code: 99991400, msg: 'request trigger frequency limit', error: { log_id: logId } },
      logId,
      {
        'x-ogw-ratelimit-limit': String(limit),
        'x-ogw-ratelimit-reset': String(reset),
      },
    )
  }

  /**
   * Test controls for processes that do not share memory with the sandbox:
   * `GET /_sandbox/state`, `POST /_sandbox/faults` (a Fault as JSON),
   * `POST /_sandbox/expire-tokens`, `POST /_sandbox/advance` ({"ms": n}).
   */
  private async control(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const respond = (status: number, value: unknown) => this.reply(res, status, value, '')
    try {
      const body = await readBody(req)
      const route = `${req.method} ${url.pathname}`
      if (route === 'GET /_sandbox/state') return respond(200, this.state.dump())
      if (route === 'POST /_sandbox/faults') {
        this.faults.add(parseJson(body) as never)
        return respond(200, { ok: true, pending: this.faults.pending.length })
      }
      if (route === 'POST /_sandbox/expire-tokens') {
        this.expireAllTokens()
        return respond(200, { ok: true })
      }
      if (route === 'POST /_sandbox/advance') {
        const ms = Number((parseJson(body) as { ms?: unknown }).ms)
        if (!Number.isFinite(ms) || ms < 0)
          return respond(400, { error: 'ms must be a non-negative number' })
        this.advance(ms)
        return respond(200, { ok: true })
      }
      respond(404, { error: `unknown sandbox control ${route}` })
    } catch (error) {
      respond(400, { error: errorMessage(error) })
    }
  }

  // ------------------------------------------------------------- auth, scopes

  private issueToken(body: Buffer): Record<string, unknown> {
    const input = parseJson(body) as { app_id?: unknown; app_secret?: unknown }
    if (typeof input.app_id !== 'string' || typeof input.app_secret !== 'string')
      throw new ApiError(400, 10003, 'invalid param')
    if (input.app_id !== this.appId)
      throw new ApiError(400, 10003, 'invalid param: app_id not found')
    if (input.app_secret !== this.appSecret) throw new ApiError(400, 10014, 'app secret invalid')
    const now = this.now()
    // Feishu hands back the current token while 30 minutes or more remain.
    for (const [token, t] of this.tokens) {
      if (t.expiresAt - now >= 30 * 60_000) {
        return {
          code: 0,
          msg: 'ok',
          tenant_access_token: token,
          expire: Math.floor((t.expiresAt - now) / 1000),
        }
      }
    }
    const token = `t-g1${randomBytes(20).toString('hex')}`
    this.tokens.set(token, { expiresAt: now + this.tokenTtlSeconds * 1000 })
    return { code: 0, msg: 'ok', tenant_access_token: token, expire: this.tokenTtlSeconds }
  }

  private authenticate(req: IncomingMessage, route: RouteName): string {
    const header = req.headers.authorization ?? ''
    const match = /^Bearer\s+(\S+)$/i.exec(header)
    if (!match?.[1])
      throw new ApiError(
        400,
        99991661,
        'Missing access token for authorization. Please make a request with token attached.',
      )
    const token = this.tokens.get(match[1])
    // Image upload answers an expired token its own way (HTTP 401, 234002).
    if ((!token || token.expiresAt <= this.now()) && route === 'uploadImage')
      throw new ApiError(
        401,
        234002,
        'Unauthorized. You do not have permission to perform the requested operation on the resource.',
      )
    if (!token || token.expiresAt <= this.now())
      throw new ApiError(
        400,
        99991663,
        'Invalid access token for authorization. Please make a request with token attached.',
      )
    return this.appId
  }

  /** Refuses what Feishu's official request schema refuses (99992402, as Feishu answers). */
  private conform(
    tool: string,
    req: IncomingMessage,
    url: URL,
    params: Record<string, string>,
    body: Buffer,
  ): void {
    let json: unknown
    if (body.length > 0 && !/^multipart\//.test(req.headers['content-type'] ?? '')) {
      try {
        json = JSON.parse(body.toString('utf8'))
      } catch {
        return // the handler answers malformed JSON
      }
    }
    if (json !== undefined && (typeof json !== 'object' || json === null || Array.isArray(json)))
      return
    const violations = checkRequest(tool, { query: url.searchParams, params, body: json })
    if (violations.length === 0) return
    this.violations.push({ tool, violations })
    throw new ApiError(400, 99992402, 'field validation failed', { field_violations: violations })
  }

  private checkScopes(endpoint: RouteName): void {
    const needed: readonly string[] = SANDBOX_ROUTES[endpoint].scopes
    if (needed.length === 0 || needed.some((s) => this.scopes.has(s))) return
    const list = needed.join(', ')
    throw new ApiError(
      400,
      99991672,
      `Access denied. One of the following scopes is required: [${list}].应用尚未开通所需的应用身份权限：[${list}]，点击链接申请并开通任一权限即可：https://open.feishu.cn/app/${this.appId}/auth?q=${needed.join(',')}&op_from=openapi&token_type=tenant`,
      {
        permission_violations: needed.map((s) => ({ type: 'action_scope_required', subject: s })),
      },
    )
  }

  private limitChat(chatId: string): void {
    if (this.rateLimits && this.limiter.take(`chat:${chatId}`, FEISHU_LIMITS.perChat)) {
      this.refusedByLimits++
      throw new ApiError(400, 230020, 'This operation triggers the frequency limit.')
    }
  }

  private limitMessage(kind: 'patch' | 'pin', messageId: string): void {
    if (this.rateLimits && this.limiter.take(`${kind}:${messageId}`, FEISHU_LIMITS.perMessage)) {
      this.refusedByLimits++
      throw new ApiError(
        400,
        kind === 'pin' ? 230047 : 230020,
        'This operation triggers the frequency limit.',
      )
    }
  }

  // ---------------------------------------------------------------- handlers

  private chatFor(chatId: string, botMustBeMember: boolean, notMemberCode = 232011): SandboxChat {
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

  private idType(
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

  private resolveUsers(ids: unknown, idType: string) {
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

  private addToChat(chat: SandboxChat, openIds: string[]): void {
    const added = openIds.filter((id) => !chat.members.has(id))
    for (const id of added) chat.members.add(id)
    if (added.length)
      this.state.addSystemMessage(
        chat.chat_id,
        this.now(),
        '{from_user} invited {to_chatters} to this group.',
        {
          from_user: [this.appName],
          to_chatters: added.map((id) => this.state.userName(id)),
        },
      )
  }

  private chatInfo(chat: SandboxChat) {
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
      edit_permission: 'all_members',
      user_count: String(chat.members.size),
      bot_count: String(chat.bots.size),
      chat_status: chat.status,
    }
  }

  private chatSummary(chat: SandboxChat) {
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

  private messageView(m: SandboxMessage) {
    let content = m.content
    if (m.msg_type === 'interactive')
      content = JSON.stringify(cardForHistory(JSON.parse(m.content)))
    return {
      message_id: m.message_id,
      ...(m.root_id ? { root_id: m.root_id } : {}),
      ...(m.parent_id ? { parent_id: m.parent_id } : {}),
      msg_type: m.msg_type,
      create_time: String(m.create_time),
      update_time: String(m.update_time),
      deleted: false,
      updated: m.patches > 0,
      chat_id: m.chat_id,
      sender: { ...m.sender, tenant_key: 'sandbox-tenant' },
      body: { content },
      mentions: m.mentions
        .filter((id) => id !== 'all')
        .map((id, i) => ({
          key: `@_user_${i + 1}`,
          id,
          id_type: 'open_id',
          name: this.state.userName(id),
          tenant_key: 'sandbox-tenant',
        })),
    }
  }

  private paginate<T>(items: T[], url: URL, defaultSize: number, maxSize: number) {
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

  /** Validates content for a send or patch and returns what it renders to. */
  private inspectContent(
    msgType: string,
    contentText: unknown,
    chat: SandboxChat | undefined,
  ): Rendered {
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
        if (typeof key !== 'string' || !this.state.images.has(key))
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
            !(chat.owner.type === 'app' && chat.owner.id === this.appId)
          )
            throw new ApiError(
              400,
              230001,
              'Your request contains an invalid request parameter, ext=no permission to mention all',
            )
          continue
        }
        const user =
          this.state.userBy('open_id', id) ??
          this.state.userBy('user_id', id) ??
          this.state.userBy('email', id) ??
          this.state.userBy('union_id', id)
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

  private readonly handlers: Record<Exclude<RouteName, 'token'>, Handler> = {
    createChat: ({ url, body }) => {
      const input = parseJson(body) as Record<string, unknown>
      const idType = this.idType(
        url.searchParams.get('user_id_type'),
        'user_id_type',
        ['open_id', 'union_id', 'user_id'],
        'open_id',
      )
      const uuid = url.searchParams.get('uuid') ?? undefined
      if (uuid !== undefined && (uuid.length === 0 || uuid.length > 50))
        throw fieldError('uuid', 'uuid must be 1-50 characters')
      const ownerId = typeof input.owner_id === 'string' ? input.owner_id : undefined
      const now = this.now()
      if (uuid) {
        const seen = this.state.chatUuids.get(`${uuid}|${ownerId ?? ''}`)
        if (seen && now - seen.at < CREATE_CHAT_UUID_WINDOW_MS) {
          const chat = this.state.chats.get(seen.chat_id)
          if (chat) return this.chatInfo(chat)
        }
      }
      const name = typeof input.name === 'string' ? input.name : ''
      if ([...name].length > CHAT_NAME_LIMIT)
        throw new ApiError(
          400,
          232001,
          `Your request contains an invalid request parameter: name is longer than ${CHAT_NAME_LIMIT} characters.`,
        )
      const chatType = input.chat_type === 'public' ? 'public' : 'private'
      if (chatType === 'public' && [...name].length < 2)
        throw new ApiError(400, 232020, 'The name of a public chat must be at least 2 characters.')
      const members = input.user_id_list ?? []
      if (!Array.isArray(members) || members.length > SANDBOX_LIMITS.createChatUsers)
        throw new ApiError(
          400,
          232001,
          `user_id_list takes at most ${SANDBOX_LIMITS.createChatUsers} ids.`,
        )
      const resolved = this.resolveUsers(members, idType)
      if (resolved.missing.length)
        throw new ApiError(400, 232043, 'Your request contains unavailable ids.', {
          details: resolved.missing.map((v) => ({ key: 'user_id_list', value: v })),
        })
      if (resolved.invalid.length) throw new ApiError(400, 232022, 'User has already resigned.')
      let owner: SandboxChat['owner'] = { type: 'app', id: this.appId }
      if (ownerId) {
        const user = this.state.userBy(idType, ownerId)
        if (!user)
          throw new ApiError(400, 232032, 'The owner is not in the same tenant or does not exist.')
        owner = { type: 'user', id: user.open_id }
      }
      const chat: SandboxChat = {
        chat_id: newId('oc_'),
        name,
        description: typeof input.description === 'string' ? input.description : '',
        owner,
        members: new Set(),
        bots: new Set([this.appId]),
        botManagers: new Set(
          owner.type === 'user' && url.searchParams.get('set_bot_manager') === 'true'
            ? [this.appId]
            : [],
        ),
        chat_type: chatType,
        status: 'normal',
        created_at: now,
        names: [{ name, at: now }],
        urgent_setting: input.urgent_setting === 'only_owner' ? 'only_owner' : 'all_members',
        at_all_permission: 'all_members',
      }
      if (owner.type === 'user') chat.members.add(owner.id)
      this.state.chats.set(chat.chat_id, chat)
      this.state.addSystemMessage(chat.chat_id, now, '{from_user} created this group.', {
        from_user: [this.appName],
      })
      this.addToChat(chat, resolved.valid)
      if (uuid)
        this.state.chatUuids.set(`${uuid}|${ownerId ?? ''}`, { chat_id: chat.chat_id, at: now })
      return this.chatInfo(chat)
    },

    getChat: ({ params }) => {
      const chat = this.chatFor(params.chat_id!, false)
      if (!chat.bots.has(this.appId)) {
        return {
          name: chat.name,
          avatar: '',
          user_count: String(chat.members.size),
          chat_status: chat.status,
        }
      }
      return this.chatInfo(chat)
    },

    updateChat: ({ params, body }) => {
      const chat = this.chatFor(params.chat_id!, true)
      const input = parseJson(body) as Record<string, unknown>
      const now = this.now()
      if (input.name !== undefined) {
        if (typeof input.name !== 'string') throw fieldError('name', 'name must be a string')
        if ([...input.name].length > CHAT_NAME_LIMIT)
          throw new ApiError(
            400,
            232001,
            `Your request contains an invalid request parameter: name is longer than ${CHAT_NAME_LIMIT} characters.`,
          )
        if (input.name !== chat.name) {
          chat.name = input.name
          chat.names.push({ name: input.name, at: now })
          this.state.addSystemMessage(
            chat.chat_id,
            now,
            '{from_user} changed the group name to {group_name}',
            {
              from_user: [this.appName],
              group_name: [input.name],
            },
          )
        }
      }
      if (input.description !== undefined) {
        if (typeof input.description !== 'string')
          throw fieldError('description', 'description must be a string')
        chat.description = input.description
      }
      return {}
    },

    listChats: ({ url }) => {
      const sort = url.searchParams.get('sort_type') ?? 'ByCreateTimeAsc'
      if (sort !== 'ByCreateTimeAsc' && sort !== 'ByActiveTimeDesc')
        throw fieldError('sort_type', 'unknown sort_type')
      const chats = [...this.state.chats.values()].filter(
        (c) => c.bots.has(this.appId) && c.status === 'normal',
      )
      if (sort === 'ByActiveTimeDesc') chats.reverse()
      return this.paginate(
        chats.map((c) => this.chatSummary(c)),
        url,
        20,
        100,
      )
    },

    searchChats: ({ url }) => {
      const query = (url.searchParams.get('query') ?? '').toLowerCase()
      if (!query || query.length > 64) return { items: [], has_more: false }
      const chats = [...this.state.chats.values()].filter(
        (c) =>
          c.status === 'normal' &&
          (c.bots.has(this.appId) || c.chat_type === 'public') &&
          (c.name.toLowerCase().includes(query) ||
            [...c.members].some((m) => this.state.userName(m).toLowerCase().includes(query))),
      )
      return this.paginate(
        chats.map((c) => this.chatSummary(c)),
        url,
        20,
        100,
      )
    },

    addMembers: ({ url, params, body }) => {
      const chat = this.chatFor(params.chat_id!, true)
      const idType = this.idType(
        url.searchParams.get('member_id_type'),
        'member_id_type',
        ['open_id', 'union_id', 'user_id', 'app_id'],
        'open_id',
      )
      const succeedType = Number(url.searchParams.get('succeed_type') ?? 0)
      const input = parseJson(body) as { id_list?: unknown }
      if (!Array.isArray(input.id_list) || input.id_list.length === 0)
        throw new ApiError(400, 232001, 'id_list must not be empty.')
      if (input.id_list.length > SANDBOX_LIMITS.addMemberIds)
        throw new ApiError(400, 232001, `id_list takes at most ${SANDBOX_LIMITS.addMemberIds} ids.`)
      if (idType === 'app_id') {
        for (const id of input.id_list as string[]) chat.bots.add(id)
        return { invalid_id_list: [], not_existed_id_list: [], pending_approval_id_list: [] }
      }
      const { valid, invalid, missing } = this.resolveUsers(input.id_list, idType)
      const missingCode =
        idType === 'open_id' ? 99992351 : idType === 'user_id' ? 99992360 : 99992364
      if (succeedType === 0 && missing.length)
        throw new ApiError(400, missingCode, `The ${idType} does not exist: ${missing.join(',')}`)
      if (succeedType === 2 && (missing.length || invalid.length))
        throw new ApiError(400, 232043, 'Your request contains unavailable ids.', {
          invalid_id_list: invalid,
          not_existed_id_list: missing,
        })
      if (valid.length === 0 && succeedType !== 1)
        throw new ApiError(400, 232027, 'No valid members.')
      this.addToChat(chat, valid)
      return {
        invalid_id_list: invalid,
        not_existed_id_list: missing,
        pending_approval_id_list: [],
      }
    },

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
      return this.postAsBot(input, () => {
        if (receiveIdType === 'chat_id') return this.chatFor(receiveId, true, 230002)
        const user = this.state.userBy(receiveIdType, receiveId)
        if (!user)
          throw new ApiError(
            400,
            receiveIdType === 'open_id' ? 99992351 : 230034,
            `Invalid receive_id: ${receiveIdType} ${receiveId} does not exist.`,
          )
        if (user.status !== 'active') throw new ApiError(400, 230029, 'The user has resigned.')
        return this.p2pChat(user.open_id)
      })
    },

    replyMessage: ({ params, body }) => {
      const parent = this.messageFor(params.message_id!)
      const input = parseJson(body) as Record<string, unknown>
      return this.postAsBot(input, () => this.chatFor(parent.chat_id, true, 230002), parent)
    },

    patchMessage: ({ params, body }) => {
      const message = this.messageFor(params.message_id!)
      if (message.sender.id !== this.appId)
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
      const chat = this.chatFor(message.chat_id, true, 230002)
      if (this.now() - message.create_time > PATCH_WINDOW_MS)
        throw new ApiError(400, 230031, 'The message is older than 14 days and cannot be updated.')
      const input = parseJson(body) as Record<string, unknown>
      const rendered = this.inspectContent('interactive', input.content, chat)
      const before = JSON.parse(message.content) as { schema?: string }
      const after = JSON.parse(input.content as string) as { schema?: string }
      if (before.schema === '2.0' && after.schema !== '2.0')
        throw new ApiError(
          400,
          230099,
          'Failed to create card content, ext=ErrCode: 200830; ErrMsg: a JSON 2.0 card cannot be updated to JSON 1.0;',
        )
      this.limitMessage('patch', message.message_id)
      message.content = input.content as string
      message.mentions = rendered.mentions
      message.links = rendered.links
      message.patches++
      message.update_time = this.now()
      return {}
    },

    listMessages: ({ url }) => {
      const containerType = this.idType(
        url.searchParams.get('container_id_type'),
        'container_id_type',
        ['chat', 'thread'],
      )
      const containerId = url.searchParams.get('container_id')
      if (!containerId) throw fieldError('container_id', 'container_id is required')
      if (containerType === 'thread') return { items: [], has_more: false }
      const chat = this.chatFor(containerId, true, 230002)
      if (!this.scopes.has(GROUP_HISTORY_SCOPE))
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
      let list = this.state.messagesIn(chat.chat_id).filter((m) => !m.parent_id)
      if (start) list = list.filter((m) => m.create_time >= Number(start) * 1000)
      if (end) list = list.filter((m) => m.create_time <= Number(end) * 1000)
      list = [...list].sort((a, b) => a.create_time - b.create_time)
      if (sort === 'ByCreateTimeDesc') list.reverse()
      return this.paginate(
        list.map((m) => this.messageView(m)),
        url,
        20,
        50,
      )
    },

    uploadImage: async ({ req, body }) => {
      const contentType = req.headers['content-type'] ?? ''
      if (!contentType.startsWith('multipart/form-data'))
        throw new ApiError(
          400,
          234001,
          'Invalid request param: the body must be multipart/form-data.',
        )
      let form: Map<string, Part>
      try {
        form = parseMultipart(body, contentType)
      } catch (error) {
        throw new ApiError(
          400,
          234001,
          `Invalid request param: malformed multipart body (${errorMessage(error)}).`,
        )
      }
      const imageType = form.get('image_type')?.data.toString('utf8')
      if (imageType !== 'message' && imageType !== 'avatar')
        throw new ApiError(
          400,
          234001,
          'Invalid request param: image_type must be message or avatar.',
        )
      const bytes = form.get('image')?.data
      if (!bytes) throw new ApiError(400, 234001, 'Invalid request param: image is required.')
      if (bytes.length === 0) throw new ApiError(400, 234010, 'File size is zero.')
      if (bytes.length > 10 * 1024 * 1024)
        throw new ApiError(400, 234006, 'The image exceeds the 10 MB limit.')
      const format = imageFormat(bytes)
      if (!format) throw new ApiError(400, 234011, 'Unsupported image format.')
      const key = newId('img_v3_')
      this.state.images.set(key, {
        image_key: key,
        image_type: imageType,
        bytes,
        format,
        app_id: this.appId,
      })
      return { image_key: key }
    },

    pinMessage: ({ body }) => {
      const input = parseJson(body) as { message_id?: unknown }
      if (typeof input.message_id !== 'string')
        throw fieldError('message_id', 'message_id is required')
      const message = this.messageFor(input.message_id)
      this.chatFor(message.chat_id, true, 230002)
      this.limitMessage('pin', message.message_id)
      let pin = this.state.pins.get(message.message_id)
      if (!pin) {
        pin = {
          message_id: message.message_id,
          chat_id: message.chat_id,
          create_time: this.now(),
          operator: this.appId,
        }
        this.state.pins.set(message.message_id, pin)
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
      const chat = this.chatFor(chatId, true, 230002)
      const pins = [...this.state.pins.values()]
        .filter((p) => p.chat_id === chat.chat_id)
        .sort((a, b) => b.create_time - a.create_time)
        .map((p) => ({
          message_id: p.message_id,
          chat_id: p.chat_id,
          operator_id: p.operator,
          operator_id_type: 'app_id',
          create_time: String(p.create_time),
        }))
      return this.paginate(pins, url, 20, 50)
    },

    urgentApp: (ctx) => this.urgent('app', ctx),
    urgentSms: (ctx) => this.urgent('sms', ctx),
    urgentPhone: (ctx) => this.urgent('phone', ctx),

    getMessage: ({ params }) => {
      const message = this.messageFor(params.message_id!)
      this.chatFor(message.chat_id, true, 230002)
      return { items: [this.messageView(message)] }
    },

    getUser: ({ url, params }) => {
      const idType = this.idType(
        url.searchParams.get('user_id_type'),
        'user_id_type',
        ['open_id', 'union_id', 'user_id'],
        'open_id',
      )
      const user = this.state.userBy(idType, params.user_id!)
      if (!user)
        throw new ApiError(
          400,
          41050,
          'no user authority error: the user does not exist or is outside the app’s contact scope',
        )
      return {
        user: {
          open_id: user.open_id,
          union_id: user.union_id,
          user_id: user.user_id,
          name: user.name,
          en_name: user.name,
        },
      }
    },

    batchGetId: ({ url, body }) => {
      const idType = this.idType(
        url.searchParams.get('user_id_type'),
        'user_id_type',
        ['open_id', 'union_id', 'user_id'],
        'open_id',
      )
      const input = parseJson(body) as {
        emails?: unknown
        mobiles?: unknown
        include_resigned?: unknown
      }
      const emails = input.emails ?? []
      const mobiles = input.mobiles ?? []
      const most = SANDBOX_LIMITS.batchGetIdEach
      if (!Array.isArray(emails) || emails.length > most)
        throw fieldError('emails', `emails takes at most ${most} entries`)
      if (!Array.isArray(mobiles) || mobiles.length > most)
        throw fieldError('mobiles', `mobiles takes at most ${most} entries`)
      const pick = (kind: 'email' | 'mobile', value: string) => {
        const user = this.state.userBy(kind, value)
        const visible = user && (user.status === 'active' || input.include_resigned === true)
        const id = visible
          ? idType === 'open_id'
            ? user.open_id
            : idType === 'union_id'
              ? user.union_id
              : user.user_id
          : undefined
        return { [kind]: value, ...(id ? { user_id: id } : {}) }
      }
      return {
        user_list: [
          ...(emails as string[]).map((e) => pick('email', e)),
          ...(mobiles as string[]).map((m) => pick('mobile', m)),
        ],
      }
    },
  }

  /** urgent_app / urgent_sms / urgent_phone: only members of the message's chat are buzzed. */
  private urgent(kind: 'app' | 'sms' | 'phone', { url, params, body }: Ctx) {
    const message = this.messageFor(params.message_id!)
    if (message.sender.id !== this.appId)
      throw new ApiError(400, 230012, 'The bot is not the sender of this message.')
    const chat = this.chatFor(message.chat_id, true, 230002)
    const idType = this.idType(
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
      const user = this.state.userBy(idType, id)
      if (user && chat.members.has(user.open_id)) valid.push(user.open_id)
      else invalid.push(id)
    }
    if (valid.length === 0)
      throw new ApiError(
        400,
        230001,
        'Your request contains an invalid request parameter, ext=no valid user in user_id_list',
      )
    this.state.urgent.push({
      kind,
      message_id: message.message_id,
      user_ids: valid,
      at: this.now(),
    })
    return { invalid_user_id_list: invalid }
  }

  private messageFor(id: string): SandboxMessage {
    const message = this.state.messages.get(id)
    if (!message)
      throw new ApiError(
        400,
        230001,
        'Your request contains an invalid request parameter, ext=message_id not found',
      )
    return message
  }

  /** Send and reply: validation, the 1-hour uuid window, content checks, the per-chat limit. */
  private postAsBot(
    input: Record<string, unknown>,
    chatOf: () => SandboxChat,
    parent?: SandboxMessage,
  ) {
    if (typeof input.msg_type !== 'string') throw fieldError('msg_type', 'msg_type is required')
    const uuid = typeof input.uuid === 'string' ? input.uuid : undefined
    if (uuid !== undefined && (uuid.length === 0 || uuid.length > 50))
      throw fieldError('uuid', 'uuid must be 1-50 characters')
    const now = this.now()
    if (uuid) {
      const seen = this.state.messageUuids.get(uuid)
      const earlier =
        seen && now - seen.at < MESSAGE_UUID_WINDOW_MS && this.state.messages.get(seen.message_id)
      if (earlier) return this.messageView(earlier)
    }
    const chat = chatOf()
    const rendered = this.inspectContent(input.msg_type, input.content, chat)
    this.limitChat(chat.chat_id)
    const message = this.state.addMessage({
      message_id: newId('om_'),
      chat_id: chat.chat_id,
      msg_type: input.msg_type,
      content: input.content as string,
      sender: { id: this.appId, id_type: 'app_id', sender_type: 'app' },
      create_time: now,
      update_time: now,
      ...(parent
        ? { parent_id: parent.message_id, root_id: parent.root_id ?? parent.message_id }
        : {}),
      patches: 0,
      ...rendered,
      ...(uuid ? { uuid } : {}),
    })
    if (uuid) this.state.messageUuids.set(uuid, { message_id: message.message_id, at: now })
    return this.messageView(message)
  }

  /** The bot's one-to-one chat with a user, created on first use. */
  private p2pChat(openId: string): SandboxChat {
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
    }
    this.state.chats.set(chat.chat_id, chat)
    return chat
  }
}

function parseJson(body: Buffer): unknown {
  if (body.length === 0) return {}
  try {
    const value = JSON.parse(body.toString('utf8')) as unknown
    if (!value || typeof value !== 'object' || Array.isArray(value))
      throw new Error('not an object')
    return value
  } catch {
    throw new ApiError(400, 99992402, 'field validation failed', {
      field_violations: [{ field: 'body', description: 'the request body is not a JSON object' }],
    })
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BODY_BYTES) {
        reject(new Error('too large'))
        req.destroy()
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

/** Starts a sandbox on loopback and returns it; `sandbox.url` is the base URL for the client. */
export async function startSandbox(options: SandboxOptions = {}): Promise<FeishuSandbox> {
  const sandbox = new FeishuSandbox(options)
  await sandbox.listen()
  return sandbox
}
