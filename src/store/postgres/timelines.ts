import type pg from 'pg'
import type { ArchiveWrite, TimelineArchive } from '../../render/timeline.js'
import { query } from './db.js'

/** Timelines in PostgreSQL, where every replica can serve them (replicas share no disk). */
export class PostgresTimelines implements TimelineArchive {
  constructor(private readonly pool: pg.Pool) {}

  async has(keyHash: string): Promise<boolean> {
    const { rowCount } = await query(this.pool, 'SELECT 1 FROM timelines WHERE key_hash = $1', [
      keyHash,
    ])
    return (rowCount ?? 0) > 0
  }

  async open(keyHash: string): Promise<ArchiveWrite> {
    const parts = { markdown: [] as string[], json: [] as string[] }
    return {
      outputs: (['markdown', 'json'] as const).map((format) => ({
        format,
        sink: { write: (chunk: string) => void parts[format].push(chunk) },
      })),
      commit: async () => {
        await query(
          this.pool,
          `INSERT INTO timelines (key_hash, markdown, json) VALUES ($1, $2, $3)
           ON CONFLICT (key_hash) DO UPDATE SET markdown = EXCLUDED.markdown,
             json = EXCLUDED.json, written_at = now()`,
          [keyHash, parts.markdown.join(''), parts.json.join('')],
          'store a timeline',
        )
      },
      abort: async () => {},
    }
  }

  async read(keyHash: string, format: 'markdown' | 'json') {
    const column = format === 'json' ? 'json' : 'markdown'
    const { rows } = await query<{ text: string }>(
      this.pool,
      `SELECT ${column} AS text FROM timelines WHERE key_hash = $1`,
      [keyHash],
    )
    return rows[0]?.text
  }
}
