import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Config } from '../config/config.js'
import type { Heartbeat } from '../config/escalation.js'
import { routeIncident } from '../config/routing.js'
import type { WarRoom } from '../core/warroom.js'
import { formatDuration, formatTime, HEARTBEAT_TEXTS } from '../i18n/index.js'
import { parseIncident } from '../model/incident.js'
import type { Job, JobQueue } from '../store/jobs.js'
import { hashKey } from '../store/store.js'
import { HttpError, readBody, sendJson } from '../util/http.js'
import type { Logger } from '../util/log.js'
import { checkWebhookAuth } from './auth.js'

export const HEARTBEAT = 'heartbeat-due'

/** When the heartbeat was last heard (0: not since this deployment's first start). */
interface HeartbeatJob {
  name: string
  renewedAt: number
}

/**
 * Heartbeats (config `heartbeats:`): `POST /heartbeat/<name>` renews one (an
 * Alertmanager Watchdog alert routed here does it on every repeat); silent
 * for `every` + `grace`, its incident opens, and the next renewal resolves
 * it. The deadline is one job in the store per heartbeat, replaced at each
 * renewal, so it survives a restart and fires in one replica.
 */
export class Heartbeats {
  constructor(
    private readonly options: {
      config: Config
      warroom: WarRoom
      jobs: JobQueue
      logger: Logger
      now: () => number
    },
  ) {}

  private byName(name: string): Heartbeat | undefined {
    return this.options.config.heartbeats.find((h) => h.name === name)
  }

  private key(name: string): string {
    return `heartbeat:${name}`
  }

  /** At start: a deadline for each heartbeat that has none yet (a first start, or a new entry). */
  async start(): Promise<void> {
    for (const hb of this.options.config.heartbeats)
      await this.options.jobs.schedule(this.job(hb, 0, `${this.key(hb.name)}:start`))
  }

  async handle(req: IncomingMessage, res: ServerResponse, name: string): Promise<void> {
    if (req.method !== 'POST' && req.method !== 'PUT')
      throw new HttpError(405, 'use POST', { allow: 'POST, PUT' })
    checkWebhookAuth(req, this.options.config.auth)
    await readBody(req, this.options.config.server.body_limit_bytes) // any body: a Watchdog's, or none
    const hb = this.byName(name)
    if (!hb)
      throw new HttpError(
        404,
        `no heartbeat named "${name}": list it under heartbeats: in the config`,
      )
    const result = await this.renew(hb)
    sendJson(res, 200, { status: 'renewed', name, ...(result ? { resolved: result } : {}) })
  }

  /** A renewal: the deadline moves; an open "no heartbeat" incident resolves. */
  private async renew(hb: Heartbeat): Promise<string | undefined> {
    const now = this.options.now()
    const key = this.key(hb.name)
    const { jobs, warroom } = this.options
    await jobs.cancel(hashKey(key), HEARTBEAT)
    await jobs.schedule(this.job(hb, now, `${key}:${now}`))
    const t = HEARTBEAT_TEXTS[this.options.config.warroom.language]
    const result = await warroom.handle({
      key,
      title: t.title(hb.name),
      status: 'resolved',
      resolution: t.resolution,
    })
    return result.action === 'resolved' ? result.chatId : undefined
  }

  /** A deadline came: unless renewed since (its job would have been replaced), the incident opens. */
  async due(job: Job): Promise<void> {
    const data = job.data as unknown as HeartbeatJob
    const hb = this.byName(data.name)
    if (!hb) return
    const { config, warroom, logger, now } = this.options
    const t = HEARTBEAT_TEXTS[config.warroom.language]
    const since = data.renewedAt
      ? formatTime(data.renewedAt, config.warroom.time_zone, config.warroom.language, now())
      : t.never
    const incident = parseIncident({
      key: this.key(hb.name),
      title: t.title(hb.name),
      severity: hb.severity,
      summary: t.summary(since, formatDuration(hb.every, config.warroom.language)),
      labels: { alertname: 'Heartbeat', heartbeat: hb.name, ...hb.labels },
      items: [{ id: hb.name, title: t.title(hb.name), status: 'firing' }],
      // The configuration names these, so they may be paged like a route's members.
      members: hb.members,
      pageable: hb.members,
    })
    const result = await warroom.handle(routeIncident(incident, config, now(), true))
    logger.warn('a heartbeat is overdue', {
      name: hb.name,
      action: result.action,
      chatId: result.chatId,
    })
  }

  private job(hb: Heartbeat, renewedAt: number, id: string) {
    const from = renewedAt || this.options.now()
    return {
      id,
      kind: HEARTBEAT,
      keyHash: hashKey(this.key(hb.name)),
      dueAt: from + hb.every + hb.grace,
      data: { name: hb.name, renewedAt } satisfies HeartbeatJob as unknown as Record<
        string,
        unknown
      >,
    }
  }
}
