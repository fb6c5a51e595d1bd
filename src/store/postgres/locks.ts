import pg from 'pg'
import type { Logger } from '../../util/log.js'
import { StoreUnavailableError } from '../store.js'
import { storeError } from './db.js'

/**
 * Per-incident locks across replicas: session advisory locks taken on one
 * connection this replica keeps for them. A lock held by a replica that dies
 * goes with its connection, so nothing is left locked. One connection for
 * all locks (rather than one open transaction per incident in progress)
 * keeps a storm of a few hundred incidents inside the server's connection
 * limit; another replica's lock is waited for by polling pg_try_advisory_lock.
 */
export class LockSession {
  private client: pg.Client | undefined
  private connecting: Promise<pg.Client> | undefined
  private closed = false

  constructor(
    private readonly url: string,
    private readonly schema: string,
    private readonly logger: Logger,
    private readonly timeoutMs = 30_000,
  ) {}

  async withLock<T>(keyHash: string, work: () => Promise<T>): Promise<T> {
    const id = `${this.schema}:${keyHash}`
    const deadline = Date.now() + this.timeoutMs
    let delay = 5
    let held: pg.Client
    for (;;) {
      held = await this.connection()
      const ok = await held
        .query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [id])
        .then((r) => r.rows[0]?.ok === true)
        .catch((error) => {
          throw storeError(error, 'lock an incident')
        })
      if (ok) break
      if (Date.now() > deadline)
        throw new StoreUnavailableError(
          `incident ${keyHash} is busy in another replica for more than ${this.timeoutMs / 1000} s`,
        )
      await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random())))
      delay = Math.min(delay * 2, 100)
    }
    try {
      return await work()
    } finally {
      // A connection lost meanwhile took the lock with it; its successor never held it.
      if (this.client === held)
        await held.query('SELECT pg_advisory_unlock(hashtext($1))', [id]).catch(() => {})
    }
  }

  private connection(): Promise<pg.Client> {
    if (this.closed) return Promise.reject(new StoreUnavailableError('the store is closed'))
    if (this.client) return Promise.resolve(this.client)
    this.connecting ??= (async () => {
      const client = new pg.Client({
        connectionString: this.url,
        connectionTimeoutMillis: 10_000,
        application_name: 'feishu-warroom locks',
      })
      client.on('error', (error) => {
        this.logger.warn('the PostgreSQL lock connection failed', { error: error.message })
        if (this.client === client) this.client = undefined
      })
      client.on('end', () => {
        if (this.client === client) this.client = undefined
      })
      try {
        await client.connect()
      } catch (error) {
        throw storeError(error, 'connect for locks')
      }
      this.client = client
      return client
    })().finally(() => {
      this.connecting = undefined
    })
    return this.connecting
  }

  /** Ends the connection, and with it every lock still held. */
  async close(): Promise<void> {
    this.closed = true
    const client = this.client
    this.client = undefined
    await client?.end().catch(() => {})
  }
}
