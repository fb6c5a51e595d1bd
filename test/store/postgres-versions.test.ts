/**
 * The repeat path on PostgreSQL (issue 26): each replica learns the versions
 * every replica writes by LISTEN/NOTIFY, so recognising a repeat needs no
 * round trip; a dropped watch falls back to the database, never to a stale
 * answer, and comes back on its own.
 */
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { until } from '../support/helpers.js'
import { DATABASE_URL, freshSchema, HAVE_POSTGRES, pgStore } from '../support/postgres.js'
import { bareRecord } from '../support/records.js'

const K = 'c'.repeat(32)
const record = (version: number, chatName = 'chat') => bareRecord(K, version, { chatName })

/** How many queries `work` sends through the store's pool. */
async function queriesDuring(store: object, work: () => Promise<unknown>) {
  const pool = (store as { pool: pg.Pool }).pool
  const original = pool.query.bind(pool)
  let n = 0
  pool.query = ((...args: Parameters<pg.Pool['query']>) => {
    n++
    return (original as (...a: unknown[]) => unknown)(...args)
  }) as pg.Pool['query']
  try {
    await work()
  } finally {
    pool.query = original
  }
  return n
}

describe.skipIf(!HAVE_POSTGRES)('PostgreSQL version watch', () => {
  it('answers another replica’s new version from memory, and asks the database while its watch is down', async () => {
    const schema = freshSchema()
    const [a, b] = [await pgStore(schema), await pgStore(schema)]
    await a.put(record(1))
    await until('a’s watch is live and knows version 1', () => a.versions.cached(K) === 1, 5000)
    await b.put(record(2, 'written by b'))
    await until('a learns b’s write', () => a.versions.cached(K) === 2, 2000)
    expect(await queriesDuring(a, async () => expect(await a.version(K)).toBe(2))).toBe(0)

    // The watch's connection killed (a proxy restart, a failover): no cached answer, the database is asked.
    const admin = new pg.Client({ connectionString: DATABASE_URL })
    await admin.connect()
    await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE application_name = 'feishu-warroom versions' AND pid <> pg_backend_pid()`,
    )
    await admin.end()
    await until('a’s watch is down', () => a.versions.cached(K) === undefined, 2000)
    await b.put(record(3, 'written while a was deaf'))
    expect(await queriesDuring(a, async () => expect(await a.version(K)).toBe(3))).toBe(1)
    // It reconnects by itself and learns again.
    await until('live again', () => a.versions.mark() !== undefined, 5000)
    await b.put(record(4))
    await until('a learns version 4', () => a.versions.cached(K) === 4, 2000)
  })
})
