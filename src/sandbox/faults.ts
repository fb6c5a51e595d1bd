/** Injected failures for tests: what Feishu or the network does on a bad day. */

export type FaultKind = 'status' | 'delay' | 'drop' | 'rateLimit' | 'code'

export interface Fault {
  kind: FaultKind
  /** How many matching calls this applies to. */
  times: number
  /** Only calls to this endpoint name (see ENDPOINTS); all Open API calls when omitted. */
  endpoint?: string
  /** Only calls whose path contains this (one message's patches, say). */
  path?: string
  /** For `status`: the HTTP status (5xx). */
  status?: number
  /** For `status`: answer with a non-JSON body, as a proxy would. */
  html?: boolean
  /** For `delay`: milliseconds before the call is handled. */
  ms?: number
  /**
   * For `status` and `drop`: handle the call first, then fail the answer, as
   * when Feishu did the work and the response was lost.
   */
  afterEffect?: boolean
  /** For `rateLimit`: the x-ogw-ratelimit-reset value. */
  resetSeconds?: number
  /** For `code`: Feishu's answer, a definite refusal (HTTP `status`, default 400). */
  code?: number
  msg?: string
}

/** Injected failures, consumed in order by the calls they match. */
export class FaultQueue {
  private faults: Fault[] = []

  add(fault: Fault): void {
    if (!(fault.times > 0)) throw new Error('fault.times must be a positive number')
    this.faults.push({ ...fault })
  }

  clear(): void {
    this.faults = []
  }

  get pending(): readonly Fault[] {
    return this.faults
  }

  /** Takes one use of the first fault matching this endpoint (and path). */
  take(endpoint: string, path = ''): Fault | undefined {
    const index = this.faults.findIndex(
      (f) => (!f.endpoint || f.endpoint === endpoint) && (!f.path || path.includes(f.path)),
    )
    if (index < 0) return undefined
    const fault = this.faults[index]!
    fault.times--
    if (fault.times <= 0) this.faults.splice(index, 1)
    return fault
  }
}
