/**
 * Rate-limit counters. Feishu does not document whether its windows are
 * fixed or sliding, so the sandbox counts the stricter model by default:
 * `sliding` refuses a call when `limit` calls were accepted in the last `ms`
 * (any span of that length); `fixed` counts windows aligned to the epoch.
 * A refusal says how many seconds remain until a call would fit.
 */
export interface Window {
  limit: number
  ms: number
}

export type WindowModel = 'sliding' | 'fixed'

export class WindowLimiter {
  private readonly fixed = new Map<string, { start: number; count: number }>()
  private readonly logs = new Map<string, number[]>()

  constructor(
    private readonly now: () => number,
    readonly model: WindowModel = 'sliding',
  ) {}

  /**
   * Counts one call against every window; returns the first full window and
   * the seconds until it has room, or undefined when the call may proceed.
   */
  take(
    key: string,
    windows: readonly Window[],
  ): { limit: number; resetSeconds: number } | undefined {
    const now = this.now()
    for (const w of windows) {
      const waitMs =
        this.model === 'fixed' ? this.fixedWait(key, w, now) : this.slidingWait(key, w, now)
      if (waitMs > 0) return { limit: w.limit, resetSeconds: Math.max(1, Math.ceil(waitMs / 1000)) }
    }
    for (const w of windows) {
      if (this.model === 'fixed') this.slot(key, w, now).count++
      else this.log(key, w).push(now)
    }
    this.prune(now)
    return undefined
  }

  private slidingWait(key: string, w: Window, now: number): number {
    const log = this.log(key, w)
    while (log.length && log[0]! <= now - w.ms) log.shift()
    return log.length < w.limit ? 0 : log[0]! + w.ms - now
  }

  private fixedWait(key: string, w: Window, now: number): number {
    const slot = this.slot(key, w, now)
    return slot.count < w.limit ? 0 : slot.start + w.ms - now
  }

  private log(key: string, w: Window): number[] {
    const id = `${key}|${w.ms}`
    let log = this.logs.get(id)
    if (!log) {
      log = []
      this.logs.set(id, log)
    }
    return log
  }

  private slot(key: string, w: Window, now: number) {
    const id = `${key}|${w.ms}`
    const start = Math.floor(now / w.ms) * w.ms
    let slot = this.fixed.get(id)
    if (!slot || slot.start !== start) {
      slot = { start, count: 0 }
      this.fixed.set(id, slot)
    }
    return slot
  }

  private lastPrune = 0
  private prune(now: number): void {
    if (now - this.lastPrune < 60_000) return
    this.lastPrune = now
    for (const [id, slot] of this.fixed) if (slot.start < now - 120_000) this.fixed.delete(id)
    for (const [id, log] of this.logs) {
      const last = log[log.length - 1]
      if (last === undefined || last < now - 120_000) this.logs.delete(id)
    }
  }
}

/** Documented limits (https://open.feishu.cn/document/server-docs/api-call-guide/frequency-control). */
export const FEISHU_LIMITS = {
  /** Most IM and contact APIs: 1000/min and 50/s per app. */
  api: [
    { limit: 50, ms: 1000 },
    { limit: 1000, ms: 60_000 },
  ],
  /** Messages into one chat, shared by all bots: 5/s (230020). */
  perChat: [{ limit: 5, ms: 1000 }],
  /** PATCH of one card: 5/s (230020). Pins of one message: 5/s (230047). */
  perMessage: [{ limit: 5, ms: 1000 }],
  /** Documents: creates per app, edits per document (docx v1 API pages). */
  docx: [{ limit: 3, ms: 1000 }],
} as const satisfies Record<string, readonly Window[]>

/**
 * Batch limits written in Feishu's official API descriptions (checked against
 * them in test/reference/feishu-schemas.test.ts).
 */
export const SANDBOX_LIMITS = {
  /** Create chat, user_id_list: 最多同时邀请 50 个用户. */
  createChatUsers: 50,
  /** Add chat members, id_list: 每次请求最多拉 50 个用户. */
  addMemberIds: 50,
  /** urgent_app / urgent_sms / urgent_phone, user_id_list: 列表长度不能大于 200. */
  urgentIds: 200,
  /** batch_get_id, emails and mobiles: 最多可传入 50 条 each. */
  batchGetIdEach: 50,
} as const
