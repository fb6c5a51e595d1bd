import { createHash, createHmac } from 'node:crypto'
import { connect } from 'node:net'
import { Pool, request } from 'undici'
import { describe, expect, it } from 'vitest'
import { MemoryStore } from '../../src/store/store.js'
import { alert, alertmanagerPayload } from '../fixtures/alerts.js'
import {
  addChat,
  clientFor,
  incident,
  sandbox,
  until,
  view,
  warRoomFor,
} from '../support/helpers.js'
import { post, startReceiver, TOKEN } from '../support/receiver.js'

/** Feishu as it answers (shared/feishu-api.md §23): limits, history shapes, repeated uuids. */

const hashOf = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 32)

describe('chat name and description within Feishu’s documented limits', () => {
  it('refuses a description over 100 characters and a name over 60 with 232001, as Lark’s CLI does', async () => {
    const s = await sandbox()
    const client = clientFor(s)
    await expect(
      client.createChat({ name: 'x', description: 'd'.repeat(101) }),
    ).rejects.toMatchObject({ code: 232001 })
    await expect(client.createChat({ name: 'n'.repeat(61) })).rejects.toMatchObject({
      code: 232001,
    })
    const ok = await client.createChat({ name: 'n'.repeat(60), description: '描'.repeat(100) })
    await expect(
      client.updateChat(ok.chat_id, { description: 'd'.repeat(101) }),
    ).rejects.toMatchObject({
      code: 232001,
    })
    // A refused update changes nothing.
    expect(s.state.chats.get(ok.chat_id)!.description).toBe('描'.repeat(100))
  })

  it('never sends a description over 100 characters, open, resolved or reopened, and members cannot edit it', async () => {
    const s = await sandbox()
    const [alice] = [...s.state.users.values()]
    const room = warRoomFor(s, { store: new MemoryStore() })
    const opened = await room.handle(incident({ members: [alice!.open_id] }))
    const seen = [s.state.chats.get(opened.chatId!)!.description]
    for (const status of ['resolved', 'firing', 'resolved'] as const) {
      await room.handle(incident({ status }))
      seen.push(s.state.chats.get(opened.chatId!)!.description)
    }
    expect(seen.map((d) => d.match(/:([or]):/)?.[1])).toEqual(['o', 'r', 'o', 'r'])
    for (const d of seen) expect([...d].length).toBeLessThanOrEqual(85)
    const chat = view(s, opened.chatId!).chat
    expect(chat.edit_permission).toBe('only_owner')
    expect(chat.name).toMatch(/^\[已解决\] /)
    // The stateless lookup (the Action) still finds the chat through its marker.
    const found = await warRoomFor(s).find({ key: incident().key })
    expect(found).toMatchObject({ chatId: opened.chatId, status: 'resolved' })
  })

  it('still reads the 112-character marker of 0.2, and writes the short one on the next change', async () => {
    const s = await sandbox()
    const [alice] = [...s.state.users.values()]
    const key = incident().key
    const seconds = Math.floor(s.now() / 1000) - 60
    const macKey = createHmac('sha256', s.appSecret).update('feishu-warroom:marker:v1').digest()
    const mac = createHmac('sha256', macKey)
      .update(`${hashOf(key)}:open:${seconds}`)
      .digest('hex')
      .slice(0, 24)
    const chatId = addChat(s, {
      name: '🟠 [P1] Checkout API error rate above 5%',
      description: `feishu-warroom incident chat\n[warroom:${hashOf(key)}:open:${seconds}:${mac}]`,
      members: new Set([alice!.open_id]),
    })
    const resolved = await warRoomFor(s).handle(incident({ status: 'resolved' }))
    expect(resolved.action).toBe('resolved')
    expect(resolved.chatId).toBe(chatId)
    const chat = s.state.chats.get(chatId)!
    expect([...chat.description].length).toBeLessThanOrEqual(85)
    expect(chat.description).toMatch(/\[warroom:[\w-]{22}:r:/)
  })

  it('takes no mac-less (0.1) marker from a chat another bot owns: no owner only means “a bot”', async () => {
    const s = await sandbox()
    const [alice] = [...s.state.users.values()]
    const key = incident().key
    const chatId = addChat(s, {
      name: 'another bot’s group',
      description: `[warroom:${hashOf(key)}:open:1700000000]`,
      // Another app owns it: Feishu leaves owner_id out for any bot owner.
      owner: { type: 'app', id: 'cli_0123456789abcdef' },
      members: new Set([alice!.open_id]),
      bots: new Set([s.appId, 'cli_0123456789abcdef']),
    })
    expect(s.state.chats.get(chatId)!.owner.type).toBe('app')
    for (const room of [warRoomFor(s, { store: new MemoryStore() }), warRoomFor(s)]) {
      const result = await room.handle(incident({ members: [alice!.open_id] }))
      expect(result.chatId).not.toBe(chatId)
    }
    expect(view(s, chatId).cards).toHaveLength(0)
  })
})

describe.each(['original', 'error'] as const)('a repeated uuid answering %s', (repeatedUuid) => {
  it('a create whose first answer was lost ends with exactly one chat', async () => {
    const s = await sandbox({ repeatedUuid })
    const [alice] = [...s.state.users.values()]
    s.faults.add({ kind: 'drop', endpoint: 'createChat', times: 1, afterEffect: true })
    const room = warRoomFor(s, { store: new MemoryStore() })
    const result = await room.handle(incident({ members: [alice!.open_id] }))
    expect(result.action).toBe('opened')
    const warRooms = [...s.state.chats.values()].filter((c) => c.description.includes('[warroom:'))
    expect(warRooms.map((c) => c.chat_id)).toEqual([result.chatId])
    expect(view(s, result.chatId!).members).toEqual([alice!.open_id])
    expect(view(s, result.chatId!).cards).toHaveLength(1)
  })

  it('a card send whose first answer was lost ends with exactly one pinned card', async () => {
    const s = await sandbox({ repeatedUuid })
    const [alice] = [...s.state.users.values()]
    s.faults.add({ kind: 'drop', endpoint: 'sendMessage', times: 1, afterEffect: true })
    const room = warRoomFor(s, { store: new MemoryStore() })
    const result = await room.handle(incident({ members: [alice!.open_id] }))
    expect(result.action).toBe('opened')
    const v = view(s, result.chatId!)
    expect(v.cards).toHaveLength(1)
    expect(v.pinned).toEqual([v.cards[0]!.message_id])
    expect(result.cardMessageId).toBe(v.cards[0]!.message_id)
    // An hour later (the uuid forgotten), the next update patches that card, not a new one.
    s.clockOffsetMs += 2 * 3600_000
    await room.handle(incident({ summary: 'later' }))
    expect(view(s, result.chatId!).cards).toHaveLength(1)
  })

  it('a stateless notifier retrying an open after the card send failed for good finds the card, not a second one', async () => {
    const s = await sandbox({ repeatedUuid })
    const [alice] = [...s.state.users.values()]
    // The send happens, its answer is lost, and every retry fails: the open fails.
    s.faults.add({ kind: 'drop', endpoint: 'sendMessage', times: 1, afterEffect: true })
    s.faults.add({ kind: 'status', status: 500, endpoint: 'sendMessage', times: 20 })
    s.faults.add({ kind: 'status', status: 500, endpoint: 'listMessages', times: 20 })
    const first = await warRoomFor(s)
      .handle(incident({ members: [alice!.open_id] }))
      .catch((e: Error) => e)
    expect(first).toBeInstanceOf(Error)
    s.faults.clear()
    s.clockOffsetMs += 2 * 3600_000
    const again = await warRoomFor(s).handle(incident({ members: [alice!.open_id] }))
    const chats = [...s.state.chats.values()].filter((c) => c.description.includes('[warroom:'))
    expect(chats).toHaveLength(1)
    expect(again.chatId).toBe(chats[0]!.chat_id)
    expect(view(s, chats[0]!.chat_id).cards).toHaveLength(1)
  })
})

describe.each(['refuse', 'truncate', 'accept'] as const)(
  'an over-long chat name or description %s by Feishu',
  (longChatText) => {
    it('never sends one: the war room opens, resolves and is found again by its marker', async () => {
      const s = await sandbox({ longChatText })
      const [alice] = [...s.state.users.values()]
      const store = new MemoryStore()
      const title = `${'数据库主库复制延迟过高，'.repeat(12)}（${'x'.repeat(80)}）`
      const opened = await warRoomFor(s, { store }).handle(
        incident({ title, severity: 'critical', members: [alice!.open_id] }),
      )
      expect(opened.action).toBe('opened')
      // A notifier without the store (the Action) finds the chat by its marker, not a second one.
      const again = await warRoomFor(s).handle(
        incident({ title, severity: 'critical', summary: 'still', members: [alice!.open_id] }),
      )
      expect(again.chatId).toBe(opened.chatId)
      const resolved = await warRoomFor(s, { store }).handle(
        incident({ title, status: 'resolved', members: [alice!.open_id] }),
      )
      expect(resolved.action).toBe('resolved')
      const chat = s.state.chats.get(opened.chatId!)!
      // Within the limits whatever Feishu would do past them: nothing was refused, cut or kept long.
      for (const { name } of chat.names) expect([...name].length).toBeLessThanOrEqual(60)
      expect([...chat.description].length).toBeLessThanOrEqual(100)
      expect(chat.name).toMatch(/^\[已解决\] /)
      expect(
        [...s.state.chats.values()].filter((c) => c.description.includes('[warroom:')),
      ).toHaveLength(1)
    })
  },
)

describe('a notification Feishu refuses for good', () => {
  it('is answered 200 (the sender cannot fix it by retrying) but logged with the fix, counted and listed on /readyz', async () => {
    const s = await sandbox({ scopes: ['im:message', 'im:message:send_as_bot'] })
    const lines: Array<{ message: string; fields?: Record<string, unknown> }> = []
    const logger = {
      debug() {},
      info() {},
      warn() {},
      error: (message: string, fields?: Record<string, unknown>) =>
        lines.push({ message, ...(fields ? { fields } : {}) }),
    }
    const { url } = await startReceiver(s, { logger })
    const r = await post(
      `${url}/alertmanager`,
      alertmanagerPayload([alert({ instance: 'a', severity: 'error', summary: 'a fails' })]),
    )
    expect(r.status).toBe(200)
    expect(r.json).toMatchObject({ action: 'failed', code: 99991672 })
    const logged = lines.find((l) => l.message.includes('refused the notification for good'))!
    expect(logged.fields).toMatchObject({ source: 'alertmanager', code: 99991672 })
    expect(String(logged.fields!.fix)).toMatch(/im:chat/)
    expect(String(logged.fields!.key)).toMatch(/^alertmanager:/)
    const readyz = await request(`${url}/readyz`)
    expect(readyz.statusCode).toBe(200)
    const body = (await readyz.body.json()) as any
    expect(body.refused).toEqual([
      expect.objectContaining({
        code: 99991672,
        count: 1,
        source: 'alertmanager',
        fix: expect.stringMatching(/im:chat/),
      }),
    ])
    const metrics = await (await request(`${url}/metrics`)).body.text()
    expect(metrics).toMatch(
      /warroom_notifications_refused_total\{source="alertmanager",code="99991672"\} 1/,
    )
  })
})

describe('limits and answers of the smaller kind', () => {
  it('paces replies with the chat’s own messages: a burst of /status in one chat is never refused', async () => {
    const s = await sandbox()
    const [alice] = [...s.state.users.values()]
    const { warroom } = await startReceiver(s)
    const opened = await warroom.handle(incident({ members: [alice!.open_id] }))
    const chatId = opened.chatId!
    await Promise.all(
      Array.from({ length: 12 }, () =>
        s.say(chatId, alice!.open_id, '/status', { mentionBot: true }),
      ),
    )
    const replies = () =>
      s.state.messagesIn(chatId).filter((m) => m.parent_id && m.sender.sender_type === 'app')
    await until('12 replies', () => replies().length === 12, 20_000)
    expect(s.refusedBy.chat ?? 0).toBe(0)
  }, 30_000)

  it('retries 230048 (listing pins over 50/s) like the other rate limits', async () => {
    const s = await sandbox()
    // 230048 comes without a reset header: the backoff must outlast the second the window needs
    // (the helper's 5–50 ms would spend the 30 rate-limit retries in about a second).
    const client = clientFor(s, { pace: false, retry: { baseDelayMs: 50, maxDelayMs: 200 } })
    const chat = await client.createChat({ name: 'pins' })
    const lists = await Promise.all(
      Array.from({ length: 70 }, async () => {
        const pins = []
        for await (const p of client.listPins(chat.chat_id)) pins.push(p)
        return pins.length
      }),
    )
    expect(lists).toEqual(Array(70).fill(0))
    expect(s.refusedBy['api:listPins']).toBeGreaterThan(0)
  }, 30_000)

  it('neither counts nor mentions people whose joining waits for approval', async () => {
    const s = await sandbox()
    const [alice, , , , erin] = [...s.state.users.values()]
    s.state.approvalRequired.add(erin!.open_id)
    const room = warRoomFor(s, { store: new MemoryStore() })
    const opened = await room.handle(incident({ members: [alice!.open_id] }))
    const updated = await room.handle(incident({ members: [alice!.open_id, erin!.open_id] }))
    expect(updated.warnings.join()).toContain(
      `${erin!.open_id} is waiting for the chat owner's approval`,
    )
    const v = view(s, opened.chatId!)
    expect(v.members).toEqual([alice!.open_id])
    expect(v.cardText).not.toContain(erin!.open_id)
    expect((await room.find({ chatId: opened.chatId! }))!.members).toEqual([alice!.open_id])
  })
})

describe('the receiver’s defaults behind an ingress or one Alertmanager', () => {
  it('answers 400 concurrent notifications from one address without refusing a connection', async () => {
    const s = await sandbox({ rateLimits: false })
    const { url, metrics } = await startReceiver(s, {
      config: {
        intake: { max_new_chats_per_minute: 100000, max_new_chats_per_source_per_minute: 100000 },
      },
    })
    const pool = new Pool(url, { connections: 400 })
    try {
      const answers = await Promise.all(
        Array.from({ length: 400 }, async (_, i) => {
          const res = await pool.request({
            path: '/alertmanager',
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
            body: JSON.stringify(
              alertmanagerPayload(
                [alert({ instance: `i${i % 200}`, severity: 'error', summary: 'x' })],
                {
                  groupKey: `{}:{alertname="G${i % 200}"}`,
                  groupLabels: { alertname: `G${i % 200}` },
                },
              ),
            ),
          })
          await res.body.dump()
          return res.statusCode
        }),
      )
      expect(answers.filter((c) => c !== 200)).toEqual([])
      expect(await metrics.webhooks.get()).not.toMatchObject({
        values: expect.arrayContaining([
          expect.objectContaining({ labels: { source: 'connection', outcome: 'over_ip_cap' } }),
        ]),
      })
    } finally {
      await pool.close()
    }
  }, 60_000)

  it('ends connections that never finish their headers by time, and still serves others meanwhile', async () => {
    const s = await sandbox()
    const { url } = await startReceiver(s, { config: { server: { headers_timeout: '1s' } } })
    const { port } = new URL(url)
    const started = Date.now()
    const closing = Promise.all(
      Array.from({ length: 20 }, () => {
        const socket = connect(Number(port), '127.0.0.1')
        socket.on('error', () => {})
        socket.resume() // read the 408, so the close is seen
        socket.write('POST /alertmanager HTTP/1.1\r\nHost: x\r\n') // headers never finish
        return new Promise<number>((resolve) =>
          socket.once('close', () => resolve(Date.now() - started)),
        )
      }),
    )
    const health = await request(`${url}/healthz`)
    expect(health.statusCode).toBe(200)
    await health.body.dump()
    expect(Date.now() - started).toBeLessThan(900) // served while the slow ones were held
    const closedAt = await closing
    for (const ms of closedAt) {
      expect(ms).toBeGreaterThanOrEqual(900)
      expect(ms).toBeLessThan(4_000)
    }
  }, 20_000)
})
