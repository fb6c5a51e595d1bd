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

/** Where a local queue keeps its jobs (the file store: one small file per job). */
export interface JobPersistence {
  put(job: Job): Promise<void>
  remove(id: string): Promise<void>
}

/**
 * The job queue of one process (memory and file stores): `persist` is told
 * of each job written and removed, so a file store keeps timers across a
 * restart writing one job at a time (not every job at every change). Claims
 * are not persisted: after a restart every open job is free.
 */
export class LocalJobQueue implements JobQueue {
  private readonly jobs = new Map<string, Job & { claimed?: boolean }>()

  constructor(
    private readonly persist?: JobPersistence,
    initial: Job[] = [],
    private readonly now: () => number = Date.now,
  ) {
    for (const job of initial) this.jobs.set(job.id, { ...job })
  }

  async schedule(job: Omit<Job, 'attempts'>): Promise<void> {
    if (this.jobs.has(job.id)) return
    const full = { ...job, attempts: 0 }
    this.jobs.set(job.id, full)
    await this.persist?.put(full)
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
    if (this.jobs.delete(id)) await this.persist?.remove(id)
  }

  async retry(id: string, dueAt: number): Promise<void> {
    const job = this.jobs.get(id)
    if (!job) return
    job.claimed = false
    job.dueAt = dueAt
    const { claimed: _, ...kept } = job
    await this.persist?.put(kept)
  }

  async cancel(keyHash: string, kind: string): Promise<number> {
    const gone = [...this.jobs.values()].filter((j) => j.keyHash === keyHash && j.kind === kind)
    for (const j of gone) {
      this.jobs.delete(j.id)
      await this.persist?.remove(j.id)
    }
    return gone.length
  }

  /** Open jobs, for tests and the sandbox page. */
  list(): Job[] {
    return [...this.jobs.values()].map(({ claimed: _, ...job }) => ({ ...job }))
  }
}
