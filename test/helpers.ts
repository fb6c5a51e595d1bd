import { afterEach } from 'vitest'
import { FeishuClient, type FeishuClientOptions } from '../src/feishu/client.js'
import { type FeishuSandbox, type SandboxOptions, startSandbox } from '../src/sandbox/server.js'

const open: Array<{ close(): Promise<void> }> = []

afterEach(async () => {
  while (open.length) await open.pop()!.close()
})

/** A sandbox on loopback, closed after the test. */
export async function sandbox(options: SandboxOptions = {}): Promise<FeishuSandbox> {
  const s = await startSandbox(options)
  open.push(s)
  return s
}

/** A client pointed at the sandbox, sharing its clock, with fast retries. */
export function clientFor(
  s: FeishuSandbox,
  options: Partial<FeishuClientOptions> = {},
): FeishuClient {
  const client = new FeishuClient({
    appId: s.appId,
    appSecret: s.appSecret,
    domain: s.url,
    now: () => s.now(),
    ...options,
    retry: { baseDelayMs: 5, maxDelayMs: 50, ...options.retry },
  })
  open.push(client)
  return client
}

/** A minimal valid PNG followed by `extra` random-ish bytes. */
export function pngBytes(extra = 64): Uint8Array {
  const header = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]
  const out = new Uint8Array(header.length + extra)
  out.set(header)
  for (let i = 0; i < extra; i++) out[header.length + i] = (i * 37 + 11) % 256
  return out
}

export function countRequests(s: FeishuSandbox, endpoint: string): number {
  return s.requests.filter((r) => r.endpoint === endpoint).length
}
