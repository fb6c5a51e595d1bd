import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { PostgresStore, type PostgresStoreOptions } from '../../src/store/postgres/store.js'
import { silentLogger } from '../../src/util/log.js'
import { afterThisTest } from './cleanup.js'

/** The machine's PostgreSQL (trust auth); WARROOM_TEST_DATABASE_URL points elsewhere. */
export const DATABASE_URL =
  process.env.WARROOM_TEST_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test'

async function reachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    await client.query('SELECT 1')
    return true
  } catch (error) {
    if (process.env.CI)
      throw new Error(
        `PostgreSQL is required under CI and not reachable at ${DATABASE_URL}: ${(error as Error).message}`,
      )
    console.warn(
      `skipping the PostgreSQL tests: no server at ${DATABASE_URL} (${(error as Error).message})`,
    )
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

/** Whether the PostgreSQL tests run: skipped outside CI without a server, failing under CI. */
export const HAVE_POSTGRES = await reachable()

/** A schema of this test's own, dropped when the test finishes (after its stores closed). */
export function freshSchema(): string {
  const schema = `t_${randomBytes(6).toString('hex')}`
  afterThisTest(async () => {
    const client = new pg.Client({ connectionString: DATABASE_URL })
    await client.connect()
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    await client.end()
  })
  return schema
}

/** A store on `schema` (a fresh one by default), closed when the test finishes. */
export async function pgStore(
  schema = freshSchema(),
  options: Partial<PostgresStoreOptions> = {},
): Promise<PostgresStore> {
  const store = await PostgresStore.open({
    url: DATABASE_URL,
    schema,
    logger: silentLogger,
    ...options,
  })
  afterThisTest(() => store.close().catch(() => {}))
  return store
}

/** A query on the test database, for checking what the store wrote. */
export async function sql<R extends pg.QueryResultRow>(
  schema: string,
  text: string,
  params: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: DATABASE_URL })
  await client.connect()
  try {
    await client.query(`SET search_path TO "${schema}"`)
    return (await client.query<R>(text, params)).rows
  } finally {
    await client.end()
  }
}
