/**
 * Held from the round-3 review (issue 21): 40 SIGKILLs of a process writing
 * to the file store, each at a random moment of its writes, leave no corrupt
 * record or job, and every write the process saw finish is there afterwards.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { FileStore } from '../../src/store/store.js'
import { tempDir } from '../support/helpers.js'

/** Writes records (growing, so a torn write would show) and jobs; prints each write that finished. */
const WRITER = `
const { FileStore } = await import(process.argv[1])
const dir = process.argv[2]
const round = Number(process.argv[3])
const store = await FileStore.open(dir, { lock: true })
for (let n = 0; ; n++) {
  const k = n % 8
  const keyHash = k.toString(16).padStart(32, '0')
  const version = round * 1_000_000 + n
  await store.put({
    key: 'kill:' + k, keyHash, chatId: 'oc_' + keyHash, chatName: 'x'.repeat(100 + (n % 50) * 200),
    status: n % 5 ? 'open' : 'resolved', openedAt: 1, members: [], invited: [], failedMembers: [],
    imageKeys: [], imageUrls: [], seenEvents: [], events: [], version,
  })
  await store.jobs.schedule({ id: 'job:' + k + ':' + (n % 3), kind: 'note', keyHash, dueAt: version, data: { n } })
  if (n % 7 === 0) await store.jobs.cancel(keyHash, 'other')
  await store.jobs.schedule({ id: 'other:' + k, kind: 'other', keyHash, dueAt: version, data: {} })
  process.stdout.write(keyHash + ' ' + version + '\\n')
}
`

describe('the file store under SIGKILL', () => {
  it('is killed 40 times during writes and leaves 0 corrupt records, every finished write kept', {
    timeout: 120_000,
  }, async () => {
    const dir = await tempDir()
    const storeModule = pathToFileURL(resolve('lib/src/store/store.js')).href
    const acked = new Map<string, number>()
    for (let round = 1; round <= 40; round++) {
      const child: ChildProcess = spawn(
        process.execPath,
        ['--input-type=module', '-e', WRITER, storeModule, dir, String(round)],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      )
      let out = ''
      let err = ''
      child.stdout!.on('data', (d) => {
        out += d
      })
      child.stderr!.on('data', (d) => {
        err += d
      })
      // Killed once it has written a little (it opens the store first: a corrupt file would fail that).
      const started = Date.now()
      while (out.split('\n').length < 3 + (round % 5) * 10) {
        if (child.exitCode !== null) throw new Error(`round ${round}: the writer stopped: ${err}`)
        if (Date.now() - started > 20_000) throw new Error(`round ${round}: no writes: ${err}`)
        await new Promise((r) => setTimeout(r, 1 + Math.random() * 5))
      }
      await new Promise((r) => setTimeout(r, Math.random() * 20))
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGKILL')
      await exited
      for (const line of out.split('\n')) {
        const [keyHash, version] = line.split(' ')
        if (keyHash && version)
          acked.set(keyHash, Math.max(acked.get(keyHash) ?? 0, Number(version)))
      }
    }
    // Opening reads every record and job file: a torn one would throw "Corrupt …".
    const store = await FileStore.open(dir)
    const records = await store.list()
    expect(records).toHaveLength(8)
    for (const [keyHash, version] of acked) {
      const record = await store.get(keyHash)
      // Each write the writer saw finish is on disk (a later, unacknowledged one may be too).
      expect(record!.version).toBeGreaterThanOrEqual(version)
      expect(record!.chatName).toMatch(/^x+$/)
    }
    // No temporary file survives an open.
    expect((await readdir(join(dir, 'incidents'))).filter((f) => f.endsWith('.tmp'))).toEqual([])
    expect((await readdir(join(dir, 'jobs'))).filter((f) => f.endsWith('.tmp'))).toEqual([])
    await store.close()
  })
})
