/**
 * The long connection as Feishu runs it (shared/feishu-api.md §23.10): an
 * event not answered within 3 s is pushed again after 15 s, 5 min, 1 h and
 * 6 h (the sandbox's schedule shortened here), a card callback never again;
 * and an event pushed the moment a connection opens, which Feishu's official
 * WSClient 1.74.0 drops, is handled at once by the receiver's client.
 */
import * as lark from '@larksuiteoapi/node-sdk'
import { afterEach, describe, expect, it } from 'vitest'
import type { Interactions } from '../../src/receiver/interactions.js'
import { LongConnectionClient } from '../../src/receiver/longconn.js'
import { Metrics } from '../../src/receiver/metrics.js'
import { silentLogger } from '../../src/util/log.js'
import { addChat, sandbox, until } from '../support/helpers.js'

const quiet = { error() {}, warn() {}, info() {}, debug() {}, trace() {} }
const closers: Array<() => void> = []
afterEach(() => {
  for (const close of closers.splice(0)) close()
})

type Sandbox = Awaited<ReturnType<typeof sandbox>>

function chatWith(s: Sandbox, openId: string): string {
  return addChat(s, { name: 'lc', members: new Set([openId]) })
}

/** The receiver's client, with a handler that records texts (and answers unless told not to). */
async function receiverClient(s: Sandbox, received: string[], answer = true) {
  const interactions = {
    onEvent: async (event: any, respond: (body: unknown) => void) => {
      const text = event.event?.message ? JSON.parse(event.event.message.content).text : 'click'
      received.push(text)
      if (answer) respond({})
    },
  } as unknown as Interactions
  const client = new LongConnectionClient({
    appId: s.appId,
    appSecret: s.appSecret,
    baseUrl: s.url,
    interactions,
    logger: silentLogger,
    metrics: new Metrics(),
  })
  closers.push(() => client.close())
  await client.start()
  await until('the connection', () => s.longConnection.connected === 1 && client.up)
  return client
}

/**
 * Drops every connection and refuses new ones for a second, so that an event
 * said meanwhile finds no client (the official client comes back within one).
 */
async function dropped(s: {
  longConnection: { connected: number; dropAll(downMs: number): void }
}) {
  s.longConnection.dropAll(1_000)
  await until('the drop', () => s.longConnection.connected === 0)
}

describe('Feishu’s re-push schedule over the long connection', () => {
  it('pushes an unanswered event again on the schedule, four times at most, and a callback never', async () => {
    const delays = [300, 600, 900, 1200]
    const s = await sandbox({ appId: 'cli_0123456789abcdef', repushDelaysMs: delays })
    const [alice] = [...s.state.users.values()]
    const received: string[] = []
    await receiverClient(s, received, false)
    const chatId = chatWith(s, alice!.open_id)
    const said = await s.say(chatId, alice!.open_id, 'never answered')
    expect(said.delivery.status).toBe(0)
    await until('the last push', () => s.longConnection.pushes.length >= 5, 20_000)
    await new Promise((r) => setTimeout(r, 4_500))
    const pushes = s.longConnection.pushes
    expect(pushes).toHaveLength(5)
    expect(new Set(pushes.map((p) => p.eventId)).size).toBe(1)
    // Each push waits 3 s for its answer, then the next delay.
    const gaps = pushes.slice(1).map((p, i) => p.at - pushes[i]!.at)
    gaps.forEach((gap, i) => {
      expect(gap).toBeGreaterThanOrEqual(3000 + delays[i]! - 50)
      expect(gap).toBeLessThan(3000 + delays[i]! + 1500)
    })
    expect(received).toEqual(Array(5).fill('never answered'))

    const message = s.postUserMessage(chatId, alice!.open_id, 'card stand-in')
    const before = s.longConnection.pushes.length
    const clicked = await s.click(message.message_id, alice!.open_id, { op: 'resolve' })
    expect(clicked.status).toBe(0)
    await new Promise((r) => setTimeout(r, 1_500))
    expect(s.longConnection.pushes.length - before).toBe(1)
  }, 40_000)

  it('handles an event pushed the moment the connection opens at once, where the official client alone drops it', async () => {
    // A long first delay: an event dropped on the first push would wait for it.
    const s = await sandbox({ appId: 'cli_0123456789abcdef', repushDelaysMs: [60_000] })
    const [alice] = [...s.state.users.values()]
    const chatId = chatWith(s, alice!.open_id)

    // The official client alone: connected, dropped, and an event held while it reconnects.
    const bare: string[] = []
    const dispatcher = new lark.EventDispatcher({ loggerLevel: lark.LoggerLevel.fatal }).register({
      'im.message.receive_v1': async (data: any) => {
        bare.push(JSON.parse(data.message.content).text)
      },
    } as any)
    const official = new lark.WSClient({
      appId: s.appId,
      appSecret: s.appSecret,
      domain: s.url,
      logger: quiet,
      loggerLevel: lark.LoggerLevel.fatal,
    })
    closers.push(() => official.close({ force: true }))
    await official.start({ eventDispatcher: dispatcher })
    await until('the official client', () => s.longConnection.connected === 1)
    await dropped(s)
    const held = await s.say(chatId, alice!.open_id, 'while away (official)')
    expect(held.delivery.body).toBe('held until a client connects')
    await until('the reconnect', () => s.longConnection.connected === 1, 15_000)
    await until('the first push', () => s.longConnection.pushes.length === 1)
    await new Promise((r) => setTimeout(r, 3_500))
    const officialPush = s.longConnection.pushes[0]!
    official.close({ force: true })
    await until('the official client gone', () => s.longConnection.connected === 0)

    // The receiver's client: the same sequence, handled on the first push.
    const received: string[] = []
    await receiverClient(s, received)
    await until('the receiver’s client', () => s.longConnection.connected === 1)
    await dropped(s)
    await s.say(chatId, alice!.open_id, 'while away (receiver)')
    await until('the receiver handles it', () => received.includes('while away (receiver)'), 15_000)
    const ours = s.longConnection.pushes.at(-1)!
    await until('its answer', () => ours.answered)
    expect(received).toEqual(['while away (receiver)'])
    // What the official client alone does with the same push (the reason for the fix).
    console.info(
      `official WSClient: first push after connecting ${officialPush.answered ? 'answered' : 'dropped'} (${bare.length} handled)`,
    )
  }, 60_000)
})
