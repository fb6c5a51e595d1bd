import type { Incident } from '../model/incident.js'
import { SlidingLog } from './sliding-log.js'

/** Opening a war room now would exceed the budget; try again in `retryAfterSeconds`. */
export class OpenRefused extends Error {
  override readonly name = 'OpenRefused'
  constructor(readonly retryAfterSeconds: number) {
    super(`too many new war rooms: try again in ${retryAfterSeconds} s`)
  }
}

/**
 * A budget of new war rooms per minute, in total and per source, so that a
 * flood (a misfiring rule, or anyone with the webhook token) cannot open
 * thousands of chats. Critical incidents pass those budgets, so a flood of
 * lesser ones cannot keep the real emergency waiting, up to a budget of
 * their own per source. Updates and resolutions of open
 * incidents are never counted.
 */
export class NewChatBudget {
  private readonly log = new SlidingLog(60_000)

  constructor(
    private readonly limits: {
      perMinute: number
      perSourcePerMinute: number
      /** Critical openings per source and minute (they pass the other budgets). */
      criticalPerSourcePerMinute?: number
    },
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one opening; returns undefined, or the seconds until there is room. */
  admit(incident: Incident): number | undefined {
    const now = this.now()
    const keys: Array<[string, number]> = [
      ['*', this.limits.perMinute],
      [`source:${incident.source}`, this.limits.perSourcePerMinute],
    ]
    if (incident.severity === 'critical') {
      // Anyone with the webhook token could call everything critical: those have a budget too.
      const key = `critical:${incident.source}`
      const entries = this.log.entries(key, now)
      const limit = this.limits.criticalPerSourcePerMinute ?? 10
      if (entries.length >= limit)
        return Math.max(1, Math.ceil((entries[0]! + 60_000 - now) / 1000))
      entries.push(now)
    } else {
      let wait = 0
      for (const [key, limit] of keys) {
        const entries = this.log.entries(key, now)
        if (entries.length >= limit) wait = Math.max(wait, entries[0]! + 60_000 - now)
      }
      if (wait > 0) return Math.max(1, Math.ceil(wait / 1000))
    }
    for (const [key] of keys) this.log.entries(key, now).push(now)
    return undefined
  }
}
