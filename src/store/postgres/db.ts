import pg from 'pg'
import { errorMessage } from '../../util/errors.js'
import type { Logger } from '../../util/log.js'
import { StoreUnavailableError } from '../store.js'

/** SQLSTATE classes and Node error codes that mean "cannot talk to the database now". */
const UNAVAILABLE = /^(08|53|57P|55P03)|^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EPIPE)$/

/** A pool whose connections use `schema`, with errors turned into StoreUnavailableError where retrying helps. */
export function createPool(url: string, schema: string, max: number, logger: Logger): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    // Every connection works in the store's schema (tests give each their own).
    options: `-c search_path="${schema}"`,
    // Also how long a query waits for a free connection: a storm queues here, briefly.
    connectionTimeoutMillis: 20_000,
    idleTimeoutMillis: 30_000,
    application_name: 'feishu-warroom',
  })
  // An idle connection that breaks (a database restart) must not end the process.
  pool.on('error', (error) =>
    logger.warn('a PostgreSQL connection failed', { error: error.message }),
  )
  return pool
}

/** Turns a connection failure into StoreUnavailableError (the receiver answers 503: retry). */
export function storeError(error: unknown, what: string): Error {
  const code = (error as { code?: string }).code ?? ''
  if (UNAVAILABLE.test(code) || /Connection terminated|timeout exceeded/i.test(errorMessage(error)))
    return new StoreUnavailableError(`PostgreSQL unavailable (${what}): ${errorMessage(error)}`)
  return error instanceof Error ? error : new Error(String(error))
}

export async function query<R extends pg.QueryResultRow = pg.QueryResultRow>(
  db: pg.Pool | pg.PoolClient,
  sql: string,
  params: unknown[] = [],
  what = 'query',
): Promise<pg.QueryResult<R>> {
  try {
    return await db.query<R>(sql, params)
  } catch (error) {
    throw storeError(error, what)
  }
}

/** Milliseconds since the epoch as a timestamptz parameter. */
export const ts = (ms: number) => new Date(ms).toISOString()
