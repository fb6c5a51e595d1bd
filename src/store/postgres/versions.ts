import pg from 'pg'
import type { Logger } from '../../util/log.js'

/** The channel migration 5's trigger notifies on every write of an incident: "<schema> <key_hash> <version>". */
export const VERSIONS_CHANNEL = 'warroom_versions'
/** How often the watch checks its own delay, and the most it may lag before it is not trusted. */
const PING_MS = 1000
const MAX_LAG_MS = 500
const MAX_ENTRIES = 50_000

/**
 * Incident versions as every replica writes them, learnt from PostgreSQL's
 * LISTEN/NOTIFY on one connection, so that the receiver's repeat path needs
 * no round trip to the database. A version is answered from memory only
 * while the watch is live: listening since before the entry was learnt, and
 * its own ping through the same channel (once a second) arriving within
 * 500 ms. Notifications come in commit order after each commit, so a cached
 * version can be behind another replica's write by that delivery time only;
 * past the bound, on a drop or before the first ping, the caller asks the
 * database. Entries are dropped with the connection.
 */
export class VersionWatch {
  private client: pg.Client | undefined
  private readonly versions = new Map<string, number>()
  /** Bumped on every (re)connection: an entry learnt in an earlier one is gone with it. */
  private epoch = 0
  private pingSent = 0
  private pingSeen = 0
  private timer: NodeJS.Timeout | undefined
  private closed = false
  private readonly id = Math.random().toString(36).slice(2)

  constructor(
    private readonly url: string,
    private readonly schema: string,
    private readonly pool: pg.Pool,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.timer = setInterval(() => void this.tick(), PING_MS)
    this.timer.unref()
    await this.connect()
  }

  /** The version as last written, when the watch can vouch for it; undefined: ask the database. */
  cached(keyHash: string): number | undefined {
    return this.live() ? this.versions.get(keyHash) : undefined
  }

  /** The epoch to pass to learn() for an answer read from the database now (undefined: not live). */
  mark(): number | undefined {
    return this.live() ? this.epoch : undefined
  }

  /** A version read from the database, kept if the watch listened throughout (a newer one wins). */
  learn(keyHash: string, version: number, epoch: number | undefined): void {
    if (epoch === undefined || epoch !== this.epoch) return
    this.set(keyHash, version)
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.timer) clearInterval(this.timer)
    const client = this.client
    this.client = undefined
    await client?.end().catch(() => {})
  }

  private live(): boolean {
    if (!this.client || !this.pingSeen) return false
    const now = Date.now()
    // The latest ping not back yet: fine for a moment, not past the bound.
    if (this.pingSeen < this.pingSent && now - this.pingSent > MAX_LAG_MS) return false
    return now - this.pingSeen < 2 * PING_MS + MAX_LAG_MS
  }

  private set(keyHash: string, version: number): void {
    const known = this.versions.get(keyHash)
    if (known !== undefined && known >= version) return
    if (known === undefined && this.versions.size >= MAX_ENTRIES) {
      const oldest = this.versions.keys().next().value
      if (oldest !== undefined) this.versions.delete(oldest)
    }
    this.versions.set(keyHash, version)
  }

  private async tick(): Promise<void> {
    if (this.closed) return
    if (!this.client) return void this.connect()
    this.pingSent = Date.now()
    await this.pool
      .query('SELECT pg_notify($1, $2)', [VERSIONS_CHANNEL, `ping ${this.id} ${this.pingSent}`])
      .catch(() => {})
  }

  private async connect(): Promise<void> {
    if (this.closed || this.client) return
    const client = new pg.Client({
      connectionString: this.url,
      connectionTimeoutMillis: 10_000,
      application_name: 'feishu-warroom versions',
    })
    const drop = () => {
      if (this.client !== client) return
      this.client = undefined
      this.versions.clear()
      this.pingSeen = 0
      this.epoch++
    }
    client.on('error', (error) => {
      this.logger.warn('the PostgreSQL version watch failed; repeats ask the database', {
        error: error.message,
      })
      drop()
    })
    client.on('end', drop)
    client.on('notification', (n) => {
      const [first, second, third] = (n.payload ?? '').split(' ')
      if (first === 'ping') {
        if (second === this.id) this.pingSeen = Date.now()
      } else if (first === this.schema && second && third) this.set(second, Number(third))
    })
    try {
      await client.connect()
      await client.query(`LISTEN ${VERSIONS_CHANNEL}`)
    } catch (error) {
      this.logger.warn('cannot watch incident versions; repeats ask the database', {
        error: (error as Error).message,
      })
      await client.end().catch(() => {})
      return
    }
    this.epoch++
    this.versions.clear()
    this.client = client
    await this.tick()
  }
}
