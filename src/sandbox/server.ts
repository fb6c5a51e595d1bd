import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { errorMessage } from '../util/errors.js'
import { readBody, sendJson } from '../util/http.js'
import { ALERTMANAGER_PATH, AlertmanagerStandin } from './alertmanager.js'
import { ContentError } from './cards.js'
import {
  ApiError,
  frequencyLimit,
  type Handler,
  isLoopbackHost,
  MAX_BODY_BYTES,
  parseJson,
  type SandboxOptions,
} from './common.js'
import { SandboxContent } from './content.js'
import { control } from './control.js'
import { SandboxCore } from './core.js'
import { click, type EventTarget, react, say } from './events.js'
import type { Fault } from './faults.js'
import { attentionHandlers } from './handlers/attention.js'
import { chatHandlers } from './handlers/chats.js'
import { contactHandlers } from './handlers/contact.js'
import { documentHandlers } from './handlers/documents.js'
import { imageHandlers } from './handlers/images.js'
import { memberHandlers } from './handlers/members.js'
import { messageHandlers } from './handlers/messages.js'
import { FEISHU_LIMITS } from './limits.js'
import { LongConnection } from './longconn.js'
import { checkRequest } from './official.js'
import { matchRoute, type RouteName, SANDBOX_ROUTES } from './routes.js'

export { ALL_SCOPES, CHAT_NAME_LIMIT, type SandboxOptions } from './common.js'

export class FeishuSandbox extends SandboxCore {
  private server: Server | undefined
  /** Feishu's long-connection mode: events and callbacks over a WebSocket the app opens. */
  /** Silences for `/silence` when the sandbox runs without an Alertmanager of the user's. */
  readonly alertmanager = new AlertmanagerStandin(() => this.now())
  readonly longConnection = new LongConnection({
    appId: this.appId,
    appSecret: this.appSecret,
    url: () => this.url,
    ...(this.options.repushDelaysMs ? { repushDelaysMs: this.options.repushDelaysMs } : {}),
  })
  /** TCP connections accepted (to check that clients reuse them); what a bot may post and how it lands. */
  connections = 0
  readonly content = new SandboxContent(this)
  private readonly handlers: Partial<Record<RouteName, Handler>> = {
    ...chatHandlers(this),
    ...memberHandlers(this),
    ...messageHandlers(this, this.content),
    ...contactHandlers(this),
    ...imageHandlers(this),
    ...documentHandlers(this),
    ...attentionHandlers(this, { meetingArtifacts: this.options.meetingArtifacts ?? false }),
  }

  get url(): string {
    const a = this.server?.address() as AddressInfo | null
    if (!a) throw new Error('the sandbox is not listening')
    return `http://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`
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
    this.longConnection.attach(server)
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
    this.longConnection.close()
    await new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
  }

  /**
   * Where Feishu would deliver events and card callbacks for this app (the
   * receiver's /feishu/events), with the app's Encrypt Key and token.
   */
  events: EventTarget | undefined

  /** A user writes, reacts or clicks a card button (the event or callback goes to `events`). */
  say(chatId: string, openId: string, text: string, options: { mentionBot?: boolean } = {}) {
    return say(this, chatId, openId, text, options)
  }
  react = (messageId: string, openId: string, emojiType: string) =>
    react(this, messageId, openId, emojiType)
  click(messageId: string, openId: string, value: Record<string, unknown>) {
    return click(this, messageId, openId, value)
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sandbox')
    if (!isLoopbackHost(req.headers.host)) {
      sendJson(res, 403, { code: 403, msg: 'the sandbox answers only to loopback host names' })
      return
    }
    const logId = `${new Date(this.now()).toISOString().replace(/\D/g, '').slice(0, 14)}${randomBytes(8).toString('hex').toUpperCase()}`
    res.setHeader('x-tt-logid', logId)
    if (url.pathname.startsWith('/_sandbox/')) {
      await control(this, req, res, url)
      return
    }
    if (req.method === 'POST' && url.pathname === '/callback/ws/endpoint') {
      const body = await readBody(req, MAX_BODY_BYTES).catch(() => Buffer.alloc(0))
      let input: unknown
      try {
        input = JSON.parse(body.toString('utf8'))
      } catch {
        input = {}
      }
      this.reply(res, 200, this.longConnection.endpoint(input), logId)
      return
    }
    if (url.pathname === ALERTMANAGER_PATH || url.pathname.startsWith(`${ALERTMANAGER_PATH}/`))
      return this.alertmanager.handle(req, res, url.pathname)
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
      body = await readBody(req, MAX_BODY_BYTES)
    } catch {
      this.reply(res, 413, { code: 99992402, msg: 'request body too large' }, logId)
      return
    }

    const fault = this.faults.take(endpoint, url.pathname)
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
          if (limited) this.refuse(`api:${route.name}`)
          // Listing pins answers its own code for the same limit (50/s).
          if (limited && route.name === 'listPins')
            throw new ApiError(
              400,
              230048,
              'The request frequency of listing pins exceeds the limit.',
            )
          if (limited) throw frequencyLimit(limited)
        }
        const handler = this.handlers[route.name]
        if (!handler)
          throw new ApiError(404, 404, `404 page not found: ${req.method} ${url.pathname}`)
        const data = await handler({ req, url, params, body, appId })
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
    if (fault.kind === 'code') {
      this.reply(
        res,
        fault.status ?? 400,
        {
          code: fault.code ?? 230001,
          msg: fault.msg ?? 'refused (injected)',
          error: { log_id: logId },
        },
        logId,
      )
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
    sendJson(res, status, payload, headers)
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

  // ---------------------------------------------------------------- handlers
}

/** Starts a sandbox on loopback and returns it; `sandbox.url` is the base URL for the client. */
export async function startSandbox(options: SandboxOptions = {}): Promise<FeishuSandbox> {
  const sandbox = new FeishuSandbox(options)
  await sandbox.listen()
  return sandbox
}
