/**
 * Client-side pacing to Feishu's documented limits, so that a burst (an alert
 * storm) queues here in arrival order instead of being refused and retried
 * out of order by Feishu.
 *
 * Feishu does not say whether its windows are fixed or sliding. Pacing to
 * fixed windows aligned to the epoch lets up to 2N calls through within a few
 * milliseconds around a window edge, which a sliding counter refuses. So this
 * keeps a log of the calls made and never lets more than N of them fall in
 * any span of the window's length (plus a small margin). A call counts from
 * its answer, not from when it left: Feishu counts it on arrival, which is
 * after it left and before it answered, so the gap between two calls as
 * Feishu counts them is at least the gap between the first one's answer and
 * the second one's leaving, however the network delays either; while a call
 * is on its way it counts as now. That is right under both models. A refusal
 * that still happens (another process sharing the app's quota) is retried by
 * the transport as before.
 */
export interface Window {
  limit: number
  ms: number
}

/** One call's place in the logs: stamped when it leaves, and again when it has landed (answered). */
export interface Ticket {
  entries: Entry[]
  /** Its slot in the shared count, if there is one. */
  slot?: string
}

/** A call in the log: when it left, or (`flying` false) when it was answered. */
interface Entry {
  at: number
  flying?: boolean
}

/**
 * Slack added to each window for timers and rounding: 2 % of it, at least
 * 25 ms. Calls count from their answers, so the time between a call leaving
 * and Feishu counting it needs no margin of its own (it did when calls counted
 * from leaving: with 50 ms, a storm against a sandbox in another process was
 * refused a call now and then, and 150 ms cost a seventh of the quota).
 */
export function marginFor(w: Window): number {
  return Math.max(25, Math.round(w.ms * 0.02))
}

/**
 * The margin of the count shared across processes, which knows when a call
 * left but not when it landed: 2 % of the window, at least 150 ms.
 */
function leavingMargin(w: Window): number {
  return Math.max(150, Math.round(w.ms * 0.02))
}

/**
 * The same limits counted across processes (replicas sharing one app's
 * quota): take() takes a slot for `key` under every window, or answers the
 * ms to wait before asking again; stamp() moves taken slots to the moment
 * the call leaves, as the local log does.
 */
export interface SharedQuota {
  take(
    key: string,
    windows: ReadonlyArray<{ limit: number; spanMs: number }>,
  ): Promise<{ slot: string } | { waitMs: number }>
  stamp(slots: string[]): Promise<void>
  /** How many processes share the quota (the last count known): each paces to its share when the count cannot be asked. */
  peers?(): number
}

/**
 * Extra slack when counting across processes: a slot is taken in the
 * database before the call leaves and Feishu counts it on arrival, each by a
 * lag that varies with load (400 ms in all, with the window's own margin;
 * with 300, one run in about seven of the three-replica storm on Node 24 had
 * two calls refused).
 */
const SHARED_MARGIN_MS = 250

/** Longer than any call takes (the transport's timeout is 10 s, a retry paces again). */
const FLYING_MAX_MS = 60_000

interface Waiter {
  priority: number
  windows: readonly Window[]
  resolve: (ticket: Ticket) => void
}

type Taken = { slot?: string; waitMs: number; unshared?: boolean }

export class RateGate {
  private readonly logs = new Map<string, Entry[]>()
  /** Calls waiting per key; one drain loop per key serves them in order. */
  private readonly waiting = new Map<string, Waiter[]>()
  private shared: SharedQuota | undefined
  /** Until when this process paces to its share too (a window after the shared count was down). */
  private unsharedUntil = 0
  /** Per key, until when the shared count last said the quota is full (others' calls, unseen here). */
  private readonly fullUntil = new Map<string, number>()

