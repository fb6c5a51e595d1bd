import { request } from 'undici'
import type { CommandTable } from '../../src/commands/table.js'
import { type Config, parseConfig } from '../../src/config/config.js'
import type { NewChatBudget } from '../../src/core/admission.js'
import { warRoomConfig } from '../../src/core/from-config.js'
import { WarRoom } from '../../src/core/warroom.js'
import { Metrics } from '../../src/receiver/metrics.js'
import { Receiver } from '../../src/receiver/server.js'
import type { FeishuSandbox } from '../../src/sandbox/server.js'
import type { PostgresStore } from '../../src/store/postgres/store.js'
import { type IncidentStore, MemoryStore } from '../../src/store/store.js'
import { type Logger, silentLogger } from '../../src/util/log.js'
import { afterThisTest } from './cleanup.js'
import { clientFor } from './helpers.js'

export const TOKEN = 'test-webhook-token-123'
/** The transcripts' read token (auth.read_token), not the webhook's. */
export const READ_TOKEN = 'test-read-token-1234567'

export async function startReceiver(
  s: FeishuSandbox,
  options: {
    config?: Record<string, unknown>
    store?: IncidentStore
    retry?: { maxAttempts?: number; maxElapsedMs?: number }
    timeoutMs?: number
    budget?: NewChatBudget
    logger?: Logger
    /** Another command table (a command added in a test), for the card and the receiver. */
    commands?: CommandTable
  } = {},
) {
  const config: Config = parseConfig({
    auth: { bearer_token: TOKEN, read_token: READ_TOKEN },
    ...options.config,
  })
  const metrics = new Metrics()
  const client = clientFor(s, {
    onCall: metrics.onFeishuCall,
    retry: options.retry ?? {},
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  })
  const warroom = new WarRoom({
    client,
    store: options.store ?? new MemoryStore(),
    now: () => s.now(),
    // The product's own mapping from config to the core (cli/common.ts), not a copy.
    config: warRoomConfig(config),
    ...(options.commands ? { commands: options.commands } : {}),
    ...(options.budget ? { budget: options.budget } : {}),
  })
  const shared = options.store as Partial<PostgresStore> | undefined
  const receiver = new Receiver({
    config,
    warroom,
    logger: options.logger ?? silentLogger,
    metrics,
    now: () => s.now(),
    ...(options.commands ? { commands: options.commands } : {}),
    ...(shared?.timelines && shared.jobs ? { archive: shared.timelines, jobs: shared.jobs } : {}),
  })
  afterThisTest(() => receiver.close())
  const url = await receiver.listen('127.0.0.1', 0)
  s.events = {
    url: `${url}/feishu/events`,
    ...(config.feishu.encrypt_key ? { encryptKey: config.feishu.encrypt_key } : {}),
    ...(config.feishu.verification_token
      ? { verificationToken: config.feishu.verification_token }
      : {}),
  }
  return { url, receiver, metrics, warroom, config }
}

export async function post(
  url: string,
  body: unknown,
  options: { token?: string | null; headers?: Record<string, string>; method?: string } = {},
) {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers }
  if (options.token !== null) headers.authorization = `Bearer ${options.token ?? TOKEN}`
  const res = await request(url, {
    method: (options.method ?? 'POST') as 'POST',
    headers,
    body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  })
  const text = await res.body.text()
  let json: any
  try {
    json = JSON.parse(text)
  } catch {
    json = text
  }
  return { status: res.statusCode, json, headers: res.headers }
}
