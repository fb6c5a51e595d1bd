import { appendFile, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Change } from '../model/change.js'
import { writeAtomically } from './files.js'

/** Changes kept for a day: what a new incident's card may list. */
export interface ChangeLog {
  add(change: Change): Promise<void>
  since(at: number): Promise<Change[]>
}

/** A process's own change log; `persist` is told of each change (the file store appends it). */
export class LocalChangeLog implements ChangeLog {
  private list: Change[]

  constructor(
    initial: Change[] = [],
    private readonly persist?: (change: Change) => Promise<void>,
  ) {
    this.list = initial
  }

  async add(change: Change): Promise<void> {
    this.list = [...this.list.filter((c) => c.at > Date.now() - 86_400_000), change].slice(-10_000)
    await this.persist?.(change)
  }

  async since(at: number): Promise<Change[]> {
    return this.list.filter((c) => c.at >= at)
  }
}

/**
 * The change log as one JSON line per change in `<data_dir>/changes.jsonl`,
 * appended; a line torn by a crash is skipped, and the file is rewritten
 * without the changes older than a day at each start.
 */
export async function fileChanges(dataDir: string): Promise<LocalChangeLog> {
  const path = join(dataDir, 'changes.jsonl')
  const kept: Change[] = []
  try {
    for (const line of (await readFile(path, 'utf8')).split('\n')) {
      try {
        const change = JSON.parse(line) as Change
        if (change.at > Date.now() - 86_400_000) kept.push(change)
      } catch {
        // a torn last line
      }
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  await writeAtomically(path, kept.map((c) => `${JSON.stringify(c)}\n`).join(''))
  return new LocalChangeLog(kept, (change) => appendFile(path, `${JSON.stringify(change)}\n`))
}
