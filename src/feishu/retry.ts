/** Retry budget for one Feishu call. */
export interface RetryPolicy {
  /** Attempts for network errors and 5xx answers, the first included. */
  maxAttempts: number
  /** Rate-limit answers are retried as long as the time budget allows, up to this many times. */
  maxRateLimitRetries: number
  /** Total time one call may take, waits included. */
  maxElapsedMs: number
  baseDelayMs: number
  maxDelayMs: number
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 5,
  maxRateLimitRetries: 30,
  maxElapsedMs: 60_000,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
}

/**
 * Exponential backoff with "equal jitter": half the delay is fixed, half
 * random, so a retrying fleet (an Alertmanager HA pair, many runners) spreads out
 * but never retries instantly.
 */
export function backoffDelay(attempt: number, policy: RetryPolicy, random = Math.random): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1))
  return Math.round(exp / 2 + (random() * exp) / 2)
}

/**
 * How long to wait after a rate-limit answer: `x-ogw-ratelimit-reset` is the
 * number of seconds until the window recovers. A little jitter keeps callers
 * that were refused together from returning together.
 */
export function rateLimitDelay(
  resetHeader: string | undefined,
  attempt: number,
  policy: RetryPolicy,
  random = Math.random,
): number {
  const seconds = resetHeader === undefined ? Number.NaN : Number(resetHeader)
  if (Number.isFinite(seconds) && seconds >= 0) {
    return Math.round(seconds * 1000 + random() * 200)
  }
  return backoffDelay(attempt, policy, random)
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
