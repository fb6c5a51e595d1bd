/**
 * A PostgreSQL server of the test's own (initdb in a temporary folder, on a
 * free port), so a test may restart it mid-storm without touching the
 * machine's server that other tests share. Stopped when the test finishes.
 */
import { execFile } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterThisTest } from './cleanup.js'
import { freePort } from './helpers.js'

const run = promisify(execFile)

/** Debian's server binaries (`/usr/lib/postgresql/<version>/bin`), or WARROOM_PG_BIN. */
export const PG_BIN = (() => {
  if (process.env.WARROOM_PG_BIN) return process.env.WARROOM_PG_BIN
  const base = '/usr/lib/postgresql'
  if (!existsSync(base)) return undefined
  const version = readdirSync(base).sort((a, b) => Number(b) - Number(a))[0]
  const bin = version && join(base, version, 'bin')
  return bin && existsSync(join(bin, 'initdb')) ? bin : undefined
})()

// PostgreSQL refuses to run as root: as root, its tools run as the postgres user.
const asRoot = userInfo().uid === 0
const postgresUser = asRoot ? 'postgres' : undefined

async function pg(tool: string, args: string[]) {
  const file = join(PG_BIN!, tool)
  return postgresUser ? run('runuser', ['-u', postgresUser, '--', file, ...args]) : run(file, args)
}

export interface PrivateCluster {
  url: string
  /** An immediate restart: backends killed without a checkpoint, then crash recovery. */
  restart(): Promise<void>
}

export async function privateCluster(): Promise<PrivateCluster> {
  if (!PG_BIN) throw new Error('no PostgreSQL server binaries (initdb): set WARROOM_PG_BIN')
  const dir = await mkdtemp(join(tmpdir(), 'warroom-pg-'))
  const data = join(dir, 'data')
  if (postgresUser) {
    const { stdout } = await run('id', ['-u', postgresUser])
    const { stdout: gid } = await run('id', ['-g', postgresUser])
    await chown(dir, Number(stdout), Number(gid))
  }
  await chmod(dir, 0o700)
  await pg('initdb', ['-D', data, '-A', 'trust', '-U', 'warroom', '--no-sync', '-E', 'UTF8'])
  const port = await freePort()
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`
  const ctl = (...args: string[]) =>
    pg('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-o', options, '-w', '-t', '60', ...args])
  await ctl('start')
  afterThisTest(async () => {
    await ctl('-m', 'immediate', 'stop').catch(() => {})
    await rm(dir, { recursive: true, force: true })
  })
  return {
    url: `postgres://warroom@127.0.0.1:${port}/postgres`,
    restart: async () => {
      await ctl('-m', 'immediate', 'restart')
    },
  }
}
