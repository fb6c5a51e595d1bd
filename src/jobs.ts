/**
 * Background work that must happen once although several processes could do
 * it: the post-incident review after a resolution, later escalation steps.
 * A shared store keeps the queue; whoever claims a job first does it, and a
 * job whose process died is claimed again.
 */
export interface Job {
  /** Unique per piece of work: scheduling the same id twice schedules it once. */
  id: string
  kind: string
  keyHash: string
  dueAt: number
  data: Record<string, unknown>
  /** Claims so far, this one included. */
  attempts: number
}

export interface JobQueue {
  schedule(job: Omit<Job, 'attempts'>): Promise<void>
  /** Up to `limit` due jobs of `kind`, now this process's until done, retried or it dies. */
  claim(kind: string, limit: number): Promise<Job[]>
  complete(id: string): Promise<void>
  /** Gives a claimed job back, due again at `dueAt`. */
  retry(id: string, dueAt: number, error: string): Promise<void>
  /** Drops the open jobs of `kind` for an incident (what a resolution makes moot). */
  cancel(keyHash: string, kind: string): Promise<number>
}
