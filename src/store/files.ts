/** The file store's disk work: atomic writes, and the data directory's lock. */
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises'
import { hostname } from 'node:os'
import { dirname, join } from 'node:path'
import { errorMessage } from '../util/errors.js'
import { type Job, LocalJobQueue } from './jobs.js'

export const fileStoreWrites = { bytes: 0 }

/** Temporary file, fsync, rename: a crash leaves the old file or the new one, never half. */
export async function writeAtomically(path: string, text: string): Promise<void> {
  fileStoreWrites.bytes += Buffer.byteLength(text)
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`
  try {
    const handle = await open(tmp, 'w')
    try {
      await handle.writeFile(text)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(tmp, path)
  } catch (error) {
    // A full disk or a failed rename: the temporary file goes now, not at the next start.
    await rm(tmp, { force: true }).catch(() => {})
    throw error
  }
}

/** Thrown when another live process holds the data directory. */
export class StoreLockedError extends Error {
  override readonly name = 'StoreLockedError'
}

interface LockOwner {
  id: string
  host: string
  pid: number
  /** Renewed every LOCK_BEAT_MS while the owner lives. */
  beat: number
}

const LOCK_BEAT_MS = 2_000
/** A lock not renewed for this long belongs to a process that is gone, wherever it ran. */
const LOCK_STALE_MS = 10_000

/**
 * The data directory's lock: a lease its owner renews, not a PID (two
 * containers sharing a volume are both PID 1). Taken over when its owner
 * stopped renewing it, or at once when it names this host and a process that
 * is gone (a restart after a crash), including this very PID in an earlier life.
 */
export async function takeLock(path: string): Promise<{ path: string; stop: () => Promise<void> }> {
  const me: LockOwner = {
    id: randomBytes(12).toString('hex'),
    host: hostname(),
    pid: process.pid,
    beat: Date.now(),
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx')
      await handle.writeFile(JSON.stringify(me))
      await handle.close()
      let writing: Promise<void> = Promise.resolve()
      const timer = setInterval(() => {
        me.beat = Date.now()
        writing = writing.then(() => writeAtomically(path, JSON.stringify(me))).catch(() => {})
      }, LOCK_BEAT_MS)
      timer.unref()
      return {
        path,
        stop: async () => {
          clearInterval(timer)
          await writing // a renewal in flight must not bring the file back after it is removed
        },
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const owner = parseOwner(await readFile(path, 'utf8').catch(() => ''))
      if (owner && !lockIsFree(owner, me))
        throw new StoreLockedError(
          `another warroom process (${owner.host}, pid ${owner.pid}) uses the data directory ${dirname(path)}: run one receiver per data directory, or PostgreSQL for several`,
        )
      await rm(path, { force: true })
    }
  }
  throw new StoreLockedError(`could not lock ${path}`)
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const o = JSON.parse(text) as Partial<LockOwner>
    if (
      typeof o.id === 'string' &&
      typeof o.host === 'string' &&
      typeof o.pid === 'number' &&
      typeof o.beat === 'number'
    )
      return o as LockOwner
  } catch {
    // 0.3's lock held a bare PID: the process check below decides
  }
  const pid = Number(text.trim())
  return pid > 0 ? { id: '', host: hostname(), pid, beat: Date.now() } : undefined
}

function lockIsFree(owner: LockOwner, me: LockOwner): boolean {
  if (Date.now() - owner.beat > LOCK_STALE_MS) return true
  if (owner.host !== me.host) return false
  if (owner.pid === me.pid) return owner.id !== me.id
  return !isAlive(owner.pid)
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * A job queue kept as one small file per job under `<data_dir>/jobs/` (written
 * atomically), so timers survive a restart; a storm's thousands of jobs are
 * not all rewritten at every change. 0.3's single jobs.json is taken over.
 */
export async function fileJobs(dataDir: string): Promise<LocalJobQueue> {
  const dir = join(dataDir, 'jobs')
  await mkdir(dir, { recursive: true })
  const fileOf = (id: string) =>
    join(dir, `${createHash('sha256').update(id).digest('hex').slice(0, 40)}.json`)
  const initial: Job[] = []
  for (const name of await readdir(dir)) {
    const path = join(dir, name)
    if (name.endsWith('.tmp')) await rm(path, { force: true })
    else if (name.endsWith('.json')) {
      try {
        initial.push(JSON.parse(await readFile(path, 'utf8')) as Job)
      } catch (error) {
        throw new Error(
          `Corrupt job file ${path}: ${errorMessage(error)}. Move it away to continue.`,
        )
      }
    }
  }
  const legacy = join(dataDir, 'jobs.json')
  try {
    const old = JSON.parse(await readFile(legacy, 'utf8')) as Job[]
    for (const job of old) {
      if (initial.some((j) => j.id === job.id)) continue
      await writeAtomically(fileOf(job.id), JSON.stringify(job))
      initial.push(job)
    }
    await rm(legacy, { force: true })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new Error(
        `Corrupt job file ${legacy}: ${errorMessage(error)}. Move it away to continue.`,
      )
  }
  // One write at a time per job: a removal must not be undone by a write still in flight.
  const chains = new Map<string, Promise<void>>()
  const inTurn = (id: string, write: () => Promise<void>) => {
    const next = (chains.get(id) ?? Promise.resolve()).then(write)
    const settled = next.catch(() => {})
    chains.set(id, settled)
    void settled.then(() => chains.get(id) === settled && chains.delete(id))
    return next
  }
  return new LocalJobQueue(
    {
      put: (job) => inTurn(job.id, () => writeAtomically(fileOf(job.id), JSON.stringify(job))),
      remove: (id) => inTurn(id, () => rm(fileOf(id), { force: true })),
    },
    initial,
  )
}
