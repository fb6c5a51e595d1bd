/**
 * The limits Feishu's official descriptions give, met by the product: more
 * than 50 responders, more than 200 people to buzz, an image upload after the
 * token expired (HTTP 401, 234002).
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { httpImageFetcher } from '../src/images.js'
import { MemoryStore } from '../src/store.js'
import { WarRoom } from '../src/warroom.js'
import {
  clientFor,
  countRequests,
  incident,
  pngBytes,
  sandbox,
  view,
  warRoomFor,
} from './helpers.js'

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
        fetchImage: httpImageFetcher({ maxBytes: 1_000_000 }),
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
