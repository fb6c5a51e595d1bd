import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type pg from 'pg'
import type { SharedQuota } from '../../feishu/ratelimit.js'
import type { Change } from '../../model/change.js'
import { errorMessage } from '../../util/errors.js'
import type { Logger } from '../../util/log.js'
import type { ChangeLog } from '../changes.js'
import { type IncidentRecord, type IncidentStore, StaleRecordError } from '../store.js'
import { createPool, query, storeError, ts } from './db.js'
import { PostgresJobQueue } from './jobs.js'
import { LockSession } from './locks.js'
import { LATEST_MIGRATION, migrate } from './migrations.js'
import { Replicas } from './replicas.js'
import { PostgresTimelines } from './timelines.js'
import { VersionWatch } from './versions.js'

export interface PostgresStoreOptions {
  url: string
  schema?: string
  logger: Logger
  /** Heartbeat interval and how long a silent replica counts as alive (ms). */
  heartbeatMs?: number
  replicaTtlMs?: number
  /** How long an operation waits for another replica's lock on the same incident. */
  lockTimeoutMs?: number
  /** Connections for queries (locks take one more). */
  poolSize?: number
}

/**
 * Incident records in PostgreSQL, for several receivers on one database.
 * Work on one incident holds an advisory lock (released by the server if the
 * replica dies: src/store/postgres/locks.ts); writes are compare-and-set on the record
 * version; event ids are de-duplicated in a table; background work is a job
 * queue claimed with FOR UPDATE SKIP LOCKED.
 */
export class PostgresStore implements IncidentStore {
  readonly shared = true
  readonly jobs: PostgresJobQueue
  readonly timelines: PostgresTimelines
  readonly replicas: Replicas
  /** Versions every replica writes, learnt by LISTEN (the repeat path's cache). */
  readonly versions: VersionWatch
  private readonly logger: Logger

  private constructor(
    private readonly pool: pg.Pool,
    private readonly locks: LockSession,
    readonly schema: string,
    options: PostgresStoreOptions,
    readonly replicaId: string,
  ) {
    this.logger = options.logger
    this.replicas = new Replicas(pool, replicaId, {
      logger: options.logger,
      ...(options.heartbeatMs !== undefined ? { intervalMs: options.heartbeatMs } : {}),
      ...(options.replicaTtlMs !== undefined ? { ttlMs: options.replicaTtlMs } : {}),
    })
    this.jobs = new PostgresJobQueue(pool, replicaId, this.replicas.ttlMs / 1000)
    this.timelines = new PostgresTimelines(pool)
    this.versions = new VersionWatch(options.url, schema, pool, options.logger)
  }

  /** Connects, applies the migrations (safe when replicas start together) and joins the replicas. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const schema = options.schema ?? 'public'
    const pool = createPool(options.url, schema, options.poolSize ?? 10, options.logger)
    try {
      const applied = await migrate(pool, schema)
      if (applied.length)
        options.logger.info('applied database migrations', { schema, versions: applied })
    } catch (error) {
      await pool.end()
      throw storeError(error, 'start')
    }
    const id = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`
    const locks = new LockSession(options.url, schema, options.logger, options.lockTimeoutMs)
    const store = new PostgresStore(pool, locks, schema, options, id)
    await store.replicas.start()
    await store.versions.start()
    return store
  }

  async get(keyHash: string): Promise<IncidentRecord | undefined> {
    const { rows } = await query<{ record: IncidentRecord; version: number }>(
      this.pool,
      'SELECT record, version FROM incidents WHERE key_hash = $1',
      [keyHash],
    )
    return rows[0] && toRecord(rows[0])
  }

  async lastResolved(family: string, since: number): Promise<IncidentRecord | undefined> {
    const { rows } = await query<{ record: IncidentRecord; version: number }>(
      this.pool,
      `SELECT record, version FROM incidents
       WHERE status = 'resolved' AND record #>> '{incident,family}' = $1 AND resolved_at >= $2
       ORDER BY resolved_at DESC LIMIT 1`,
      [family, ts(since)],
    )
    return rows[0] && toRecord(rows[0])
  }

  async findByChat(chatId: string): Promise<IncidentRecord | undefined> {
    const { rows } = await query<{ record: IncidentRecord; version: number }>(
      this.pool,
      // An incident in a storm room shares the room's chat: the chat is the room's record.
      `SELECT record, version FROM incidents WHERE chat_id = $1 AND NOT record ? 'stormOf'
       ORDER BY updated_at DESC LIMIT 1`,
      [chatId],
    )
    return rows[0] && toRecord(rows[0])
  }

  async put(record: IncidentRecord): Promise<void> {
    const values = [
      record.keyHash,
      record.chatId,
      record.status,
      record.version,
      record.resolvedAt !== undefined ? ts(record.resolvedAt) : null,
      // jsonb cannot hold U+0000: dropped (an unescaped \u0000, not a backslash before "u0000").
      JSON.stringify(record).replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1'),
    ]
    const insert = `INSERT INTO incidents (key_hash, chat_id, status, version, resolved_at, record)
                    VALUES ($1, $2, $3, $4, $5, $6)`
    if (record.version <= 0) {
      // Rebuilt from a chat's marker: never over what a replica wrote.
      await query(this.pool, `${insert} ON CONFLICT (key_hash) DO NOTHING`, values, 'write')
      return
    }
    const { rowCount } = await query(
      this.pool,
      `${insert} ON CONFLICT (key_hash) DO UPDATE SET chat_id = EXCLUDED.chat_id,
         status = EXCLUDED.status, version = EXCLUDED.version,
         resolved_at = EXCLUDED.resolved_at, record = EXCLUDED.record, updated_at = now()
       WHERE incidents.version = EXCLUDED.version - 1`,
      values,
      'write',
    )
    if (!rowCount)
      throw new StaleRecordError(
        `incident ${record.keyHash} changed in another replica (version ${record.version - 1} is not the latest)`,
      )
  }

  async list(options: { resolvedSince?: number } = {}): Promise<IncidentRecord[]> {
    const { rows } = await query<{ record: IncidentRecord; version: number }>(
      this.pool,
      `SELECT record, version FROM incidents
       WHERE $1::timestamptz IS NULL OR status = 'open' OR resolved_at >= $1`,
      [options.resolvedSince !== undefined ? ts(options.resolvedSince) : null],
    )
    return rows.map(toRecord)
  }

  async isEmpty(): Promise<boolean> {
    return ((await query(this.pool, 'SELECT 1 FROM incidents LIMIT 1')).rowCount ?? 0) === 0
  }

  async countOpen(): Promise<number> {
    const { rows } = await query<{ n: number }>(
      this.pool,
      `SELECT count(*)::int AS n FROM incidents WHERE status = 'open'`,
    )
    return rows[0]?.n ?? 0
  }

  /** One indexed column, not the record: the repeat path reads only this. */
  /** From the version watch when it can vouch for it (no round trip), else from the database. */
  async version(keyHash: string): Promise<number | undefined> {
    const cached = this.versions.cached(keyHash)
    if (cached !== undefined) return cached
    const epoch = this.versions.mark()
    const { rows } = await query<{ version: number }>(
      this.pool,
      'SELECT version FROM incidents WHERE key_hash = $1',
      [keyHash],
    )
    const version = rows[0]?.version
    if (version !== undefined) this.versions.learn(keyHash, version, epoch)
    return version
  }

