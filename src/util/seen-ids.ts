/** Remembers ids for a while (Feishu redelivers for up to ~7 h). */
export class SeenIds {
  private readonly seen = new Map<string, number>()

  constructor(
    private readonly ttlMs = 8 * 3600_000,
    private readonly max = 50_000,
  ) {}

  forget(id: string): void {
    this.seen.delete(id)
  }

  /** True if the id was seen before; records it either way. */
  check(id: string, now = Date.now()): boolean {
    const at = this.seen.get(id)
    if (at !== undefined && now - at < this.ttlMs) return true
    this.seen.set(id, now)
    if (this.seen.size > this.max) {
      for (const [k, t] of this.seen) {
        if (now - t >= this.ttlMs || this.seen.size > this.max) this.seen.delete(k)
        else break
      }
    }
    return false
  }
}
