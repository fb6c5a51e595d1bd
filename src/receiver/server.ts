import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, rename, rm, stat } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import {
  type AlertAdapterOptions,
  AlertmanagerSchema,
  alertmanagerIncident,
} from '../../adapters/alertmanager.js'
import { GrafanaSchema, grafanaIncident, isGrafanaTest } from '../../adapters/grafana.js'
import type { Config } from '../config.js'
import { FeishuError } from '../feishu/errors.js'
import { describeZodError, IncidentError, type IncidentInput, parseIncident } from '../incident.js'
import type { Logger } from '../log.js'
import type { Metrics } from '../metrics.js'
import { resultJson } from '../result-json.js'
import { route, routeIncident } from '../routing.js'
import { hashKey } from '../store.js'
import type { TimelineSink } from '../timeline.js'
import type { WarRoom, WarRoomResult } from '../warroom.js'
import { checkGrafanaSignature, checkWebhookAuth } from './auth.js'
import {
  type Command,
  type EventJson,
  EventRejected,
  openDelivery,
  parseCommand,
  SeenIds,
} from './feishu-events.js'
import { HttpError, parseJsonBody, readBody, sendJson, sendText } from './http.js'

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
}

const TOASTS = {
  zh: {
    ack: '已确认',
    resolve: '已标记解决',
    none: '无需操作',
    failed: '操作失败，请稍后重试',
    pending: '处理中…',
  },
  en: {
    ack: 'Acknowledged',
    resolve: 'Resolved',
    none: 'Nothing to do',
    failed: 'Failed, try again shortly',
    pending: 'Working on it…',
  },
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
  private readonly seenEvents = new SeenIds()
  private readonly now: () => number
  private readonly adapterOptions: Omit<AlertAdapterOptions, 'members' | 'severityOverride'>
  /**
   * Repeat fast path: the hash of a body already handled, with the incident
   * version it left behind. The same bytes while that version still stands
   * cannot change anything, so they are answered without parsing.
   */
  private readonly handled = new Map<string, { keyHash: string; version: number }>()
  /** Timelines being written after resolutions; close() waits for them. */
  private readonly background = new Set<Promise<void>>()

  constructor(private readonly options: ReceiverOptions) {
    this.now = options.now ?? Date.now
    const c = options.config
    this.adapterOptions = {
      severityLabel: c.severity.label,
      severityMap: Object.fromEntries(
        Object.entries(c.severity.map).map(([k, v]) => [k.toLowerCase(), v]),
      ),
      defaultSeverity: c.severity.default,
      language: c.warroom.language,
    }
  }

  get url(): string {
    const a = this.server?.address() as AddressInfo | null
    if (!a) throw new Error('the receiver is not listening')
    return `http://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`
  }

  async listen(host: string, port: number): Promise<string> {
    const server = createServer((req, res) => {
      void this.handle(req, res)
    })
    server.requestTimeout = 60_000
    server.headersTimeout = 20_000
    server.keepAliveTimeout = 5_000
    this.server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => resolve())
    })
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
    await this.options.warroom.idle()
    await Promise.all([...this.background])
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
    if (path === '/metrics' && method === 'GET') {
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
    const timeline = /^\/incidents\/(.+)\/timeline$/.exec(url.pathname)
    if (timeline) {
      if (method !== 'GET') throw new HttpError(405, 'use GET', { allow: 'GET' })
      checkWebhookAuth(req, this.options.config.auth)
      return this.serveTimeline(req, res, decodeURIComponent(timeline[1]!))
    }
    if (path === '/feishu/events') {
      if (method !== 'POST') throw new HttpError(405, 'use POST', { allow: 'POST' })
      return this.feishuEvent(req, res)
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
      error: (error as Error).stack ?? String(error),
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
    try {
      if (!methods.includes(req.method ?? ''))
        throw new HttpError(405, `use ${methods.join(' or ')}`, { allow: methods.join(', ') })
      checkWebhookAuth(req, config.auth)
      const raw = await readBody(req, config.server.body_limit_bytes)
      if (source === 'grafana') checkGrafanaSignature(req, raw, config.grafana, this.now)
      const digest = `${source}:${createHash('sha256').update(raw).digest('base64')}`
      const seen = this.handled.get(digest)
      if (seen && this.options.warroom.recordVersion(seen.keyHash) === seen.version) {
        count('none')
        // Kept short: this is the path an Alertmanager repeat or an HA peer's copy takes.
        return sendJson(res, 200, { action: 'none', reason: 'repeat' })
      }
      const body = parseJsonBody(raw, req.headers['content-type'])
      const incident = await this.toIncident(source, body)
      if ('test' in incident) {
        count('test')
        return sendJson(res, 200, { action: 'none', reason: incident.test })
      }
      const result = await this.options.warroom.handle(incident)
      this.afterResolution(result)
      this.remember(digest, result.key)
      count(result.action)
      if (result.action !== 'none')
        logger.info('webhook handled', {
          source,
          key: result.key,
          action: result.action,
          chatId: result.chatId,
          feishuCalls: result.feishuCalls,
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
      if (error instanceof IncidentError) {
        count('bad_request')
        throw new HttpError(400, error.message)
      }
      if (error instanceof FeishuError) {
        count(error.isTransient ? 'feishu_retry' : 'feishu_error')
        logger.error('Feishu refused the incident', { source, error: error.message })
        // 5xx makes Alertmanager retry: right for a passing fault, useless for a permission problem.
        return sendJson(res, error.isTransient ? 503 : 200, {
          action: 'failed',
          error: error.message,
          code: error.code,
        })
      }
      count('error')
      throw error
    } finally {
      stop()
    }
  }

  private remember(digest: string, key: string): void {
    const keyHash = hashKey(key)
    const version = this.options.warroom.recordVersion(keyHash)
    if (version === undefined) return
    if (this.handled.size >= 10_000) this.handled.delete(this.handled.keys().next().value!)
    this.handled.set(digest, { keyHash, version })
  }

  /** Validates a payload and turns it into an incident; for Grafana's test, what became of it. */
  private async toIncident(
    source: 'alertmanager' | 'grafana' | 'generic',
    body: unknown,
  ): Promise<IncidentInput | { test: string }> {
    const { config } = this.options
    if (source === 'generic') return routeIncident(parseIncident(body), config)
    const schema = source === 'alertmanager' ? AlertmanagerSchema : GrafanaSchema
    const parsed = schema.safeParse(body)
    if (!parsed.success) {
      const first = describeZodError(parsed.error)[0]!
      throw new HttpError(
        400,
        `invalid ${source} payload: ${first.path || '(root)'}: ${first.message}`,
      )
    }
    const payload = parsed.data
    const labels = { ...payload.groupLabels, ...payload.commonLabels }
    const routed = route(labels, config.routes, config.members)
    const options: AlertAdapterOptions = {
      ...this.adapterOptions,
      members: routed.members,
      ...(routed.severity ? { severityOverride: routed.severity } : {}),
    }
    if (source === 'grafana') {
      const grafana = payload as ReturnType<typeof GrafanaSchema.parse>
      if (isGrafanaTest(grafana)) return { test: await this.postGrafanaTest(grafana) }
      return grafanaIncident(grafana, options)
    }
    return alertmanagerIncident(payload as ReturnType<typeof AlertmanagerSchema.parse>, options)
  }

  /**
   * Grafana's "Test" button: posted to grafana.test_chat_id when set. Grafana
   * shows the answer in its test dialog, so a failure answers 502 with why.
   */
  private async postGrafanaTest(payload: ReturnType<typeof GrafanaSchema.parse>): Promise<string> {
    const chatId = this.options.config.grafana.test_chat_id
    if (!chatId)
      return 'Grafana test notification received; set grafana.test_chat_id to see test notifications in a chat'
    try {
      await this.options.warroom.postTest(
        chatId,
        `Grafana test notification from ${payload.receiver}: ${payload.alerts[0]?.annotations.summary ?? ''}`,
      )
      return `Grafana test notification posted to ${chatId}`
    } catch (error) {
      const message = `could not post the Grafana test notification to grafana.test_chat_id ${chatId}: ${errorText(error)}`
      this.options.logger.warn(message)
      throw new HttpError(502, message)
    }
  }

  // ---------------------------------------------------------- Feishu events

  private async feishuEvent(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { config, metrics, logger, warroom } = this.options
    const raw = await readBody(req, config.server.body_limit_bytes)
    let event: EventJson
    try {
      event = openDelivery(raw, req.headers, {
        ...(config.feishu.encrypt_key ? { encryptKey: config.feishu.encrypt_key } : {}),
        ...(config.feishu.verification_token
          ? { verificationToken: config.feishu.verification_token }
          : {}),
        maxSkewSeconds: 300,
        now: this.now,
      })
    } catch (error) {
      if (error instanceof EventRejected) {
        metrics.events.inc({ type: 'unknown', outcome: 'rejected' })
        throw new HttpError(error.status, error.message)
      }
      throw error
    }
    if (event.type === 'url_verification') {
      metrics.events.inc({ type: 'url_verification', outcome: 'ok' })
      return sendJson(res, 200, { challenge: String(event.challenge ?? '') })
    }
    const type: string =
      event.header?.event_type ??
      (event.action && event.open_message_id
        ? 'card.action.trigger_v1'
        : (event.event?.type ?? 'unknown'))
    const eventId: string | undefined = event.header?.event_id ?? event.uuid
    if (eventId && this.seenEvents.check(`e:${eventId}`, this.now())) {
      metrics.events.inc({ type, outcome: 'duplicate' })
      return sendJson(res, 200, {})
    }

    if (type === 'im.message.receive_v1') {
      const message = event.event?.message ?? {}
      if (message.message_id && this.seenEvents.check(`m:${message.message_id}`, this.now())) {
        metrics.events.inc({ type, outcome: 'duplicate' })
        return sendJson(res, 200, {})
      }
      const command = this.commandOf(event)
      sendJson(res, 200, {}) // answer now; Feishu wants 200 within 3 s
      if (!command) {
        metrics.events.inc({ type, outcome: 'ignored' })
        return
      }
      const by = { openId: event.event?.sender?.sender_id?.open_id as string | undefined }
      try {
        const result = await this.runCommand(
          command,
          { chatId: String(message.chat_id) },
          by,
          String(message.message_id),
        )
        metrics.events.inc({ type, outcome: result.action })
      } catch (error) {
        metrics.events.inc({ type, outcome: 'error' })
        logger.error('chat command failed', {
          op: command.op,
          chatId: message.chat_id,
          error: (error as Error).message,
        })
      }
      return
    }

    if (type === 'card.action.trigger' || type === 'card.action.trigger_v1') {
      const e = type === 'card.action.trigger' ? (event.event ?? {}) : event
      const value = (e.action?.value ?? {}) as { op?: string; k?: string }
      const chatId: string | undefined = e.context?.open_chat_id ?? e.open_chat_id
      const openId: string | undefined = e.operator?.open_id ?? e.open_id
      const op = value.op === 'ack' || value.op === 'resolve' ? value.op : undefined
      const toasts = TOASTS[config.warroom.language]
      if (!op) {
        metrics.events.inc({ type, outcome: 'ignored' })
        return sendJson(res, 200, {})
      }
      const clickKey = `c:${e.context?.open_message_id ?? e.open_message_id}:${openId}:${op}`
      if (this.seenEvents.check(clickKey, this.now()))
        return sendJson(res, 200, { toast: { type: 'info', content: toasts.none } })
      const ref =
        typeof value.k === 'string' && /^[0-9a-f]{32}$/.test(value.k)
          ? { keyHash: value.k }
          : { chatId: chatId ?? '' }
      const work = this.runCommand({ op }, ref, openId ? { openId } : {}, undefined)
      const budget = new Promise<'late'>((r) =>
        setTimeout(() => r('late'), this.options.callbackBudgetMs ?? 2500).unref(),
      )
      try {
        const result = await Promise.race([work, budget])
        if (result === 'late') {
          work.catch((error) =>
            logger.error('card action failed', { op, error: (error as Error).message }),
          )
          metrics.events.inc({ type, outcome: 'late' })
          return sendJson(res, 200, { toast: { type: 'info', content: toasts.pending } })
        }
        metrics.events.inc({ type, outcome: result.action })
        const card = result.action !== 'none' ? await warroom.cardFor(ref) : undefined
        const toast = {
          type: result.action === 'none' ? 'info' : 'success',
          content: result.action === 'none' ? (result.reason ?? toasts.none) : toasts[op],
        }
        // The legacy callback takes the new card's fields at the top level.
        if (type === 'card.action.trigger_v1') return sendJson(res, 200, { ...card, toast })
        return sendJson(res, 200, { toast, ...(card ? { card: { type: 'raw', data: card } } : {}) })
      } catch (error) {
        metrics.events.inc({ type, outcome: 'error' })
        logger.error('card action failed', { op, error: (error as Error).message })
        return sendJson(res, 200, { toast: { type: 'error', content: toasts.failed } })
      }
    }
    metrics.events.inc({ type, outcome: 'ignored' })
    return sendJson(res, 200, {})
  }

  // -------------------------------------------------------------- timelines

  private timelineDir(): string {
    return join(this.options.config.server.data_dir, 'timelines')
  }

  /**
   * After a resolution, in the background: the timeline to the data
   * directory (Markdown and JSON, written atomically) and the summary message.
   */
  private afterResolution(result: WarRoomResult): void {
    if (result.action !== 'resolved' || !result.chatId) return
    const { warroom, logger } = this.options
    const task = (async () => {
      const dir = this.timelineDir()
      await mkdir(dir, { recursive: true })
      const keyHash =
        (await warroom.find({ chatId: result.chatId! }))?.keyHash ?? hashKey(result.key)
      const files = (['md', 'json'] as const).map((ext) => {
        const path = join(dir, `${keyHash}.${ext}`)
        return {
          path,
          tmp: `${path}.${process.pid}.tmp`,
          format: ext === 'md' ? ('markdown' as const) : ('json' as const),
        }
      })
      const streams = files.map((f) => createWriteStream(f.tmp))
      const outputs = files.map((f, i) => ({ format: f.format, sink: streamSink(streams[i]!) }))
      try {
        const { warning } = await warroom.summarize({ chatId: result.chatId! }, outputs)
        await Promise.all(
          streams.map(
            (s) => new Promise<void>((r, j) => s.end((e?: Error | null) => (e ? j(e) : r()))),
          ),
        )
        if (warning) {
          logger.warn(warning, { key: result.key })
          for (const f of files) await rm(f.tmp, { force: true })
        } else for (const f of files) await rename(f.tmp, f.path)
      } catch (error) {
        for (const s of streams) s.destroy()
        logger.warn('could not write the timeline', {
          key: result.key,
          error: (error as Error).message,
        })
      }
    })()
    this.background.add(task)
    void task.finally(() => this.background.delete(task))
  }

  /** GET /incidents/<key or key hash>/timeline: Markdown, or JSON with Accept: application/json. */
  private async serveTimeline(
    req: IncomingMessage,
    res: ServerResponse,
    key: string,
  ): Promise<void> {
    const json = /application\/json/i.test(req.headers.accept ?? '')
    const keyHash = /^[0-9a-f]{32}$/.test(key) ? key : hashKey(key)
    const type = json ? 'application/json; charset=utf-8' : 'text/markdown; charset=utf-8'
    const file = join(this.timelineDir(), `${keyHash}.${json ? 'json' : 'md'}`)
    if (
      await stat(file).then(
        (s) => s.isFile(),
        () => false,
      )
    ) {
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' })
      createReadStream(file).pipe(res)
      return
    }
    const record = await this.options.warroom.find({ keyHash })
    if (!record) throw new HttpError(404, `no incident with key ${key.slice(0, 200)}`)
    // Not resolved yet (or written before a restart lost it): build it live from Feishu, streaming.
    res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' })
    try {
      await this.options.warroom.timeline({ keyHash }, [
        { format: json ? 'json' : 'markdown', sink: streamSink(res) },
      ])
      res.end()
    } catch (error) {
      this.options.logger.warn('timeline failed', { key, error: (error as Error).message })
      res.destroy()
    }
  }

  /** A text message in a group that is a command for us. */
  private commandOf(event: EventJson): Command | undefined {
    const message = event.event?.message ?? {}
    if (message.chat_type !== 'group' || message.message_type !== 'text') return undefined
    if (event.event?.sender?.sender_type && event.event.sender.sender_type !== 'user')
      return undefined
    let text = ''
    try {
      text = String(JSON.parse(String(message.content ?? '{}')).text ?? '')
    } catch {
      return undefined
    }
    // Without the all-group-messages scope Feishu only delivers messages that @mention the bot,
    // so any mention is taken as addressing it; "@bot ack" then works without the slash.
    const mentioned = Array.isArray(message.mentions) && message.mentions.length > 0
    return parseCommand(text, mentioned)
  }

  private async runCommand(
    command: Command,
    ref: { chatId: string } | { keyHash: string },
    by: { openId?: string },
    messageId: string | undefined,
  ): Promise<WarRoomResult> {
    const { warroom } = this.options
    if (command.op === 'status') {
      const record = await warroom.find(ref)
      if (messageId)
        await warroom.reply(
          messageId,
          record ? warroom.describe(record) : notAWarRoom(this.options.config.warroom.language),
        )
      return {
        action: 'none',
        key: record?.key ?? '',
        failedMembers: [],
        feishuCalls: 0,
        warnings: [],
      }
    }
    const result =
      command.op === 'ack'
        ? await warroom.acknowledge(ref, by)
        : await warroom.resolveBy(ref, by, command.note)
    if (result.action === 'none' && messageId) await warroom.reply(messageId, result.reason ?? '')
    // A person's resolution gets the timeline and the review summary too.
    this.afterResolution(result)
    return result
  }
}

/** A sink that respects back-pressure: waits for 'drain' when the buffer is full. */
function streamSink(stream: NodeJS.WritableStream): TimelineSink {
  return {
    write: (chunk) =>
      stream.write(chunk)
        ? undefined
        : new Promise<void>((resolve) => stream.once('drain', () => resolve())),
  }
}

function notAWarRoom(language: 'zh' | 'en'): string {
  return language === 'zh' ? '这个群不是事件群。' : 'This chat is not an incident war room.'
}

function errorText(error: unknown): string {
  if (error instanceof FeishuError)
    return `Feishu code ${error.code} ${error.msg}${error.hint ? ` (${error.hint})` : ''}`
  return error instanceof Error ? error.message : String(error)
}
