import type pg from 'pg'
import type { Job, JobQueue } from '../jobs.js'
import { query } from './db.js'

interface JobRow {
  id: string
  kind: string
  key_hash: string
  due_at: Date
  data: Record<string, unknown>
  attempts: number
}

/**
 * The job queue in PostgreSQL. A claim marks jobs with this replica's id
 * (FOR UPDATE SKIP LOCKED: two replicas claiming at once take different
 * jobs); a job is claimed again when its lease ran out or its replica
 * stopped beating (it died), so work cut short by a crash is picked up.
 */
export class PostgresJobQueue implements JobQueue {
  constructor(
    private readonly pool: pg.Pool,
    private readonly replicaId: string,
    private readonly replicaTtlSeconds: number,
    private readonly leaseSeconds = 600,
  ) {}

  async schedule(job: Omit<Job, 'attempts'>): Promise<void> {
    // Due times are kept on the database's clock: a replica's clock a few minutes off must not
    // fire a step early or late. What is sent is how far ahead it is due, by this replica's clock.
    await query(
      this.pool,
      `INSERT INTO jobs (id, kind, key_hash, due_at, data)
       VALUES ($1, $2, $3, now() + make_interval(secs => $4::float8 / 1000), $5)
       ON CONFLICT (id) DO NOTHING`,
      [job.id, job.kind, job.keyHash, job.dueAt - Date.now(), JSON.stringify(job.data)],
      'schedule a job',
    )
  }

  async claim(kind: string, limit: number): Promise<Job[]> {
    const { rows } = await query<JobRow>(
      this.pool,
      `UPDATE jobs SET claimed_by = $1, lease_until = now() + make_interval(secs => $4),
              attempts = attempts + 1
       WHERE id IN (
         SELECT id FROM jobs
         WHERE kind = $2 AND done_at IS NULL AND due_at <= now()
           AND (claimed_by IS NULL OR lease_until < now()
                OR claimed_by NOT IN (
                  SELECT id FROM replicas WHERE seen_at > now() - make_interval(secs => $5)))
         ORDER BY due_at LIMIT $3
         FOR UPDATE SKIP LOCKED)
       RETURNING id, kind, key_hash, due_at, data, attempts`,
      [this.replicaId, kind, limit, this.leaseSeconds, this.replicaTtlSeconds],
      'claim jobs',
    )
    return rows.map((r) => ({
      id: r.id,
      kind: r.kind,
      keyHash: r.key_hash,
      dueAt: r.due_at.getTime(),
      data: r.data,
      attempts: r.attempts,
    }))
  }

  async complete(id: string): Promise<void> {
    await query(this.pool, 'UPDATE jobs SET done_at = now() WHERE id = $1', [id], 'complete a job')
  }

  async retry(id: string, dueAt: number, error: string): Promise<void> {
    await query(
      this.pool,
      `UPDATE jobs SET claimed_by = NULL, lease_until = NULL,
              due_at = now() + make_interval(secs => $2::float8 / 1000), last_error = $3
       WHERE id = $1 AND done_at IS NULL`,
      [id, dueAt - Date.now(), error.slice(0, 2000)],
      'retry a job',
    )
  }

  async cancel(keyHash: string, kind: string): Promise<number> {
    const { rowCount } = await query(
      this.pool,
      `UPDATE jobs SET done_at = now(), last_error = 'cancelled'
       WHERE key_hash = $1 AND kind = $2 AND done_at IS NULL`,
      [keyHash, kind],
      'cancel jobs',
    )
    return rowCount ?? 0
  }

  /** Shutdown: what this replica claimed and did not finish goes back to the queue at once. */
  async release(): Promise<void> {
    await query(
      this.pool,
      'UPDATE jobs SET claimed_by = NULL, lease_until = NULL WHERE claimed_by = $1 AND done_at IS NULL',
      [this.replicaId],
      'release jobs',
    )
  }
}
