import { createHmac } from 'node:crypto'
import { Agent, type Dispatcher, type FormData, request } from 'undici'
import { type Logger, registerSecret, silentLogger } from '../util/log.js'
import { type Domain, resolveBaseUrl } from './domain.js'
import { ENDPOINTS, type EndpointName, fillPath } from './endpoints.js'
import {
  describeNetworkError,
  FeishuError,
  IN_FLIGHT_CODES,
  RATE_LIMIT_CODES,
  TOKEN_INVALID_CODES,
} from './errors.js'
import { DOCUMENTED_LIMITS, RateGate, type SharedQuota, type Ticket } from './ratelimit.js'
import { backoffDelay, DEFAULT_RETRY, type RetryPolicy, rateLimitDelay, sleep } from './retry.js'
import { callScope, priorityScope } from './scope.js'

/** The docx calls, paced together to the documents' 3 per second per app. */
const DOCX_ENDPOINTS = new Set<string>(['createDocument', 'convertMarkdown', 'insertBlocks'])

import { TokenCache } from './token.js'

export { DOMAINS, type Domain, resolveBaseUrl } from './domain.js'
export { countCalls, withPriority } from './scope.js'

/** What every call reports, for metrics and for counting calls per operation. */
export interface CallEvent {
  endpoint: EndpointName
  httpStatus: number | undefined
  /** Feishu's code; -1 for a network failure or a body that is not Feishu's envelope. */
  code: number
  attempt: number
  durationMs: number
  outcome: 'ok' | 'retry' | 'error'
}

export interface TransportOptions {
  appId: string
  appSecret: string
  domain?: Domain
  /** Per-attempt timeout. */
  timeoutMs?: number
  retry?: Partial<RetryPolicy>
  /** An undici dispatcher; by default a keep-alive Agent owned by the client. */
  dispatcher?: Dispatcher
  logger?: Logger
  onCall?: (event: CallEvent) => void
  /** Pace calls to Feishu's documented limits here (default); false leaves it to Feishu's refusals. */
  pace?: boolean
  /** For tests: a clock and a sleep. */
  now?: () => number
  sleep?: (ms: number) => Promise<void>
}

export interface CallSpec {
  endpoint: EndpointName
  params?: Record<string, string>
  query?: Record<string, string | number | boolean | undefined>
  /** The JSON body; a function is called when the call leaves the pacer (what is current then). */
  body?: unknown
  /**
   * Whether sending the request twice has the same effect as once: reads,
   * PUT/PATCH to a given state, pins, member adds, and creates that carry a
   * `uuid`. A non-idempotent call is never repeated after a failure that may
   * have reached Feishu (a timeout, a dropped connection, a 5xx).
   */
  idempotent: boolean
  /** The chat a reply lands in: replies count against the chat's 5 messages/s too. Not sent. */
  chatId?: string
}

interface Envelope {
  code?: unknown
  msg?: unknown
  data?: unknown
  error?: Record<string, unknown>
  tenant_access_token?: unknown
  expire?: unknown
}

export class FeishuTransport {
  readonly baseUrl: string
  readonly appId: string
  private readonly appSecret: string
  private readonly timeoutMs: number
  private readonly policy: RetryPolicy
  private readonly dispatcher: Dispatcher
  private readonly ownsDispatcher: boolean
  private readonly logger: Logger
  private readonly onCall: ((event: CallEvent) => void) | undefined
  private readonly now: () => number
  private readonly sleep: (ms: number) => Promise<void>
  private readonly tokens: TokenCache
  private readonly gate: RateGate | undefined

