import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { AlertAdapterOptions } from '../../adapters/alertmanager.js'
import type { CommandTable } from '../commands/table.js'
import type { Config } from '../config/config.js'
import { classify } from '../core/failures.js'
import { resultJson } from '../core/result-json.js'
import type { WarRoom, WarRoomResult } from '../core/warroom.js'
import { adapterOptions, intake } from '../intake/intake.js'
import type { TimelineArchive } from '../render/timeline.js'
import type { JobQueue } from '../store/jobs.js'
import { hashKey, type IncidentRecord } from '../store/store.js'
import { HttpError, parseJsonBody, readBody, sendJson, sendText } from '../util/http.js'
import type { Logger } from '../util/log.js'
import { checkGrafanaSignature, checkReadAuth, checkWebhookAuth } from './auth.js'
import { capWaitingPerAddress } from './connections.js'
import { EscalationRunner } from './escalations.js'
import { postGrafanaTest } from './grafana-test.js'
import { HEARTBEAT, Heartbeats } from './heartbeats.js'
import { Interactions } from './interactions.js'
import type { Metrics } from './metrics.js'
import { PagerDutyEndpoint } from './pagerduty.js'
import { Refusals } from './refusals.js'
import { FileTimelines } from './timeline-files.js'
import { DISSOLVE, Timelines } from './timelines.js'

/** Extra routes mounted by the CLI (the sandbox page, timelines). */
export type ExtraHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
) => Promise<boolean> | boolean

export interface ReceiverOptions {
  config: Config
  warroom: WarRoom
  logger: Logger
  metrics: Metrics
  now?: () => number
  extra?: ExtraHandler
  /** Time a card callback may take before answering with a toast alone (Feishu allows 3 s). */
  callbackBudgetMs?: number
  /** Where timelines are kept (files under data_dir/timelines by default). */
  archive?: TimelineArchive
  /** A shared job queue: reviews are claimed once across replicas. */
  jobs?: JobQueue
  /** The chat commands and card buttons (default: src/commands/index.ts). */
  commands?: CommandTable
}

/**
 * The receiver: a thin node:http layer that authenticates, validates and
 * translates webhooks, then hands incidents to the war room. Alertmanager
 * retries only on 5xx, so a transient Feishu failure answers 503 and the
 * retry redoes the work (the uuids keep it from doubling).
 */
export class Receiver {
  private server: Server | undefined
  private inFlight = 0
  private closing = false
  private readonly now: () => number
  private readonly adapterOptions: AlertAdapterOptions
  private readonly timelines: Timelines
  private readonly archive: TimelineArchive
  private readonly escalations: EscalationRunner
  private readonly pagerduty: PagerDutyEndpoint
  private readonly heartbeats: Heartbeats
  /** What keeps the receiver from being ready, if anything (GET /readyz answers 503 with it). */
  readiness: (() => Promise<string | undefined> | string | undefined) | undefined

  /** Feishu events and card callbacks, from /feishu/events or the long connection. */
  readonly interactions: Interactions
  /**
   * Repeat fast path: the hash of a body already handled, with the incident
   * version it left behind. The same bytes while that version still stands
   * cannot change anything, so they are answered without parsing.
   */
  private readonly handled = new Map<string, { keyHash: string; version: number }>()
  /** Notifications Feishu refused for good: listed by /readyz, counted, logged with the fix. */
  readonly refusals: Refusals

  constructor(private readonly options: ReceiverOptions) {
    this.now = options.now ?? Date.now
    this.refusals = new Refusals(this.now)
    this.adapterOptions = adapterOptions(options.config)
    this.archive =
      options.archive ?? new FileTimelines(join(options.config.server.data_dir, 'timelines'))
    this.timelines = new Timelines({
      warroom: options.warroom,
      logger: options.logger,
      archive: this.archive,
      ...(options.jobs ? { jobs: options.jobs } : {}),
    })
    this.heartbeats = new Heartbeats({ ...options, jobs: options.warroom.jobs(), now: this.now })
    this.escalations = new EscalationRunner({
      warroom: options.warroom,
      jobs: options.warroom.jobs(),
      logger: options.logger,
      onResult: (result) => this.timelines.afterResolution(result),
      handlers: {
        [HEARTBEAT]: (job) => this.heartbeats.due(job),
        [DISSOLVE]: async ({ data }) => {
          await options.warroom.archive({ chatId: String(data.chatId) }, Number(data.resolvedAt))
        },
      },
    })
    this.pagerduty = new PagerDutyEndpoint({ ...options, timelines: this.timelines })
    this.interactions = new Interactions({
      config: options.config,
      warroom: options.warroom,
      logger: options.logger,
      metrics: options.metrics,
      timelines: this.timelines,
      now: this.now,
      ...(options.commands ? { commands: options.commands } : {}),
      ...(options.callbackBudgetMs !== undefined
        ? { callbackBudgetMs: options.callbackBudgetMs }
        : {}),
    })
  }

