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

/**
 * The job queue of one process (memory and file stores): `persist` is given
 * the open jobs after every change, so a file store keeps timers across a
 * restart. Claims are not persisted: after a restart every open job is free.
 */
export class LocalJobQueue implements JobQueue {
  private readonly jobs = new Map<string, Job & { claimed?: boolean }>()
  private writing: Promise<void> = Promise.resolve()

  constructor(
    private readonly persist?: (jobs: Job[]) => Promise<void>,
    initial: Job[] = [],
    private readonly now: () => number = Date.now,
  ) {
    for (const job of initial) this.jobs.set(job.id, { ...job })
  }

  async schedule(job: Omit<Job, 'attempts'>): Promise<void> {
    if (this.jobs.has(job.id)) return
    this.jobs.set(job.id, { ...job, attempts: 0 })
    await this.save()
  }

  async claim(kind: string, limit: number): Promise<Job[]> {
    const now = this.now()
    const due = [...this.jobs.values()]
      .filter((j) => j.kind === kind && !j.claimed && j.dueAt <= now)
      .sort((a, b) => a.dueAt - b.dueAt)
      .slice(0, limit)
    for (const j of due) {
      j.claimed = true
      j.attempts++
    }
    return due.map(({ claimed: _, ...job }) => ({ ...job }))
  }

  async complete(id: string): Promise<void> {
    if (this.jobs.delete(id)) await this.save()
  }

  async retry(id: string, dueAt: number): Promise<void> {
    const job = this.jobs.get(id)
    if (!job) return
    job.claimed = false
    job.dueAt = dueAt
    await this.save()
  }

  async cancel(keyHash: string, kind: string): Promise<number> {
    let n = 0
    for (const [id, j] of this.jobs)
      if (j.keyHash === keyHash && j.kind === kind) {
        this.jobs.delete(id)
        n++
      }
    if (n) await this.save()
    return n
  }

  /** Open jobs, for tests and the sandbox page. */
  list(): Job[] {
    return [...this.jobs.values()].map(({ claimed: _, ...job }) => ({ ...job }))
  }

  private save(): Promise<void> {
    const persist = this.persist
    if (!persist) return Promise.resolve()
    // One write at a time, each with the state as it is when it starts.
    this.writing = this.writing.then(() => persist(this.list())).catch(() => {})
    return this.writing
  }
}