  constructor(
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) =>
      new Promise((r) => setTimeout(r, ms)),
  ) {}

  /**
   * Counts every window across the processes sharing `quota` too. Only the
   * head of each key's queue asks it, so it sees one request per key at a time.
   */
  share(quota: SharedQuota): void {
    this.shared = quota
  }

  /**
   * Waits until a call under `key` fits every window. Higher `priority`
   * goes first (a critical incident's opening before others' updates and
   * summaries); equal priorities keep their arrival order.
   */
  acquire(key: string, windows: readonly Window[], priority = 0): Promise<Ticket> {
    return new Promise<Ticket>((resolve) => {
      let queue = this.waiting.get(key)
      const draining = queue !== undefined
      if (!queue) {
        queue = []
        this.waiting.set(key, queue)
      }
      // After the last waiter of its priority or higher: FIFO within a priority.
      let at = queue.length
      while (at > 0 && queue[at - 1]!.priority < priority) at--
      queue.splice(at, 0, { priority, windows, resolve })
      if (!draining) void this.drain(key, queue)
    })
  }

  /** Calls waiting under `key`, plus one when a call now would wait for its windows. */
  queued = (key: string, windows: readonly Window[] = []): number => {
    const now = this.now()
    const here =
      (this.waiting.get(key)?.length ?? 0) + (this.localWait(key, windows, now) > 0 ? 1 : 0)
    // Across replicas a full quota is a (shortest) window's worth of calls waiting, mostly elsewhere.
    const full = (this.fullUntil.get(key) ?? 0) > now && windows.length > 0
    return full ? Math.max(here, Math.min(...windows.map((w) => w.limit))) : here
  }

  private async drain(key: string, queue: Waiter[]): Promise<void> {
    while (queue.length) {
      const next = queue[0]!
      let slot: string | undefined
      for (;;) {
        const now = this.now()
        let wait = this.localWait(key, next.windows, now)
        if (wait <= 0 && this.shared) {
          const taken = await this.takeShared(key, next.windows)
          slot = taken.slot
          wait = taken.waitMs
          if (wait > 0) this.fullUntil.set(key, now + wait)
          else this.fullUntil.delete(key)
          // The shared count is down (a database restart): it will not know the calls made
          // meanwhile, so for the longest window after, this process keeps to its share too.
          if (taken.unshared) {
            this.unsharedUntil = now + Math.max(...next.windows.map((w) => w.ms))
            wait = this.localWait(key, next.windows, now)
          }
        }
        if (wait <= 0) break
        await this.sleep(wait + 1)
      }
      // A higher priority may have arrived while this one slept: serve the head of the queue.
      const waiter = queue.shift()!
      const at = this.now()
      const entries = waiter.windows.map((w) => {
        const entry = { at }
        this.log(key, w).push(entry)
        return entry
      })
      if (this.logs.size > 20_000) this.prune(at)
      waiter.resolve(slot ? { entries, slot } : { entries })
    }
    this.waiting.delete(key)
  }

  /** This process's own wait: every window, and its share of them while the shared count is unsure. */
  private localWait(key: string, windows: readonly Window[], now: number): number {
    let wait = 0
    for (const w of windows) wait = Math.max(wait, this.waitFor(key, w, now))
    if (!this.shared || now >= this.unsharedUntil) return wait
    const peers = Math.max(1, this.shared.peers?.() ?? 1)
    for (const w of windows) {
      const share = { limit: Math.max(1, Math.floor(w.limit / peers)), ms: w.ms }
      wait = Math.max(wait, this.waitFor(key, share, now))
    }
    return wait
  }

  /** The shared count's answer; when it cannot be asked, `unshared` (this process paces to its share). */
  private async takeShared(key: string, windows: readonly Window[]): Promise<Taken> {
    if (!this.shared) return { waitMs: 0 }
    try {
      const taken = await this.shared.take(
        key,
        windows.map((w) => ({
          limit: w.limit,
          spanMs: w.ms + leavingMargin(w) + SHARED_MARGIN_MS,
        })),
      )
      return 'slot' in taken ? { slot: taken.slot, waitMs: 0 } : taken
    } catch {
      return { waitMs: 0, unshared: true }
    }
  }

  /** Moves the tickets to now: the call leaves later than its first ticket was taken. It is on its way. */
  stamp(tickets: Ticket[]): void {
    this.move(tickets, true)
    const slots = tickets.flatMap((t) => (t.slot ? [t.slot] : []))
    // Not awaited: the call goes now; the stamp lands a moment later, which only errs on the safe side.
    if (slots.length && this.shared) void this.shared.stamp(slots).catch(() => {})
  }

  /** The call was answered (or failed): Feishu counted it by now, at the latest. */
  landed(tickets: Ticket[]): void {
    this.move(tickets, false)
  }

  private move(tickets: Ticket[], flying: boolean): void {
    const at = this.now()
    for (const t of tickets)
      for (const e of t.entries) {
        e.at = Math.max(e.at, at)
        e.flying = flying
      }
  }

  /** Milliseconds until one more call fits `w`, 0 when it fits now. */
  private waitFor(key: string, w: Window, now: number): number {
    const span = w.ms + marginFor(w)
    const log = this.log(key, w)
    // A call on its way counts as now: Feishu may count it at any moment until it answers
    // (for a minute at most: a landing never reported must not hold a slot for ever).
    const at = (e: Entry) => (e.flying ? Math.max(e.at, Math.min(now, e.at + FLYING_MAX_MS)) : e.at)
    // Entries are in order but for stamping, which only moves them later; a flying one stays.
    while (log.length && at(log[0]!) <= now - span) log.shift()
    let inside = 0
    let earliest = Number.POSITIVE_INFINITY
    for (const e of log) {
      if (at(e) <= now - span) continue
      inside++
      earliest = Math.min(earliest, at(e))
    }
    return inside < w.limit ? 0 : earliest + span - now
  }

  private log(key: string, w: Window): Entry[] {
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
    for (const [key, until] of this.fullUntil) if (until < now) this.fullUntil.delete(key)
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
  docx: [{ limit: 3, ms: 1000 }],
} as const satisfies Record<string, readonly Window[]>