  constructor(options: TransportOptions) {
    if (!options.appId) throw new Error('Feishu app id is empty')
    if (!options.appSecret) throw new Error('Feishu app secret is empty')
    registerSecret(options.appSecret)
    this.appId = options.appId
    this.appSecret = options.appSecret
    this.baseUrl = resolveBaseUrl(options.domain ?? 'feishu')
    this.timeoutMs = options.timeoutMs ?? 10_000
    this.policy = { ...DEFAULT_RETRY, ...options.retry }
    this.ownsDispatcher = !options.dispatcher
    this.dispatcher =
      options.dispatcher ??
      new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 120_000, connections: 32 })
    this.logger = options.logger ?? silentLogger
    this.onCall = options.onCall
    this.now = options.now ?? Date.now
    this.sleep = options.sleep ?? sleep
    this.tokens = new TokenCache(() => this.fetchToken(), this.now)
    this.gate = options.pace === false ? undefined : new RateGate(this.now)
  }

  /**
   * A key for `purpose` derived from the app secret (HMAC-SHA256), so that
   * what this app writes (the war-room marker) cannot be forged by anyone
   * without the secret, while the secret itself never leaves this object.
   */
  deriveKey(purpose: string): Buffer {
    return createHmac('sha256', this.appSecret).update(`feishu-warroom:${purpose}`).digest()
  }

  /** Calls waiting in the pacer under `api:<endpoint>`, `chat:<id>` or `patch:<message>` (+1 if one now would wait). */
  backlog = (key: string): number => {
    const kind = key.startsWith('api:') ? 'api' : key.startsWith('chat:') ? 'perChat' : 'perMessage'
    return this.gate?.queued(key, DOCUMENTED_LIMITS[kind]) ?? 0
  }

  /** Waits for the per-chat / per-message limits, then the API's; stamped as it leaves, landed when answered. */
  private async pace(spec: CallSpec): Promise<Ticket[]> {
    if (!this.gate || spec.endpoint === 'token') return []
    const tickets: Ticket[] = []
    const priority = priorityScope.getStore() ?? 0
    const body = (spec.body ?? {}) as Record<string, unknown>
    const chat =
      spec.endpoint === 'sendMessage' &&
      spec.query?.receive_id_type === 'chat_id' &&
      typeof body.receive_id === 'string'
        ? body.receive_id
        : spec.endpoint === 'replyMessage'
          ? spec.chatId
          : undefined
    if (chat)
      tickets.push(await this.gate.acquire(`chat:${chat}`, DOCUMENTED_LIMITS.perChat, priority))
    if (spec.endpoint === 'patchMessage' && spec.params?.message_id)
      tickets.push(
        await this.gate.acquire(
          `patch:${spec.params.message_id}`,
          DOCUMENTED_LIMITS.perMessage,
          priority,
        ),
      )
    if (spec.endpoint === 'pinMessage' && typeof body.message_id === 'string')
      tickets.push(
        await this.gate.acquire(`pin:${body.message_id}`, DOCUMENTED_LIMITS.perMessage, priority),
      )
    // Documents: 3 calls a second per app across docx (its API pages), besides each API's own limit.
    if (DOCX_ENDPOINTS.has(spec.endpoint))
      tickets.push(await this.gate.acquire('docx', DOCUMENTED_LIMITS.docx, priority))
    tickets.push(await this.gate.acquire(`api:${spec.endpoint}`, DOCUMENTED_LIMITS.api, priority))
    this.gate.stamp(tickets)
    return tickets
  }

  /** Feishu's quota is per app: replicas count their calls in one place (the database) to stay inside it. */
  shareQuota(quota: SharedQuota): void {
    this.gate?.share(quota)
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close()
  }

  /** Calls an endpoint and returns its `data`. Throws FeishuError. */
  async call<T>(spec: CallSpec): Promise<T> {
    const envelope = await this.send(spec, true)
    return (envelope.data ?? {}) as T
  }

  private async fetchToken(): Promise<{ token: string; expireSeconds: number }> {
    const envelope = await this.send(
      {
        endpoint: 'token',
        body: { app_id: this.appId, app_secret: this.appSecret },
        idempotent: true,
      },
      false,
    )
    const token = envelope.tenant_access_token
    const expire = Number(envelope.expire)
    if (typeof token !== 'string' || !token) {
      throw new FeishuError({
        code: -1,
        msg: 'the token endpoint answered without tenant_access_token',
        endpoint: `POST ${ENDPOINTS.token.path}`,
      })
    }
    registerSecret(token)
    return { token, expireSeconds: Number.isFinite(expire) ? expire : 7200 }
  }

  private async send(spec: CallSpec, authenticated: boolean): Promise<Envelope> {
    const def = ENDPOINTS[spec.endpoint]
    const path = fillPath(def.path, spec.params)
    const label = `${def.method} ${def.path}`
    const url = new URL(this.baseUrl + path)
    for (const [k, v] of Object.entries(spec.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v))
    }
    const isForm = isFormData(spec.body)
    const started = this.now()
    let failures = 0
    let rateLimited = 0
    let refreshedToken = false

    for (let attempt = 1; ; attempt++) {
      const t0 = this.now()
      const headers: Record<string, string> = {}
      let token: string | undefined
      if (authenticated) {
        token = await this.tokens.get()
        headers.authorization = `Bearer ${token}`
      }
      if (spec.body !== undefined && !isForm)
        headers['content-type'] = 'application/json; charset=utf-8'
      const tickets = await this.pace(spec)
      const body = typeof spec.body === 'function' ? spec.body() : spec.body

      let status: number | undefined
      let envelope: Envelope | undefined
      let failure: FeishuError
      let waitMs: number
      if (authenticated) {
        const counter = callScope.getStore()
        if (counter) counter.count++
      }
      try {
        const res = await request(url, {
          method: def.method,
          headers,
          ...(body === undefined
            ? {}
            : { body: isForm ? (body as FormData) : JSON.stringify(body) }),
          dispatcher: this.dispatcher,
          headersTimeout: this.timeoutMs,
          bodyTimeout: this.timeoutMs,
          signal: AbortSignal.timeout(this.timeoutMs),
        })
        status = res.statusCode
        const text = await res.body.text()
        this.gate?.landed(tickets)
        const logId = header(res.headers, 'x-tt-logid') ?? header(res.headers, 'x-request-id')
        envelope = parseEnvelope(text)
        const code = envelope ? Number(envelope.code ?? 0) : -1
        if (envelope && code === 0 && status < 400) {
          this.report(spec.endpoint, status, 0, attempt, t0, 'ok')
          return envelope
        }
        failure = new FeishuError({
          code,
          msg: envelope
            ? String(envelope.msg ?? '')
            : `HTTP ${status} with a body that is not Feishu's JSON envelope: ${text.slice(0, 200)}`,
          httpStatus: status,
          logId: logId ?? (envelope?.error?.log_id as string | undefined),
          endpoint: label,
          endpointScopes: def.scopes,
          detail: envelope?.error,
          attempts: attempt,
        })
        if (authenticated && token && TOKEN_INVALID_CODES.has(code) && !refreshedToken) {
          // A token revoked or expired early: fetch a fresh one and send again once.
          refreshedToken = true
          this.tokens.invalidate(token)
          this.report(spec.endpoint, status, code, attempt, t0, 'retry')
          this.logger.debug('feishu token refused; refreshing', { endpoint: label, code })
          continue
        }
        if (status === 429 || RATE_LIMIT_CODES.has(code)) {
          // Refused before any effect: safe to repeat for every kind of call.
          rateLimited++
          if (rateLimited > this.policy.maxRateLimitRetries)
            throw this.fail(failure, spec, status, attempt, t0)
          waitMs = rateLimitDelay(
            header(res.headers, 'x-ogw-ratelimit-reset'),
            rateLimited,
            this.policy,
          )
        } else if (IN_FLIGHT_CODES.has(code)) {
          // The same uuid is being processed: asking again returns its result.
          failures++
          waitMs = backoffDelay(failures, this.policy)
        } else if (status >= 500 && spec.idempotent) {
          failures++
          waitMs = backoffDelay(failures, this.policy)
        } else {
          throw this.fail(failure, spec, status, attempt, t0)
        }
      } catch (error) {
        this.gate?.landed(tickets)
        if (error instanceof FeishuError) throw error
        failure = new FeishuError({
          code: -1,
          msg: isTimeout(error)
            ? `no answer within ${this.timeoutMs} ms (${describeNetworkError(error)})`
            : `network error: ${describeNetworkError(error)}`,
          endpoint: label,
          attempts: attempt,
          cause: error,
        })
        if (!spec.idempotent) {
          this.report(spec.endpoint, undefined, -1, attempt, t0, 'error')
          throw failure
        }
        failures++
        waitMs = backoffDelay(failures, this.policy)
      }

      if (
        failures >= this.policy.maxAttempts ||
        this.now() - started + waitMs > this.policy.maxElapsedMs
      ) {
        throw this.fail(failure, spec, status, attempt, t0)
      }
      this.report(spec.endpoint, status, failure.code, attempt, t0, 'retry')
      this.logger.debug('feishu call will be retried', {
        endpoint: label,
        code: failure.code,
        status,
        attempt,
        waitMs,
      })
      await this.sleep(waitMs)
    }
  }

  private fail(
    error: FeishuError,
    spec: CallSpec,
    status: number | undefined,
    attempt: number,
    t0: number,
  ): FeishuError {
    this.report(spec.endpoint, status, error.code, attempt, t0, 'error')
    return error
  }

  private report(
    endpoint: EndpointName,
    httpStatus: number | undefined,
    code: number,
    attempt: number,
    t0: number,
    outcome: CallEvent['outcome'],
  ): void {
    this.onCall?.({ endpoint, httpStatus, code, attempt, durationMs: this.now() - t0, outcome })
  }
}

function parseEnvelope(text: string): Envelope | undefined {
  try {
    const value = JSON.parse(text) as unknown
    if (value && typeof value === 'object' && !Array.isArray(value) && 'code' in value)
      return value as Envelope
  } catch {
    // not JSON: a proxy's HTML page, an empty 502, …
  }
  return undefined
}

function header(
  headers: Record<string, string | string[] | undefined>,
  name: string,
): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value[0] : value
}

function isTimeout(error: unknown): boolean {
  const e = error as { name?: string; code?: string } | undefined
  return (
    e?.name === 'TimeoutError' ||
    e?.code === 'UND_ERR_HEADERS_TIMEOUT' ||
    e?.code === 'UND_ERR_BODY_TIMEOUT' ||
    e?.code === 'UND_ERR_CONNECT_TIMEOUT'
  )
}

function isFormData(body: unknown): boolean {
  return (
    typeof body === 'object' &&
    body !== null &&
    (body as { [Symbol.toStringTag]?: string })[Symbol.toStringTag] === 'FormData'
  )
}
