/**
 * The limits Feishu's official descriptions give, met by the product: more
 * than 50 responders, more than 200 people to buzz, an image upload after the
 * token expired (HTTP 401, 234002).
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { WarRoom } from '../../src/core/warroom.js'
import { DOCUMENTED_LIMITS, marginFor, RateGate } from '../../src/feishu/ratelimit.js'
import { httpImageFetcher } from '../../src/outbound/images.js'
import { MemoryStore } from '../../src/store/store.js'
import {
  clientFor,
  countRequests,
  incident,
  pngBytes,
  sandbox,
  view,
  warRoomFor,
} from '../support/helpers.js'

describe('more responders than one call takes', () => {
  it('opens one chat with all 55 responders: 50 at creation, the rest added', async () => {
    const s = await sandbox()
    const people = Array.from({ length: 55 }, (_, i) => s.state.addUser({ name: `Responder ${i}` }))
    const room = warRoomFor(s, { store: new MemoryStore() })
    const result = await room.handle(
      incident({ severity: 'critical', members: people.map((p) => p.open_id) }),
    )
    expect(result.action).toBe('opened')
    expect(result.failedMembers).toEqual([])
    expect(s.state.chats.size).toBe(1)
    expect(view(s, result.chatId!).members.sort()).toEqual(people.map((p) => p.open_id).sort())
    expect(countRequests(s, 'createChat')).toBe(1)
    expect(countRequests(s, 'addMembers')).toBe(1)
    // Every member is buzzed about the card, once.
    expect(s.state.urgent.flatMap((u) => u.user_ids).sort()).toEqual(
      people.map((p) => p.open_id).sort(),
    )
  })

  it('buzzes 450 people in calls of at most 200', async () => {
    const s = await sandbox()
    const people = Array.from({ length: 450 }, (_, i) => s.state.addUser({ name: `P${i}` }))
    const client = clientFor(s)
    const chat = await client.createChat({ name: 'big', user_id_list: [] })
    await client.addMembers(
      chat.chat_id,
      people.map((p) => p.open_id),
    )
    const sent = await client.sendMessage({
      receiveIdType: 'chat_id',
      receiveId: chat.chat_id,
      msgType: 'text',
      content: { text: 'wake up' },
    })
    const invalid = await client.urgentApp(sent.message_id, [
      ...people.map((p) => p.open_id),
      'ou_nobody',
    ])
    expect(invalid).toEqual(['ou_nobody'])
    expect(s.state.urgent.map((u) => u.user_ids.length)).toEqual([200, 200, 50])
    expect(new Set(s.state.urgent.flatMap((u) => u.user_ids)).size).toBe(450)
  })
})

describe('image upload after the token expired', () => {
  it('refreshes the token once on 401/234002 and keeps the old picture until a new one is up', async () => {
    const s = await sandbox()
    let served = 0
    const server = createServer((req, res) => {
      served++
      if (req.url === '/broken.png') {
        res.writeHead(500)
        res.end()
        return
      }
      res.writeHead(200, { 'content-type': 'image/png' })
      res.end(pngBytes(100 + served))
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      const room = new WarRoom({
        client: clientFor(s),
        store: new MemoryStore(),
        now: () => s.now(),
        fetchImage: httpImageFetcher({ maxBytes: 1_000_000, allow: ['127.0.0.1'] }),
      })
      const first = await room.handle(incident({ images: [`${base}/one.png`] }))
      const imageKey = () =>
        view(s, first.chatId!).card.elements.find((e: any) => e.tag === 'img')?.img_key
      const firstKey = imageKey()
      expect(firstKey).toMatch(/^img_/)

      s.expireAllTokens()
      const second = await room.handle(incident({ images: [`${base}/two.png`] }))
      expect(second.warnings).toEqual([])
      expect(s.state.images.size).toBe(2)
      const secondKey = imageKey()
      expect(secondKey).not.toBe(firstKey)
      expect(s.requests.filter((r) => r.endpoint === 'uploadImage').length).toBe(3) // 401, then the retry

      const third = await room.handle(incident({ images: [`${base}/broken.png`] }))
      expect(third.warnings.join()).toMatch(/broken\.png not shown/)
      expect(imageKey()).toBe(secondKey)
    } finally {
      server.close()
    }
  })
})

describe('client pacing', () => {
  /** A gate on a fake clock; sleeping moves the clock. */
  function fakeGate(start: number) {
    let now = start
    const gate = new RateGate(
      () => now,
      async (ms) => {
        now += ms
      },
    )
    return { gate, clock: () => now }
  }

  it('never lets more than the limit fall in any window of its length, across an epoch edge', async () => {
    // Start 50 ms before a second boundary: fixed windows would pass 100 calls within ~50 ms.
    const { gate, clock } = fakeGate(1_700_000_000_950)
    const sent: number[] = []
    for (let i = 0; i < 400; i++) {
      const ticket = await gate.acquire('api:sendMessage', DOCUMENTED_LIMITS.api)
      gate.stamp([ticket])
      gate.landed([ticket]) // answered at once
      sent.push(clock())
    }
    let worst = 0
    for (let i = 0; i < sent.length; i++) {
      const inWindow = sent.filter((t) => t >= sent[i]! && t < sent[i]! + 1000).length
      worst = Math.max(worst, inWindow)
    }
    expect(worst).toBe(50)
    // ...and with the margin the pace stays close to the limit: 400 calls in about 8 windows.
    expect(sent.at(-1)! - sent[0]!).toBeLessThan(
      7 * (1000 + marginFor({ limit: 50, ms: 1000 })) + 100,
    )
  })

  it('counts a call from when it leaves, not from when its first slot was taken', async () => {
    let now = 0
    const gate = new RateGate(
      () => now,
      async (ms) => {
        now += ms
      },
    )
    const first = await gate.acquire('k', [{ limit: 1, ms: 1000 }])
    now += 900 // the call waited for another limit before it left
    gate.stamp([first])
    gate.landed([first])
    const second = await gate.acquire('k', [{ limit: 1, ms: 1000 }])
    expect(second.entries[0]!.at).toBeGreaterThanOrEqual(900 + 1000)
  })

  it('counts a call from its answer: the next one leaves a window after the answer, however long the call took', async () => {
    // Each sleep takes a real millisecond, so the call below can be on its way for a while.
    let now = 0
    const clock = () => now
    const gate = new RateGate(clock, async (ms) => {
      await new Promise((r) => setTimeout(r, 1))
      now += ms
    })
    const window = [{ limit: 1, ms: 1000 }]
    const first = await gate.acquire('k', window)
    gate.stamp([first])
    // While the first is on its way, Feishu may count it at any moment: the second waits.
    let second: number | undefined
    const waiting = gate.acquire('k', window).then((t) => {
      second = clock()
      return t
    })
    await new Promise((r) => setTimeout(r, 20))
    expect(second).toBeUndefined()
    const answeredAt = clock()
    gate.landed([first])
    await waiting
    expect(second! - answeredAt).toBeGreaterThanOrEqual(1000)
    // ...and by no more than the margin for timers and rounding.
    expect(second! - answeredAt).toBeLessThanOrEqual(1000 + marginFor(window[0]!) + 1)
  })

  it('stops counting a call whose answer was never reported after a minute', async () => {
    const { gate, clock } = fakeGate(0)
    const window = [{ limit: 1, ms: 1000 }]
    gate.stamp([await gate.acquire('k', window)]) // never landed
    await gate.acquire('k', window)
    expect(clock()).toBeGreaterThanOrEqual(60_000)
    expect(clock()).toBeLessThan(60_000 + 1000 + marginFor(window[0]!) + 2)
  })

  it('lets 50 calls a second through when each answers within 30 ms, where a fixed 150 ms margin let 43', async () => {
    const { gate, clock } = fakeGate(1_700_000_000_000)
    const sent: number[] = []
    for (let i = 0; i < 500; i++) {
      const ticket = await gate.acquire('api:sendMessage', DOCUMENTED_LIMITS.api)
      gate.stamp([ticket])
      sent.push(clock())
      const answer = clock() + 30
      gate.landed([ticket])
      ticket.entries.forEach((e) => {
        e.at = answer
      })
    }
    // No window of a second, with the answers' 30 ms on top, holds more than 50.
    const worst = Math.max(...sent.map((t) => sent.filter((u) => u >= t && u < t + 1030).length))
    expect(worst).toBe(50)
    const perSecond = (sent.length - 1) / ((sent.at(-1)! - sent[0]!) / 1000)
    expect(perSecond).toBeGreaterThan(46)
  })
})

