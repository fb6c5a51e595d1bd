/** The file store's change log (issue 27): kept across a restart, a torn line skipped, a day's worth only. */
import { appendFile, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { FileStore } from '../../src/store/store.js'
import { tempDir } from '../support/helpers.js'

describe('the file store’s change log', () => {
  it('keeps changes across a reopen, skips a torn line and drops those older than a day', async () => {
    const dir = await tempDir()
    const first = await FileStore.open(dir)
    const change = (summary: string, at: number) => ({
      at,
      summary,
      labels: { service: 'checkout' },
      links: [],
    })
    await first.changes.add(change('old', Date.now() - 2 * 86_400_000))
    await first.changes.add(change('Deployed v42', Date.now() - 60_000))
    await appendFile(join(dir, 'changes.jsonl'), '{"at": 1, "summ') // a crash mid-append
    const second = await FileStore.open(dir)
    const kept = await second.changes.since(Date.now() - 3 * 86_400_000)
    expect(kept.map((c) => c.summary)).toEqual(['Deployed v42'])
    // Rewritten without the torn line and the old change.
    expect((await readFile(join(dir, 'changes.jsonl'), 'utf8')).trim().split('\n')).toHaveLength(1)
  })
})
