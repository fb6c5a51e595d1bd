import { readdir, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { WarRoom } from '../../src/core/warroom.js'
import { IncidentError } from '../../src/model/incident.js'
import { httpImageFetcher } from '../../src/outbound/images.js'
import { FileStore, MemoryStore } from '../../src/store/store.js'
import {
  clientFor,
  countRequests,
  incident,
  pngBytes,
  sandbox,
  tempDir,
  view,
  warRoomFor,
} from '../support/helpers.js'

const users = (s: Awaited<ReturnType<typeof sandbox>>) => [...s.state.users.values()]

describe('open', () => {
  it('creates one chat with members, posts the card, puts it at the top of the chat and pins it, for exactly 4 Feishu calls', async () => {
    const s = await sandbox()
    const [alice, bob] = users(s)
    const room = warRoomFor(s, { store: new MemoryStore() })
    await room.handle(incident({ key: 'warm-up' })) // first call syncs the empty store and fetches a token
    const result = await room.handle(incident({ members: [alice!.open_id, bob!.open_id] }))
    expect(result.action).toBe('opened')
    expect(result.feishuCalls).toBe(4)
    const v = view(s, result.chatId!)
    // The header everyone sees: the chat's top notice is the card.
    expect(s.state.chats.get(result.chatId!)!.topNotice).toBe(result.cardMessageId)
    expect(v.name).toBe('🔴 [P1] Checkout API error rate above 5%')
    expect(v.chat.description).toMatch(/\[warroom:[\w-]{22}:o:[0-9a-z]+:[\w-]{16}\]/)
    expect(v.chat.edit_permission).toBe('only_owner')
    expect(v.chat.owner).toEqual({ type: 'app', id: s.appId })
    expect(v.members.sort()).toEqual([alice!.open_id, bob!.open_id].sort())
    expect(v.cards).toHaveLength(1)
    expect(v.pinned).toEqual([v.cards[0]!.message_id])
    expect(result.cardMessageId).toBe(v.cards[0]!.message_id)
    expect(v.card.config.update_multi).toBe(true)
    expect(v.card.header.template).toBe('red')
    expect(v.card.header.title.content).toBe('🔴 [P1] Checkout API error rate above 5%')
    // Responders are mentioned for real.
    expect(v.cards[0]!.mentions.sort()).toEqual([alice!.open_id, bob!.open_id].sort())
    expect(result.chatUrl).toBe(
      `https://applink.feishu.cn/client/chat/open?openChatId=${result.chatId}`,
    )
  })

  it('opens exactly one chat and one card for 20 concurrent opens of one key', async () => {
    const s = await sandbox()
    const room = warRoomFor(s, { store: new MemoryStore() })
    const results = await Promise.all(Array.from({ length: 20 }, () => room.handle(incident())))
    expect(results.filter((r) => r.action === 'opened')).toHaveLength(1)
    expect(new Set(results.map((r) => r.chatId)).size).toBe(1)
    const chats = [...s.state.chats.values()].filter((c) => c.name.includes('Checkout'))
    expect(chats).toHaveLength(1)
    expect(view(s, chats[0]!.chat_id).cards).toHaveLength(1)
  })

  it('opens one chat when two processes (no shared store) race on the same key', async () => {
    const s = await sandbox()
    const a = warRoomFor(s)
    const b = warRoomFor(s)
    const [ra, rb] = await Promise.all([a.handle(incident()), b.handle(incident())])
    expect(ra.chatId).toBe(rb.chatId)
    expect([...s.state.chats.values()]).toHaveLength(1)
    expect(view(s, ra.chatId!).cards).toHaveLength(1)
  })

  it('keeps one chat when the create answer is lost and retried', async () => {
    const s = await sandbox()
    const room = warRoomFor(s, { store: new MemoryStore() })
    s.faults.add({ kind: 'drop', times: 1, endpoint: 'createChat', afterEffect: true })
    s.faults.add({
      kind: 'status',
      status: 502,
      times: 1,
      endpoint: 'sendMessage',
      afterEffect: true,
    })
    const result = await room.handle(incident())
    expect(result.action).toBe('opened')
    expect(s.state.chats.size).toBe(1)
    expect(view(s, result.chatId!).cards).toHaveLength(1)
  })

  it('resolves emails to open_ids once and reuses them; reports ids it could not add without failing', async () => {
    const s = await sandbox()
    const [alice, bob] = users(s)
    const gone = s.state.addUser({ name: 'Gone', email: 'gone@example.com', status: 'resigned' })
    const room = warRoomFor(s, { store: new MemoryStore() })
    const result = await room.handle(
      incident({
        members: [
          'alice@example.com',
          'BOB@example.com',
          'nobody@example.com',
          gone.open_id,
          'ou_missing',
          'not an id!',
        ],
      }),
    )
    expect(result.action).toBe('opened')
    expect(view(s, result.chatId!).members.sort()).toEqual([alice!.open_id, bob!.open_id].sort())
    expect(result.failedMembers.map((f) => f.id).sort()).toEqual(
      ['not an id!', 'nobody@example.com', 'ou_missing', gone.open_id].sort(),
    )
    // The card tells the room who could not be invited.
    const v = view(s, result.chatId!)
    expect(v.cardText).toContain('ou&#95;missing')
    expect(countRequests(s, 'batchGetId')).toBe(1)
    await room.handle(incident({ key: 'other', members: ['alice@example.com'] }))
    expect(countRequests(s, 'batchGetId')).toBe(1) // cached
  })

  it('adds union_id and user_id members with their own id type', async () => {
    const s = await sandbox()
    const [alice, bob] = users(s)
    const room = warRoomFor(s, { store: new MemoryStore() })
    const result = await room.handle(incident({ members: [alice!.union_id, bob!.user_id] }))
    expect(view(s, result.chatId!).members.sort()).toEqual([alice!.open_id, bob!.open_id].sort())
  })

  it('buzzes the members of a critical incident', async () => {
    const s = await sandbox()
    const [alice] = users(s)
    const room = warRoomFor(s, { store: new MemoryStore() })
    const result = await room.handle(incident({ severity: 'critical', members: [alice!.open_id] }))
    expect(view(s, result.chatId!).name).toBe('🔥 [P0] Checkout API error rate above 5%')
    expect(view(s, result.chatId!).card.header.template).toBe('carmine')
    expect(s.state.urgent).toEqual([
      expect.objectContaining({ message_id: result.cardMessageId, user_ids: [alice!.open_id] }),
    ])
  })

  it('keeps the chat name within the limit, leaving room for the resolved prefix', async () => {
    const s = await sandbox()
    const room = warRoomFor(s, { store: new MemoryStore() })
    const result = await room.handle(incident({ title: `Very long title ${'x'.repeat(200)}` }))
    const name = view(s, result.chatId!).name
    expect([...name].length).toBeLessThanOrEqual(60 - [...'[已解决] '].length)
    expect(name.endsWith('…')).toBe(true)
    await room.handle(incident({ title: `Very long title ${'x'.repeat(200)}`, status: 'resolved' }))
    expect(view(s, result.chatId!).name).toBe(`[已解决] ${name.replace('🔴 ', '')}`)
  })

  it('rejects a bad incident with a message naming each bad field, and calls nothing', async () => {
    const s = await sandbox()
    const room = warRoomFor(s)
    const error = await room
      .handle({
        key: '',
        title: 'x',
        severity: 'fatal',
        links: [{ label: 'x', url: 'javascript:alert(1)' }],
      } as never)
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(IncidentError)
    expect((error as Error).message).toContain('key: must not be empty')
    expect((error as Error).message).toContain('severity:')
    expect((error as Error).message).toContain('links[0].url: must be an http(s) URL')
    expect(s.requests).toHaveLength(0)
  })
})

describe('update', () => {
  it('puts up the header a process killed between the card and its top notice left undone, at the next change', async () => {
    const s = await sandbox()
    const store = new MemoryStore()
    const opened = await warRoomFor(s, { store }).handle(incident())
    const chat = s.state.chats.get(opened.chatId!)!
    expect(chat.topNotice).toBe(opened.cardMessageId)
    const [record] = await store.list()
    expect(record!.headerPending).toBeUndefined()
    // As the kill leaves it: the card sent and recorded with the mark, no top notice, no pin.
    delete chat.topNotice
    s.state.pins.clear()
    await store.put({ ...record!, headerPending: true, version: record!.version + 1 })
    // Another process (a restart, a replica) takes the next change.
    const restarted = warRoomFor(s, { store })
    const updated = await restarted.handle(
      incident({ items: [{ id: 'a2', title: 'checkout-api-c31 5xx rate 9%', status: 'firing' }] }),
    )
    expect(updated.action).toBe('updated')
    expect(chat.topNotice).toBe(opened.cardMessageId)
    expect([...s.state.pins.values()].map((p) => p.message_id)).toEqual([opened.cardMessageId])
    expect((await store.list())[0]!.headerPending).toBeUndefined()
    // Once: the change after it puts up nothing again.
    const topNotices = countRequests(s, 'putTopNotice')
    expect(topNotices).toBe(2)
    await restarted.handle(
      incident({ items: [{ id: 'a3', title: 'checkout-api-d42 5xx rate 8%', status: 'firing' }] }),
    )
    expect(countRequests(s, 'putTopNotice')).toBe(topNotices)
  })

  it('makes zero Feishu calls for an identical repeat', async () => {
    const s = await sandbox()
    const room = warRoomFor(s, { store: new MemoryStore() })
    await room.handle(incident())
    const before = s.requests.length
    const repeat = await room.handle(incident())
    expect(repeat.action).toBe('none')
    expect(repeat.feishuCalls).toBe(0)
    expect(s.requests.length).toBe(before)
  })

  it('patches the card in place and says what changed when new alerts fire and others resolve', async () => {
    const s = await sandbox()
    const room = warRoomFor(s, { store: new MemoryStore() })
    const opened = await room.handle(incident())
    const updated = await room.handle(
      incident({
        items: [
          { id: 'a1', title: 'checkout-api-7f9 5xx rate 7%', status: 'resolved' },
          {
            id: 'a2',
            title: 'checkout-api-c31 5xx rate 9%',
            status: 'firing',
            url: 'https://prom.example.com/graph?g0',
          },
        ],
      }),
    )
    expect(updated.action).toBe('updated')
    const v = view(s, opened.chatId!)
    expect(v.cards).toHaveLength(1)
    expect(s.state.messages.get(opened.cardMessageId!)!.patches).toBe(1)
    expect(v.cardText).toContain('checkout&#45;api&#45;c31')
    expect(v.posts.at(-1)).toContain('新增 1 项告警')
    expect(v.posts.at(-1)).toContain('1 项已恢复')
    expect(v.posts.at(-1)).toContain('checkout-api-c31 5xx rate 9%')
  })

  it('renames the chat and announces a raised severity', async () => {
    const s = await sandbox()
    const room = warRoomFor(s, { store: new MemoryStore() })
    const opened = await room.handle(incident({ severity: 'warning' }))
    expect(view(s, opened.chatId!).name).toMatch(/^🟠 \[P2\]/)
    await room.handle(incident({ severity: 'critical' }))
    const v = view(s, opened.chatId!)
    expect(v.name).toMatch(/^🔥 \[P0\]/)
    expect(v.card.header.template).toBe('carmine')
    expect(v.posts.at(-1)).toContain('级别从「警告」升至「严重」')
  })

  it('invites members added later', async () => {
    const s = await sandbox()
    const [alice, bob] = users(s)
    const room = warRoomFor(s, { store: new MemoryStore() })
    const opened = await room.handle(incident({ members: [alice!.open_id] }))
    await room.handle(incident({ members: [alice!.open_id, bob!.open_id] }))
    expect(view(s, opened.chatId!).members.sort()).toEqual([alice!.open_id, bob!.open_id].sort())
    expect(view(s, opened.chatId!).cards[0]!.mentions.sort()).toEqual(
      [alice!.open_id, bob!.open_id].sort(),
    )
  })
})

describe('resolve', () => {
  it('turns the card green, posts how long it lasted, renames with [已解决] in at most 3 calls; twice is a no-op', async () => {
    const s = await sandbox()
    const room = warRoomFor(s, { store: new MemoryStore() })
    const opened = await room.handle(incident())
    s.advance(65 * 60_000)
    const resolved = await room.handle(
      incident({ status: 'resolved', resolution: 'Rolled back to v41' }),
    )
    expect(resolved.action).toBe('resolved')
    expect(resolved.feishuCalls).toBeLessThanOrEqual(3)
    const v = view(s, opened.chatId!)
    expect(v.name).toBe('[已解决] [P1] Checkout API error rate above 5%')
    expect(v.card.header.template).toBe('green')
    expect(v.cardText).toContain('1小时5分')
    expect(v.cardText).not.toContain('"op":"ack"')
    expect(v.posts.at(-1)).toContain('✅ 事件已解决')
    expect(v.posts.at(-1)).toContain('持续 1小时5分')
    expect(v.posts.at(-1)).toContain('Rolled back to v41')
    expect(v.chat.description).toMatch(/:r:/)
    const again = await room.handle(incident({ status: 'resolved' }))
    expect(again.action).toBe('none')
    expect(again.feishuCalls).toBe(0)
    expect(view(s, opened.chatId!).name).toBe('[已解决] [P1] Checkout API error rate above 5%')
  })

  it('names the person who resolved it', async () => {
    const s = await sandbox()
    const [alice] = users(s)
    const room = warRoomFor(s, { store: new MemoryStore() })
    const opened = await room.handle(incident({ members: [alice!.open_id] }))
    const result = await room.resolveBy(
      { chatId: opened.chatId! },
      { openId: alice!.open_id, name: 'Alice' },
      'restarted the pods',
    )
    expect(result.action).toBe('resolved')
    const v = view(s, opened.chatId!)
    expect(v.posts.at(-1)).toContain(`@${alice!.open_id}`)
    expect(v.posts.at(-1)).toContain('restarted the pods')
    // The source still reports the alert: the green card says so instead of "firing".
    expect(v.cardRead).toContain('(1/1 来源仍报告告警)')
    expect(v.cards[0]!.mentions).toContain(alice!.open_id)
  })

  it('does nothing for a resolution of an unknown key', async () => {
    const s = await sandbox()
    const room = warRoomFor(s, { store: new MemoryStore() })
    await room.handle(incident({ key: 'other' }))
    const result = await room.handle(incident({ status: 'resolved' }))
    expect(result.action).toBe('none')
    expect(s.state.chats.size).toBe(1)
  })

  it('runs open → update → resolve → fire again inside the reopen window (same chat) and outside it (new chat)', async () => {
    const s = await sandbox()
    const room = warRoomFor(s, {
      store: new MemoryStore(),
      config: { reopenWindowMs: 10 * 60_000 },
    })
    const opened = await room.handle(incident())
    await room.handle(
      incident({ items: [...incident().items!, { id: 'a2', title: 'second', status: 'firing' }] }),
    )
    await room.handle(incident({ status: 'resolved' }))
    s.advance(5 * 60_000)
    const reopened = await room.handle(incident())
    expect(reopened.action).toBe('opened')
    expect(reopened.reopened).toBe(true)
    expect(reopened.chatId).toBe(opened.chatId)
    let v = view(s, opened.chatId!)
    expect(v.name).toBe('🔴 [P1] Checkout API error rate above 5%')
    expect(v.card.header.template).toBe('red')
    expect(v.posts.at(-1)).toContain('再次出现')
    expect(v.chat.description).toMatch(/:o:/)

    await room.handle(incident({ status: 'resolved' }))
    s.advance(11 * 60_000)
    const fresh = await room.handle(incident())
    expect(fresh.action).toBe('opened')
    expect(fresh.reopened).toBeUndefined()
    expect(fresh.chatId).not.toBe(opened.chatId)
    v = view(s, fresh.chatId!)
    expect(v.cardText).toContain(`openChatId=${opened.chatId}`)
    expect(view(s, opened.chatId!).name).toMatch(/^\[已解决\] /)
  })
})

describe('acknowledge', () => {
  it('records who acknowledged, shows it on the card, and ignores a second ack', async () => {
    const s = await sandbox()
    const [alice, bob] = users(s)
    const room = warRoomFor(s, { store: new MemoryStore() })
    const opened = await room.handle(incident({ members: [alice!.open_id, bob!.open_id] }))
    const ack = await room.acknowledge(
      { chatId: opened.chatId! },
      { openId: bob!.open_id, name: 'Bob' },
    )
    expect(ack.action).toBe('acknowledged')
    const v = view(s, opened.chatId!)
    expect(v.cardText).toContain('已确认')
    expect(v.cardText).not.toContain('"op":"ack"')
    expect(v.posts.at(-1)).toContain(`@${bob!.open_id}`)
    const record = await room.find({ chatId: opened.chatId! })
    expect(record?.ack?.by.openId).toBe(bob!.open_id)
    const again = await room.acknowledge({ chatId: opened.chatId! }, { openId: alice!.open_id })
    expect(again.action).toBe('none')
  })
})

describe('finding the chat for a key', () => {
  it('without a store, finds the chat through its marker and the card through its pin', async () => {
    const s = await sandbox()
    const first = warRoomFor(s)
    const opened = await first.handle(incident({ event: 'run-1' }))
    const second = warRoomFor(s) // a new process: no memory of the first
    const updated = await second.handle(
      incident({
        event: 'run-2',
        items: [{ id: 'b1', title: 'job test failed', status: 'firing' }],
      }),
    )
    expect(updated.action).toBe('updated')
    expect(updated.chatId).toBe(opened.chatId)
    expect(updated.cardMessageId).toBe(opened.cardMessageId)
    expect(view(s, opened.chatId!).cards).toHaveLength(1)
    const third = warRoomFor(s)
    const resolved = await third.handle(incident({ status: 'resolved' }))
    expect(resolved.action).toBe('resolved')
    expect(view(s, opened.chatId!).name).toMatch(/^\[已解决\] /)
    expect(view(s, opened.chatId!).card.header.template).toBe('green')
  })

  it('keeps records in a file store across restarts', async () => {
    const s = await sandbox()
    const dir = await tempDir()
    const room = warRoomFor(s, { store: await FileStore.open(dir) })
    const opened = await room.handle(incident())
    const restarted = warRoomFor(s, { store: await FileStore.open(dir) })
    const before = s.requests.length
    expect((await restarted.handle(incident())).feishuCalls).toBe(0)
    expect(s.requests.length).toBe(before)
    const resolved = await restarted.handle(incident({ status: 'resolved' }))
    expect(resolved.chatId).toBe(opened.chatId)
    expect((await readdir(join(dir, 'incidents'))).filter((f) => f.endsWith('.tmp'))).toEqual([])
  })

  it('rebuilds a lost store from the chats in Feishu', async () => {
    const s = await sandbox()
    const room = warRoomFor(s, { store: await FileStore.open(await tempDir()) })
    const opened = await room.handle(incident())
    const lost = warRoomFor(s, { store: await FileStore.open(await tempDir()) })
    const resolved = await lost.handle(incident({ status: 'resolved' }))
    expect(resolved.action).toBe('resolved')
    expect(resolved.chatId).toBe(opened.chatId)
    expect(s.state.chats.size).toBe(1)
    expect(view(s, opened.chatId!).card.header.template).toBe('green')
  })

  it('cleans up a crashed write and refuses a corrupt record with a clear message', async () => {
    const dir = await tempDir()
    const store = await FileStore.open(dir)
    await writeFile(join(dir, 'incidents', 'abc.json.123.tmp'), '{"half')
    await FileStore.open(dir)
    expect(await readdir(join(dir, 'incidents'))).toEqual([])
    await writeFile(join(dir, 'incidents', `${'a'.repeat(32)}.json`), '{"half')
    await expect(FileStore.open(dir)).rejects.toThrow(/Corrupt incident record .*Move it away/)
    expect(await store.isEmpty()).toBe(true)
  })
})

describe('images', () => {
  it('downloads an incident image, uploads it and shows it on the card; a broken image never blocks', async () => {
    const s = await sandbox()
    const png = pngBytes(2048)
    const server = createServer((req, res) => {
      if (req.url === '/panel.png') {
        res.writeHead(200, { 'content-type': 'image/png' })
        res.end(png)
      } else {
        res.writeHead(404)
        res.end()
      }
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
      const result = await room.handle(
        incident({ images: [`${base}/panel.png`, `${base}/missing.png`] }),
      )
      expect(result.action).toBe('opened')
      expect(result.warnings.join()).toContain('missing.png not shown')
      // The reason stays in the log: the image lines only (another names a chat id), past the
      // address (a port number may hold "404").
      const images = result.warnings.filter((w) => w.startsWith('image '))
      expect(images.join().replaceAll(base, '')).not.toMatch(/404/)
      const [image] = [...s.state.images.values()]
      expect(image?.bytes.equals(Buffer.from(png))).toBe(true)
      expect(view(s, result.chatId!).card.elements).toContainEqual(
        expect.objectContaining({ tag: 'img', img_key: image!.image_key }),
      )
    } finally {
      server.close()
    }
  })

  it('refuses an image over the size cap', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png' })
      res.end(Buffer.alloc(5000))
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    try {
      const fetch = httpImageFetcher({ maxBytes: 1000, allow: ['127.0.0.1'] })
      await expect(
        fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/big`),
      ).rejects.toThrow(/larger than 1000 bytes/)
    } finally {
      server.close()
    }
  })
})

describe('language', () => {
  it('writes cards and messages in English when configured', async () => {
    const s = await sandbox()
    const room = warRoomFor(s, {
      store: new MemoryStore(),
      config: { language: 'en', resolvedPrefix: '[Resolved] ' },
    })
    const opened = await room.handle(incident())
    expect(view(s, opened.chatId!).cardText).toContain('Firing')
    expect(view(s, opened.chatId!).cardText).toContain('Acknowledge')
    await room.handle(incident({ status: 'resolved' }))
    expect(view(s, opened.chatId!).name).toBe('[Resolved] [P1] Checkout API error rate above 5%')
    expect(view(s, opened.chatId!).posts.at(-1)).toContain('Incident resolved')
  })
})

describe('long-lived incidents', () => {
  it('keeps a flapping incident’s record bounded', async () => {
    const s = await sandbox({ rateLimits: false })
    const store = new MemoryStore()
    const room = warRoomFor(s, { store })
    await room.handle(incident())
    for (let i = 0; i < 600; i++) {
      await room.handle(
        incident({ items: [{ id: `f${i % 2}`, title: `flap ${i % 2}`, status: 'firing' }] }),
      )
    }
    const [record] = await store.list()
    expect(record!.events.length).toBeLessThanOrEqual(500)
    expect(record!.events[0]!.type).toBe('opened')
  }, 60_000)
})