  withLock<T>(keyHash: string, work: () => Promise<T>): Promise<T> {
    return this.locks.withLock(keyHash, work)
  }

  /** Changes reported by change events, shared by the replicas (migration 3). */
  readonly changes: ChangeLog = {
    add: async (change) => {
      await query(
        this.pool,
        'INSERT INTO changes (at, change) VALUES (to_timestamp($1 / 1000.0), $2)',
        [change.at, JSON.stringify(change)],
        'record a change',
      )
    },
    since: async (at) => {
      const { rows } = await query<{ change: Change }>(
        this.pool,
        'SELECT change FROM changes WHERE at >= to_timestamp($1 / 1000.0) ORDER BY at DESC LIMIT 500',
        [at],
        'read the changes',
      )
      return rows.map((r) => r.change)
    },
  }

  /** The app's Feishu quota, counted across replicas (take_quota(), migration 2). */
  readonly quota: SharedQuota = {
    take: async (key, windows) => {
      const { rows } = await query<{ answer: string }>(
        this.pool,
        'SELECT take_quota($1, $2, $3) AS answer',
        [key, windows.map((w) => w.limit), windows.map((w) => Math.ceil(w.spanMs))],
        'count a Feishu call',
      )
      const answer = rows[0]?.answer ?? '0'
      return answer.startsWith('-') ? { waitMs: Number(answer.slice(1)) } : { slot: answer }
    },
    peers: () => this.replicas.live,
    stamp: async (slots) => {
      await query(
        this.pool,
        'UPDATE quota_log SET at = clock_timestamp() WHERE id = ANY($1::bigint[])',
        [slots],
        'stamp Feishu calls',
      )
    },
  }

  async claimOnce(id: string): Promise<boolean> {
    const { rowCount } = await query(
      this.pool,
      'INSERT INTO seen_ids (id) VALUES ($1) ON CONFLICT (id) DO NOTHING',
      [id.slice(0, 500)],
      'de-duplicate',
    )
    return rowCount === 1
  }

  async unclaim(id: string): Promise<void> {
    await query(this.pool, 'DELETE FROM seen_ids WHERE id = $1', [id.slice(0, 500)], 'de-duplicate')
  }

  /** For GET /readyz: reachable, and the schema is at the version this build expects. */
  async readiness(): Promise<string | undefined> {
    let v: number
    try {
      const { rows } = await query<{ v: number | null }>(
        this.pool,
        'SELECT max(version) AS v FROM schema_migrations',
      )
      v = rows[0]?.v ?? 0
    } catch (error) {
      // Anyone may ask /readyz: the cause (it names the host) goes to the log only.
      this.logger.warn('readiness: the database is unreachable', { error: errorMessage(error) })
      return 'database unreachable'
    }
    if (v < LATEST_MIGRATION)
      return `database schema at migration ${v}, this build needs ${LATEST_MIGRATION}`
    try {
      // Reachable is not enough: a read-only or full database answers reads and refuses writes.
      await this.pool.query('UPDATE replicas SET seen_at = now() WHERE id = $1', [this.replicaId])
    } catch (error) {
      const code = (error as { code?: string }).code
      this.logger.warn('readiness: the database refuses writes', { error: errorMessage(error) })
      return `database refuses writes${code ? ` (SQLSTATE ${code})` : ''}`
    }
    return undefined
  }

  /** Graceful shutdown: gives back claimed jobs, leaves the replicas, closes the pools. */
  async close(): Promise<void> {
    await this.jobs.release().catch(() => {})
    await this.replicas.stop().catch(() => {})
    await this.locks.close()
    await this.versions.close()
    await this.pool.end()
  }
}

/** A row as a record: the version column is the truth (the JSON holds the one it was written with). */
function toRecord(row: { record: IncidentRecord; version: number }): IncidentRecord {
  return { ...row.record, version: row.version }
}