describe('the shared count down', () => {
  it('keeps each of three replicas to a third of the limit while the database cannot be asked', async () => {
    let now = 1_700_000_000_000
    const gate = new RateGate(
      () => now,
      async (ms) => {
        now += ms
      },
    )
    let up = true
    gate.share({
      take: async () => {
        if (!up) throw new Error('ECONNREFUSED')
        return { slot: String(now) }
      },
      stamp: async () => {},
      peers: () => 3,
    })
    const sentAt = async (n: number) => {
      const sent: number[] = []
      for (let i = 0; i < n; i++) {
        const ticket = await gate.acquire('api:sendMessage', DOCUMENTED_LIMITS.api)
        gate.stamp([ticket])
        gate.landed([ticket])
        sent.push(now)
      }
      return sent
    }
    const worst = (sent: number[]) =>
      Math.max(...sent.map((t) => sent.filter((u) => u >= t && u < t + 1000).length))
    expect(worst(await sentAt(100))).toBe(50) // the database answers: the whole limit (it counts the others)
    now += 120_000
    up = false
    expect(worst(await sentAt(100))).toBe(16) // down: floor(50 / 3)
  })
})

describe('the shared count full', () => {
  it('counts as a window of calls waiting while it says wait, so a replica merges its follow-ups too', async () => {
    let now = 1_700_000_000_000
    let wake: (() => void) | undefined
    // Sleeping waits for the test to wake it, moving the clock then.
    const gate = new RateGate(
      () => now,
      (ms) =>
        new Promise<void>((resolve) => {
          wake = () => {
            now += ms
            resolve()
          }
        }),
    )
    // Other replicas have used the second's 50: the count says wait 400 ms, then gives a slot.
    let full = true
    gate.share({
      take: async () => {
        if (full) {
          full = false
          return { waitMs: 400 }
        }
        return { slot: String(now) }
      },
      stamp: async () => {},
      peers: () => 3,
    })
    const key = 'api:sendMessage'
    expect(gate.queued(key, DOCUMENTED_LIMITS.api)).toBe(0)
    const ticket = gate.acquire(key, DOCUMENTED_LIMITS.api)
    while (!wake) await new Promise((r) => setImmediate(r))
    // One call of its own, asleep on the count's answer, and a full quota behind it: a window's worth.
    expect(gate.queued(key, DOCUMENTED_LIMITS.api)).toBe(50)
    wake()
    gate.landed([await ticket])
    // Its slot taken, the count had room again: back to what waits here.
    expect(gate.queued(key, DOCUMENTED_LIMITS.api)).toBe(0)
  })
})

describe('priority in the pacer', () => {
  it('serves a critical incident’s call before calls queued earlier, and keeps order within a priority', async () => {
    let now = 0
    const gate = new RateGate(
      () => now,
      async (ms) => {
        now += ms
      },
    )
    const window = [{ limit: 1, ms: 1000 }]
    const served: string[] = []
    const take = (name: string, priority = 0) =>
      gate.acquire('api:sendMessage', window, priority).then(() => served.push(name))
    const all = [
      take('a'),
      take('b'),
      take('c'),
      take('critical', 1),
      take('summary', -1),
      take('d'),
    ]
    await Promise.all(all)
    expect(served).toEqual(['a', 'critical', 'b', 'c', 'd', 'summary'])
  })
})
