import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type pg from 'pg'
import type { Logger } from '../log.js'
import {
  type IncidentRecord,
  type IncidentStore,
  StaleRecordError,
  StoreUnavailableError,
} from '../store.js'
import { createPool, query, storeError, ts } from './db.js'
import { PostgresJobQueue } from './jobs.js'
import { LATEST_MIGRATION, migrate } from './migrations.js'
import { Replicas } from './replicas.js'
import { PostgresTimelines } from './timelines.js'

export interface PostgresStoreOptions {
  url: string
  schema?: string
  logger: Logger
  /** Called with the number of live replicas (they share the app's Feishu quota). */
  onReplicas?: (live: number) => void
  /** Heartbeat interval and how long a silent replica counts as alive (ms). */
  heartbeatMs?: number
  replicaTtlMs?: number
  /** How long an operation waits for another replica's lock on the same incident. */
  lockTimeoutMs?: number
}

/**
 * Incident records in PostgreSQL, for several receivers on one database.
 * Work on one incident holds a transaction-scoped advisory lock (released by
 * the server if the replica dies); writes are compare-and-set on the record
 * version; event ids are de-duplicated in a table; background work is a job
 * queue claimed with FOR UPDATE SKIP LOCKED.
 */
export class PostgresStore implements IncidentStore {
  readonly shared = true
  readonly jobs: PostgresJobQueue
  readonly timelines: PostgresTimelines
  readonly replicas: Replicas

  private constructor(
    private readonly pool: pg.Pool,
    /** Lock holders wait here, apart from the queries they make meanwhile (one pool would deadlock). */
    private readonly lockPool: pg.Pool,
    readonly schema: string,
    private readonly options: PostgresStoreOptions,
    readonly replicaId: string,
  ) {
    this.replicas = new Replicas(pool, replicaId, {
      logger: options.logger,
      ...(options.heartbeatMs !== undefined ? { intervalMs: options.heartbeatMs } : {}),
      ...(options.replicaTtlMs !== undefined ? { ttlMs: options.replicaTtlMs } : {}),
      ...(options.onReplicas ? { onCount: options.onReplicas } : {}),
    })
    this.jobs = new PostgresJobQueue(pool, replicaId, this.replicas.ttlMs / 1000)
    this.timelines = new PostgresTimelines(pool)
  }

  /** Connects, applies the migrations (safe when replicas start together) and joins the replicas. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const schema = options.schema ?? 'public'
    const pool = createPool(options.url, schema, 10, options.logger, 'queries')
    const lockPool = createPool(options.url, schema, 32, options.logger, 'locks')
    try {
      const applied = await migrate(pool, schema)
      if (applied.length)
        options.logger.info('applied database migrations', { schema, versions: applied })
    } catch (error) {
      await Promise.all([pool.end(), lockPool.end()])
      throw storeError(error, 'start')
    }
    const id = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`
    const store = new PostgresStore(pool, lockPool, schema, options, id)
    await store.replicas.start()
    return store
  }

  async get(keyHash: string): Promise<IncidentRecord | undefined> {
    const { rows } = await query<{ record: IncidentRecord; version: number }>(
      this.pool,
      'SELECT record, version FROM incidents WHERE key_hash = $1',
      [keyHash],
    )
    return rows[0] && { ...rows[0].record, version: rows[0].version }
  }

  async findByChat(chatId: string): Promise<IncidentRecord | undefined> {
    const { rows } = await query<{ record: IncidentRecord; version: number }>(
      this.pool,
      'SELECT record, version FROM incidents WHERE chat_id = $1 ORDER BY updated_at DESC LIMIT 1',
      [chatId],
    )
    return rows[0] && { ...rows[0].record, version: rows[0].version }
  }

  async put(record: IncidentRecord): Promise<void> {
    const values = [
      record.keyHash,
      record.chatId,
      record.status,
      record.version,
      record.resolvedAt !== undefined ? ts(record.resolvedAt) : null,
      JSON.stringify(record),
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
    return rows.map((r) => ({ ...r.record, version: r.version }))
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
  async version(keyHash: string): Promise<number | undefined> {
    const { rows } = await query<{ version: number }>(
      this.pool,
      'SELECT version FROM incidents WHERE key_hash = $1',
      [keyHash],
    )
    return rows[0]?.version
  }

  async withLock<T>(keyHash: string, work: () => Promise<T>): Promise<T> {
    let client: pg.PoolClient
    try {
      client = await this.lockPool.connect()
    } catch (error) {
      throw storeError(error, 'lock an incident')
    }
    let broken: Error | undefined
    try {
      await client.query('BEGIN')
      await client.query(
        `SET LOCAL lock_timeout = ${Math.round(this.options.lockTimeoutMs ?? 30_000)}`,
      )
      // Namespaced by schema: tests (and tenants) sharing one database do not wait on each other.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
        `${this.schema}:${keyHash}`,
      ])
    } catch (error) {
      broken = storeError(error, 'lock an incident')
      client.release(broken)
      if ((error as { code?: string }).code === '55P03')
        throw new StoreUnavailableError(
          `incident ${keyHash} is busy in another replica for more than ${(this.options.lockTimeoutMs ?? 30_000) / 1000} s`,
        )
      throw broken
    }
    try {
      return await work()
    } finally {
      // Committing or rolling back ends the transaction and with it the lock.
      await client.query('COMMIT').catch((error: Error) => {
        broken = error
      })
      client.release(broken)
    }
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

  /** For GET /readyz: reachable, and the schema is at the version this build expects. */
  async readiness(): Promise<string | undefined> {
    try {
      const { rows } = await query<{ v: number | null }>(
        this.pool,
        'SELECT max(version) AS v FROM schema_migrations',
      )
      const v = rows[0]?.v ?? 0
      return v >= LATEST_MIGRATION
        ? undefined
        : `database schema at migration ${v}, this build needs ${LATEST_MIGRATION}`
    } catch (error) {
      return `database unreachable: ${(error as Error).message}`
    }
  }

  /** Graceful shutdown: gives back claimed jobs, leaves the replicas, closes the pools. */
  async close(): Promise<void> {
    await this.jobs.release().catch(() => {})
    await this.replicas.stop().catch(() => {})
    await Promise.all([this.pool.end(), this.lockPool.end()])
  }
}
