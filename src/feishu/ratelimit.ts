/**
 * Client-side pacing to Feishu's documented limits, so that a burst (an alert
 * storm) queues here in arrival order instead of being refused and retried
 * out of order by Feishu. The windows are fixed (aligned to the epoch); a
 * refusal that still happens (another process sharing the app's quota) is
 * retried by the transport as before.
 */
export interface Window {
  limit: number
  ms: number
}

export class RateGate {
  private readonly windows = new Map<string, { start: number; count: number }>()
  private readonly tails = new Map<string, Promise<void>>()

  constructor(
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) =>
      new Promise((r) => setTimeout(r, ms)),
  ) {}

  /** Waits until a call under `key` fits every window, first come first served. */
  async acquire(key: string, windows: readonly Window[]): Promise<void> {
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
        for (const w of windows) {
          const slot = this.slot(key, w, now)
          if (slot.count >= w.limit) wait = Math.max(wait, slot.start + w.ms - now)
        }
        if (wait <= 0) break
        await this.sleep(wait + 1)
      }
      const now = this.now()
      for (const w of windows) this.slot(key, w, now).count++
    } finally {
      release()
      if (this.tails.get(key) === tail) this.tails.delete(key)
    }
  }

  private slot(key: string, w: Window, now: number) {
    const id = `${key}|${w.ms}`
    const start = Math.floor(now / w.ms) * w.ms
    let slot = this.windows.get(id)
    if (!slot || slot.start !== start) {
      slot = { start, count: 0 }
      this.windows.set(id, slot)
      if (this.windows.size > 20_000) this.prune(now)
    }
    return slot
  }

  private prune(now: number): void {
    for (const [id, slot] of this.windows) if (slot.start < now - 120_000) this.windows.delete(id)
  }
}

/** Feishu's documented limits (shared/feishu-api.md §2.4–2.5). */
export const DOCUMENTED_LIMITS = {
  api: [
    { limit: 50, ms: 1000 },
    { limit: 1000, ms: 60_000 },
  ],
  perChat: [{ limit: 5, ms: 1000 }],
  perMessage: [{ limit: 5, ms: 1000 }],
} as const satisfies Record<string, readonly Window[]>
