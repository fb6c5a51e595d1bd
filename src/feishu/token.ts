/**
 * Caches the tenant_access_token. Feishu returns the same token while more
 * than 30 minutes remain and a new one below that; we refresh 3 minutes before
 * expiry (as the official SDKs do), and on demand when a call reports the
 * token invalid. Concurrent callers share one fetch.
 */
export class TokenCache {
  private token: string | undefined
  private refreshAt = 0
  private inflight: Promise<string> | undefined

  constructor(
    private readonly fetchToken: () => Promise<{ token: string; expireSeconds: number }>,
    private readonly now: () => number = Date.now,
    private readonly refreshMarginMs = 3 * 60_000,
  ) {}

  async get(): Promise<string> {
    if (this.token && this.now() < this.refreshAt) return this.token
    if (!this.inflight) {
      this.inflight = this.fetchToken()
        .then(({ token, expireSeconds }) => {
          this.token = token
          // Short-lived tokens (a test server's) refresh at half their life instead.
          const lifeMs = Math.max(expireSeconds, 1) * 1000
          this.refreshAt = this.now() + lifeMs - Math.min(this.refreshMarginMs, lifeMs / 2)
          return token
        })
        .finally(() => {
          this.inflight = undefined
        })
    }
    return this.inflight
  }

  /** Drops the cached token if it is the one that was refused. */
  invalidate(token: string): void {
    if (this.token === token) {
      this.token = undefined
      this.refreshAt = 0
    }
  }
}
