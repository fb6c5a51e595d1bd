import type { FeishuError } from '../feishu/errors.js'

/**
 * Notifications Feishu refused for good (a bad parameter, a missing scope).
 * They are answered 200, because Alertmanager retries only 5xx and a retry
 * cannot fix a permission, so nothing upstream will say they were lost: they
 * are kept here for GET /readyz, the metric and the log instead.
 */
export interface Refusal {
  code: number
  /** What to change, from the Feishu code. */
  fix: string
  message: string
  count: number
  first: string
  last: string
  /** The incident key of the newest refused notification. */
  key: string
  source: string
}

/** How long a refusal stays listed after the last one with its code. */
const LISTED_MS = 3600_000

export class Refusals {
  private readonly byCode = new Map<number, Refusal & { lastAt: number }>()

  constructor(private readonly now: () => number) {}

  record(source: string, key: string, error: FeishuError): Refusal {
    const at = this.now()
    const stamp = new Date(at).toISOString()
    const seen = this.byCode.get(error.code)
    const refusal = {
      code: error.code,
      fix: error.hint ?? 'see the Feishu code in the Open API error-code list',
      message: error.msg,
      count: (seen?.count ?? 0) + 1,
      first: seen?.first ?? stamp,
      last: stamp,
      key,
      source,
      lastAt: at,
    }
    this.byCode.set(error.code, refusal)
    return refusal
  }

  /** The refusals of the last hour, newest first. */
  current(): Refusal[] {
    const since = this.now() - LISTED_MS
    return [...this.byCode.values()]
      .filter((r) => r.lastAt >= since)
      .sort((a, b) => b.lastAt - a.lastAt)
      .map(({ lastAt: _, ...r }) => r)
  }
}