  /** After a restart: finishes the timelines and summaries a crash cut short. */
  async recoverTimelines(records: IncidentRecord[]): Promise<number> {
    if (this.archive instanceof FileTimelines) await this.archive.clean()
    return this.timelines.recover(records, this.now())
  }

  get url(): string {
    const a = this.server?.address() as AddressInfo | null
    if (!a) throw new Error('the receiver is not listening')
    return `http://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`
  }

  async listen(host: string, port: number): Promise<string> {
    // The slow-header defence is time: headers within 10 s (server.headers_timeout), a request within 60 s, checked
    // every second (Node checks every 30 s by default); connections in all are bounded.
    const server = createServer({ connectionsCheckingInterval: 1000 }, (req, res) => {
      void this.handle(req, res)
    })
    server.requestTimeout = 60_000
    server.headersTimeout = this.options.config.server.headers_timeout
    server.keepAliveTimeout = 5_000
    server.maxConnections = this.options.config.server.max_connections
    capWaitingPerAddress(server, this.options.config.server.max_connections_per_ip, () =>
      this.options.metrics.webhooks.inc({ source: 'connection', outcome: 'over_ip_cap' }),
    )
    this.server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) => {
        this.server = undefined
        reject(error)
      })
      server.listen(port, host, () => resolve())
    })
    this.timelines.start()
    await this.heartbeats.start()
    this.escalations.start()
    return this.url
  }

  /** Stops accepting, lets in-flight requests and incident work finish, then closes. */
  async close(): Promise<void> {
    this.closing = true
    const server = this.server
    if (!server) return
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    server.closeIdleConnections()
    while (this.inFlight > 0) await new Promise((r) => setTimeout(r, 20))
    await this.escalations.stop()
    await this.options.warroom.idle()
    await this.timelines.idle()
    // Everything answered: drop the kept-alive connections instead of waiting for their timeout.
    server.closeAllConnections()
    await closed
    this.server = undefined
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.inFlight++
    const url = new URL(req.url ?? '/', 'http://receiver')
    try {
      if (this.closing) {
        res.setHeader('connection', 'close')
        throw new HttpError(503, 'shutting down')
      }
      await this.route(req, res, url)
    } catch (error) {
      this.fail(res, error, url.pathname)
    } finally {
      this.inFlight--
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname.replace(/\/+$/, '') || '/'
    const method = req.method ?? 'GET'
    if (path === '/healthz') return sendJson(res, 200, { status: 'ok' })
    if (path === '/readyz') {
      // Ready to take work: what can be checked says so (the long connection, when used).
      // Refusals do not make it unready (a restart cannot fix a scope), but they are listed.
      const problem = await this.readiness?.()
      const refused = this.refusals.current()
      return sendJson(res, problem ? 503 : 200, {
        ...(problem ? { status: 'not ready', problem } : { status: 'ready' }),
        ...(refused.length ? { refused } : {}),
      })
    }
    if (path === '/metrics' && method === 'GET') {
      if (this.options.config.server.metrics_auth) checkWebhookAuth(req, this.options.config.auth)
      return sendText(
        res,
        200,
        await this.options.metrics.registry.metrics(),
        this.options.metrics.registry.contentType,
      )
    }
    if (path === '/alertmanager') return this.webhook(req, res, 'alertmanager', ['POST'])
    if (path === '/grafana') return this.webhook(req, res, 'grafana', ['POST', 'PUT'])
    if (path === '/incidents') return this.webhook(req, res, 'generic', ['POST'])
    if (path === '/v2/enqueue' || path === '/pagerduty/v2/enqueue')
      return this.pagerduty.handle(req, res)
    if (path === '/v2/change/enqueue' || path === '/pagerduty/v2/change/enqueue')
      return this.pagerduty.change(req, res)
    const heartbeat = /^\/heartbeat\/([A-Za-z0-9_.-]{1,64})$/.exec(path)
    if (heartbeat) return this.heartbeats.handle(req, res, heartbeat[1]!)
    const timeline = /^\/incidents\/(.+)\/timeline$/.exec(url.pathname)
    if (timeline) {
      if (method !== 'GET') throw new HttpError(405, 'use GET', { allow: 'GET' })
      checkReadAuth(req, this.options.config.auth)
      let key: string
      try {
        key = decodeURIComponent(timeline[1]!)
      } catch {
        throw new HttpError(400, 'the incident key in the path is not valid percent-encoding')
      }
      return this.timelines.serve(req, res, key)
    }
    if (path === '/feishu/events') {
      // Over the long connection events need no URL; one left open and unverified is a forgery door.
      const { feishu } = this.options.config
      if (feishu.event_mode === 'websocket' && !feishu.encrypt_key && !feishu.verification_token)
        throw new HttpError(
          404,
          'events arrive over the long connection (feishu.event_mode: websocket)',
        )
      if (method !== 'POST') throw new HttpError(405, 'use POST', { allow: 'POST' })
      return this.interactions.handle(req, res)
    }
    if (this.options.extra && (await this.options.extra(req, res, url))) return
    throw new HttpError(404, `no route ${method} ${path}`)
  }

  private fail(res: ServerResponse, error: unknown, path: string): void {
    if (error instanceof HttpError) {
      sendJson(res, error.status, { error: error.message }, error.headers)
      if (error.status === 413) res.once('finish', () => res.req.socket?.destroy())
      return
    }
    this.options.logger.error('request failed', {
      path,
      error: (error instanceof Error && error.stack) || String(error),
    })
    sendJson(res, 500, { error: 'internal error' })
  }

  // -------------------------------------------------------------- webhooks

  private async webhook(
    req: IncomingMessage,
    res: ServerResponse,
    source: 'alertmanager' | 'grafana' | 'generic',
    methods: string[],
  ): Promise<void> {
    const { metrics, config, logger } = this.options
    const stop = metrics.handling.startTimer({ source })
    const count = (outcome: string) => metrics.webhooks.inc({ source, outcome })
    let incidentKey = ''
    try {
      if (!methods.includes(req.method ?? ''))
        throw new HttpError(405, `use ${methods.join(' or ')}`, { allow: methods.join(', ') })
      checkWebhookAuth(req, config.auth)
      const raw = await readBody(req, config.server.body_limit_bytes)
      if (source === 'grafana') checkGrafanaSignature(req, raw, config.grafana, this.now)
      const digest = `${source}:${createHash('sha256').update(raw).digest('base64')}`
      const seen = this.handled.get(digest)
      if (seen && (await this.options.warroom.recordVersion(seen.keyHash)) === seen.version) {
        count('none')
        // Kept short: this is the path an Alertmanager repeat or an HA peer's copy takes.
        return sendJson(res, 200, { action: 'none', reason: 'repeat' })
      }
      const body = parseJsonBody(raw, req.headers['content-type'])
      const taken = intake(source, body, config, this.adapterOptions)
      if ('grafanaTest' in taken) {
        count('test')
        return sendJson(res, 200, {
          action: 'none',
          reason: await postGrafanaTest(taken.grafanaTest, this.options),
        })
      }
      incidentKey = taken.incident.key
      const result = await this.options.warroom.handle(taken.incident)
      this.timelines.afterResolution(result)
      this.remember(digest, result)
      count(result.action)
      if (result.action !== 'none')
        logger.info('webhook handled', {
          source,
          key: result.key,
          action: result.action,
          chatId: result.chatId,
          feishuCalls: result.feishuCalls,
        })
      if (result.empty)
        logger.error('the war room opened with nobody in it', {
          key: result.key,
          chatId: result.chatId,
          failed: result.failedMembers.map((m) => m.id),
        })
      return sendJson(res, 200, resultJson(result))
    } catch (error) {
      if (error instanceof HttpError) {
        count(
          error.status === 401
            ? 'unauthorized'
            : error.status === 413
              ? 'too_large'
              : 'bad_request',
        )
        throw error
      }
      const failure = classify(error)
      if (failure.class === 'busy') {
        // Too many new war rooms this minute. Alertmanager's webhook notifier retries only 5xx
        // (and ignores Retry-After), so it gets 503; everyone else the proper 429.
        count('throttled')
        throw new HttpError(source === 'alertmanager' ? 503 : 429, failure.message, {
          'retry-after': String(failure.retryAfterSeconds),
        })
      }
      if (failure.class === 'store_unavailable') {
        // The database is down or an incident is busy in another replica: Alertmanager retries 5xx.
        count('store_unavailable')
        logger.error('the store is unavailable', { source, error: failure.message })
        throw new HttpError(503, failure.message, { 'retry-after': '5' })
      }
      if (failure.class === 'bad_input') {
        count('bad_request')
        throw new HttpError(400, failure.message)
      }
      if (failure.feishu) {
        const transient = failure.class === 'feishu_transient'
        count(transient ? 'feishu_retry' : 'feishu_error')
        if (transient)
          logger.error('Feishu failed the incident; the sender will retry', {
            source,
            error: failure.message,
          })
        else {
          const key = incidentKey
          const refusal = this.refusals.record(source, key, failure.feishu)
          metrics.refused.inc({ source, code: String(failure.feishu.code) })
          logger.error(
            'Feishu refused the notification for good; the sender will not retry it (listed on /readyz until fixed)',
            { source, key, code: failure.feishu.code, fix: refusal.fix, error: failure.message },
          )
        }
        // 5xx makes Alertmanager retry: right for a passing fault, useless for a permission problem.
        return sendJson(res, transient ? 503 : 200, {
          action: 'failed',
          error: failure.message,
          code: failure.feishu.code,
        })
      }
      count('error')
      throw error
    } finally {
      stop()
    }
  }

  /** The version this body left: read from the result, not the store (another replica may have moved on). */
  private remember(digest: string, result: WarRoomResult): void {
    const keyHash = hashKey(result.key)
    const version = result.version
    if (version === undefined || !result.key) return
    if (this.handled.size >= 10_000) this.handled.delete(this.handled.keys().next().value!)
    this.handled.set(digest, { keyHash, version })
  }
}
