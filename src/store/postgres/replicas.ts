import type pg from 'pg'
import { errorMessage } from '../../util/errors.js'
import type { Logger } from '../../util/log.js'
import { query } from './db.js'

export interface ReplicaOptions {
  /** How often this replica says it is alive. */
  intervalMs?: number
  /** A replica not heard from for this long counts as gone (its jobs are claimed again). */
  ttlMs?: number
  logger: Logger
}

/**
 * Live replicas, by heartbeat rows: which ones still hold their job claims
 * (and how many there are, for the logs). Also does the housekeeping no
 * single replica owns (old de-duplication ids, finished jobs).
 */
export class Replicas {
  live = 1
  private timer: NodeJS.Timeout | undefined
  private ticks = 0
  readonly intervalMs: number
  readonly ttlMs: number

  constructor(
    private readonly pool: pg.Pool,
    readonly id: string,
    private readonly options: ReplicaOptions,
  ) {
    this.intervalMs = options.intervalMs ?? 2000
    this.ttlMs = options.ttlMs ?? 10_000
  }

  async start(): Promise<void> {
    await this.beat()
    this.timer = setInterval(() => {
      this.beat().catch((error) =>
        this.options.logger.warn('replica heartbeat failed', { error: errorMessage(error) }),
      )
    }, this.intervalMs)
    this.timer.unref()
  }

  private async beat(): Promise<void> {
    await query(
      this.pool,
      `INSERT INTO replicas (id) VALUES ($1) ON CONFLICT (id) DO UPDATE SET seen_at = now()`,
      [this.id],
      'heartbeat',
    )
    const { rows } = await query<{ n: number }>(
      this.pool,
      `SELECT count(*)::int AS n FROM replicas WHERE seen_at > now() - make_interval(secs => $1)`,
      [this.ttlMs / 1000],
      'count replicas',
    )
    const live = Math.max(1, rows[0]?.n ?? 1)
    if (live !== this.live) {
      this.options.logger.info('live replicas changed', {
        from: this.live,
        to: live,
      })
      this.live = live
    }
    if (this.ticks++ % 15 === 0) await this.housekeeping()
  }

  /** Any replica may do it; doing it twice is harmless. */
  private async housekeeping(): Promise<void> {
    await query(this.pool, `DELETE FROM seen_ids WHERE seen_at < now() - interval '8 hours'`)
    await query(this.pool, `DELETE FROM replicas WHERE seen_at < now() - interval '1 hour'`)
    await query(this.pool, `DELETE FROM jobs WHERE done_at < now() - interval '7 days'`)
    // Feishu's windows are a minute at most; the urgent budget's (urgent:…) run to a day.
    await query(
      this.pool,
      `DELETE FROM quota_log WHERE at < now() - interval '5 minutes' AND key NOT LIKE 'urgent:%'`,
    )
    await query(this.pool, `DELETE FROM quota_log WHERE at < now() - interval '2 days'`)
    await query(this.pool, `DELETE FROM changes WHERE at < now() - interval '1 day'`)
  }

  /** Shutdown: leaves at once, so the others take its share of the quota. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    await query(this.pool, 'DELETE FROM replicas WHERE id = $1', [this.id], 'leave')
  }
}
