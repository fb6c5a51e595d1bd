import { FeishuClient, type FeishuClientOptions } from '../../src/feishu/client.js'
import { type FeishuSandbox, type SandboxOptions, startSandbox } from '../../src/sandbox/server.js'
import { afterThisTest } from './cleanup.js'

/**
 * A sandbox on loopback, closed after the test. Unless `malformed` (a test
 * that sends bad requests on purpose), the test fails when any request it
 * received does not match Feishu's official request schemas.
 */
export async function sandbox(
  options: SandboxOptions & { malformed?: boolean } = {},
): Promise<FeishuSandbox> {
  const { malformed, ...rest } = options
  const s = await startSandbox(rest)
  afterThisTest(async () => {
    await s.close()
    // Every request the product made must match Feishu's official schemas.
    if (!malformed && s.violations.length)
      throw new Error(
        `requests refused by Feishu's official schemas: ${JSON.stringify(s.violations)}`,
      )
  })
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
    // A sandbox without limits is for speed; pacing would slow it down for nothing.
    pace: s.rateLimits,
    ...options,
    retry: { baseDelayMs: 5, maxDelayMs: 50, ...options.retry },
  })
  afterThisTest(() => client.close())
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

import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { WarRoom, type WarRoomConfig } from '../../src/core/warroom.js'
import type { IncidentInput } from '../../src/model/incident.js'
import type { IncidentStore } from '../../src/store/store.js'

export function warRoomFor(
  s: FeishuSandbox,
  options: { store?: IncidentStore; config?: Partial<WarRoomConfig>; client?: FeishuClient } = {},
): WarRoom {
  return new WarRoom({
    client: options.client ?? clientFor(s),
    now: () => s.now(),
    ...(options.store ? { store: options.store } : {}),
    ...(options.config ? { config: options.config } : {}),
  })
}

export function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'warroom-test-'))
}

export function incident(overrides: Partial<IncidentInput> = {}): IncidentInput {
  return {
    key: 'test:checkout-api:high-error-rate',
    title: 'Checkout API error rate above 5%',
    severity: 'error',
    source: 'generic',
    summary: 'The checkout API returns 5xx for 7% of requests.',
    fields: [
      { name: 'service', value: 'checkout-api' },
      { name: 'env', value: 'prod' },
    ],
    items: [
      {
        id: 'a1',
        title: 'checkout-api-7f9 5xx rate 7%',
        status: 'firing',
        labels: { pod: 'checkout-api-7f9' },
      },
    ],
    links: [{ label: 'Dashboard', url: 'https://grafana.example.com/d/checkout' }],
    ...overrides,
  }
}

/** The chats, cards and messages a person would see, straight from the sandbox. */
export function view(s: FeishuSandbox, chatId: string) {
  const chat = s.state.chats.get(chatId)!
  const messages = s.state.messagesIn(chatId)
  const cards = messages.filter((m) => m.msg_type === 'interactive')
  const card = cards[0] ? JSON.parse(cards[0].content) : undefined
  const posts = messages
    .filter((m) => m.msg_type === 'post')
    .map((m) => {
      const content = JSON.parse(m.content) as Record<
        string,
        { content: Array<Array<{ tag: string; text?: string; user_id?: string }>> }
      >
      return Object.values(content)[0]!
        .content.map((p) => p.map((n) => n.text ?? (n.user_id ? `@${n.user_id}` : '')).join(''))
        .join('\n')
    })
  return {
    chat,
    name: chat.name,
    members: [...chat.members],
    cards,
    card,
    cardText: card ? JSON.stringify(card) : '',
    /** The card's JSON with markdown entities decoded: what a person reads. */
    cardRead: card
      ? JSON.stringify(card).replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))
      : '',
    posts,
    pinned: [...s.state.pins.values()].filter((p) => p.chat_id === chatId).map((p) => p.message_id),
  }
}

/** A TCP port that was free a moment ago, for processes that need a fixed one. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net')
  const server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as { port: number }).port
  await new Promise((r) => server.close(r))
  return port
}

/** Polls `check` until it holds, or fails naming what it waited for. */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  ms = 15_000,
): Promise<void> {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** A chat put straight into the sandbox's state (what a person or another app made), bot included. */
export function addChat(
  s: FeishuSandbox,
  fields: Partial<import('../../src/sandbox/state.js').SandboxChat> & {
    members?: Set<string>
  } = {},
): string {
  const chatId = `oc_${Math.random().toString(16).slice(2).padEnd(26, '0')}`
  s.state.chats.set(chatId, {
    chat_id: chatId,
    name: 'a chat',
    description: '',
    owner: { type: 'app', id: s.appId },
    members: new Set(),
    bots: new Set([s.appId]),
    botManagers: new Set(),
    chat_type: 'private',
    status: 'normal',
    created_at: s.now(),
    names: [],
    urgent_setting: 'all_members',
    at_all_permission: 'all_members',
    edit_permission: 'all_members',
    ...fields,
  })
  return chatId
}
