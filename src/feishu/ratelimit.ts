/**
 * Client-side pacing to Feishu's documented limits, so that a burst (an alert
 * storm) queues here in arrival order instead of being refused and retried
 * out of order by Feishu.
 *
 * Feishu does not say whether its windows are fixed or sliding. Pacing to
 * fixed windows aligned to the epoch lets up to 2N calls through within a few
 * milliseconds around a window edge, which a sliding counter refuses. So this
 * keeps a log of the calls made and never lets more than N of them fall in
 * any span of the window's length plus a margin for the difference between
 * when a call leaves here and when Feishu counts it; that is right under both
 * models. A refusal that still happens (another process sharing the app's
 * quota) is retried by the transport as before.
 */
export interface Window {
  limit: number
  ms: number
}

/** One call's place in the logs; stamped again when the call really leaves. */
export interface Ticket {
  entries: Array<{ at: number }>
}

/** Slack added to each window: 2 % of it, at least 50 ms. */
export function marginFor(w: Window): number {
  return Math.max(50, Math.round(w.ms * 0.02))
}

export class RateGate {
  private readonly logs = new Map<string, Array<{ at: number }>>()
  private readonly tails = new Map<string, Promise<void>>()

  constructor(
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) =>
      new Promise((r) => setTimeout(r, ms)),
  ) {}

  /** Waits until a call under `key` fits every window, first come first served. */
  async acquire(key: string, windows: readonly Window[]): Promise<Ticket> {
    const previous = this.tails.get(key) ?? Promise.resolve()
    let release!: () => void
    const mine = new Promise<void>((r) => {
      release = r
    })
    const tail = previous.then(() => mine)
    this.tails.set(key, tail)
    await previous
    try {
      for (;;) {
        const now = this.now()
        let wait = 0
        for (const w of windows) wait = Math.max(wait, this.waitFor(key, w, now))
        if (wait <= 0) break
        await this.sleep(wait + 1)
      }
      const at = this.now()
      const entries = windows.map((w) => {
        const entry = { at }
        this.log(key, w).push(entry)
        return entry
      })
      if (this.logs.size > 20_000) this.prune(at)
      return { entries }
    } finally {
      release()
      if (this.tails.get(key) === tail) this.tails.delete(key)
    }
  }

  /** Moves the tickets to now: the call leaves later than its first ticket was taken. */
  stamp(tickets: Ticket[]): void {
    const at = this.now()
    for (const t of tickets) for (const e of t.entries) e.at = Math.max(e.at, at)
  }

  /** Milliseconds until one more call fits `w`, 0 when it fits now. */
  private waitFor(key: string, w: Window, now: number): number {
    const span = w.ms + marginFor(w)
    const log = this.log(key, w)
    // Entries are in order but for stamping, which only moves the newest ones later.
    while (log.length && log[0]!.at <= now - span) log.shift()
    let inside = 0
    let earliest = Number.POSITIVE_INFINITY
    for (const e of log) {
      if (e.at <= now - span) continue
      inside++
      earliest = Math.min(earliest, e.at)
    }
    return inside < w.limit ? 0 : earliest + span - now
  }

  private log(key: string, w: Window): Array<{ at: number }> {
    const id = `${key}|${w.ms}`
    let log = this.logs.get(id)
    if (!log) {
      log = []
      this.logs.set(id, log)
    }
    return log
  }

  private prune(now: number): void {
    for (const [id, log] of this.logs) {
      const last = log[log.length - 1]
      if (!last || last.at < now - 120_000) this.logs.delete(id)
    }
  }
}

/** Feishu's documented limits (per app and API; per chat; per message). */
export const DOCUMENTED_LIMITS = {
  api: [
    { limit: 50, ms: 1000 },
    { limit: 1000, ms: 60_000 },
  ],
  perChat: [{ limit: 5, ms: 1000 }],
  perMessage: [{ limit: 5, ms: 1000 }],
} as const satisfies Record<string, readonly Window[]>
