/**
 * "Last time this fired" by family (issue 28): every store answers the latest
 * resolved record of a route and alert name within the look-back, not an
 * open one, not another family's, and (file store) after a restart.
 */
import { describe, expect, it } from 'vitest'
import { FileStore, type IncidentRecord, MemoryStore } from '../../src/store/store.js'
import { tempDir } from '../support/helpers.js'
import { freshSchema, HAVE_POSTGRES, pgStore } from '../support/postgres.js'
import { bareRecord } from '../support/records.js'

const record = (
  n: number,
  family: string,
  status: 'open' | 'resolved',
  resolvedAt?: number,
): IncidentRecord =>
  bareRecord(n.toString(16).padStart(32, '0'), 0, {
    key: `key-${n}`,
    chatId: `oc_${n}`,
    chatName: `chat ${n}`,
    status,
    openedAt: 1_000,
    ...(resolvedAt ? { resolvedAt } : {}),
    incident: {
      key: `key-${n}`,
      title: `t${n}`,
      status: status === 'open' ? 'firing' : 'resolved',
      severity: 'error',
      source: 'alertmanager',
      fields: [],
      items: [],
      links: [],
      members: [],
      images: [],
      labels: {},
      family,
    },
  })

const stores: Array<[string, () => Promise<{ store: any; reopen?: () => Promise<any> }>]> = [
  ['memory', async () => ({ store: new MemoryStore() })],
  [
    'file',
    async () => {
      const dir = await tempDir()
      return { store: await FileStore.open(dir), reopen: () => FileStore.open(dir) }
    },
  ],
]
if (HAVE_POSTGRES)
  stores.push([
    'postgres',
    async () => {
      const schema = freshSchema()
      return { store: await pgStore(schema), reopen: () => pgStore(schema) }
    },
  ])

describe.each(stores)('%s store: the last resolved incident of a family', (_name, open) => {
  it('is the latest resolved within the look-back, never an open one or another family’s', async () => {
    const { store, reopen } = await open()
    await store.put(record(1, '0:HighErrorRate', 'resolved', 5_000))
    await store.put(record(2, '0:HighErrorRate', 'resolved', 9_000))
    await store.put(record(3, '0:HighErrorRate', 'open'))
    await store.put(record(4, '1:HighErrorRate', 'resolved', 20_000))
    await store.put(record(5, '0:DiskFull', 'resolved', 30_000))
    for (const s of reopen ? [store, await reopen()] : [store]) {
      expect((await s.lastResolved('0:HighErrorRate', 0))?.key).toBe('key-2')
      expect(await s.lastResolved('0:HighErrorRate', 9_001)).toBeUndefined()
      expect((await s.lastResolved('1:HighErrorRate', 0))?.key).toBe('key-4')
      expect(await s.lastResolved('2:HighErrorRate', 0)).toBeUndefined()
    }
    // The latest one opens again: it is no longer a resolution on record.
    const current = (await store.get(record(2, '', 'open').keyHash)) as IncidentRecord
    const { resolvedAt: _, ...reopened } = current
    await store.put({ ...reopened, status: 'open', version: current.version + 1 })
    const after = (await store.lastResolved('0:HighErrorRate', 0))?.key
    expect(after === undefined || after === 'key-1').toBe(true)
    await store.close?.()
  })
})
