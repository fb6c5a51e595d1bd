/**
 * Times of recent events per key, over a sliding window: what the new-chat
 * budget and the urgent caps count. Keys whose log empties are dropped, so a
 * flood of one-off keys does not grow it without end.
 */
export class SlidingLog {
  private readonly log = new Map<string, number[]>()

  constructor(private readonly windowMs: number) {}

  /** The times within the window before `now`, oldest first (push to record one). */
  entries(key: string, now: number): number[] {
    let list = this.log.get(key)
    if (!list) {
      if (this.log.size > 10_000)
        for (const [k, l] of this.log)
          if (!l.length || l.at(-1)! <= now - this.windowMs) this.log.delete(k)
      list = []
      this.log.set(key, list)
    }
    while (list.length && list[0]! <= now - this.windowMs) list.shift()
    return list
  }
}
