import { createHash } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { FeishuClient } from '../../src/feishu/client.js'
import { FeishuError } from '../../src/feishu/errors.js'
import { resolveBaseUrl } from '../../src/feishu/transport.js'
import { clientFor, countRequests, pngBytes, sandbox } from '../support/helpers.js'

const card = (title: string) => ({
  config: { update_multi: true },
  header: { title: { tag: 'plain_text', content: title }, template: 'red' },
  elements: [{ tag: 'markdown', content: `**${title}**` }],
})

describe('tenant_access_token', () => {
  it('is fetched once and reused across calls', async () => {
    const s = await sandbox()
    const client = clientFor(s)
    const chat = await client.createChat({ name: 'token reuse' })
    await client.getChat(chat.chat_id)
    await client.updateChat(chat.chat_id, { description: 'x' })
    expect(countRequests(s, 'token')).toBe(1)
    expect(s.state.chats.get(chat.chat_id)?.description).toBe('x')
  })

  it('is refreshed once after the sandbox expires every token mid-run', async () => {
    const s = await sandbox()
    const client = clientFor(s)
    const chat = await client.createChat({ name: 'before expiry' })
    s.expireAllTokens()
    await client.updateChat(chat.chat_id, { name: 'after expiry' })
    expect(countRequests(s, 'token')).toBe(2)
    // The refused call was sent twice: once with the dead token, once with the new one.
    expect(countRequests(s, 'updateChat')).toBe(2)
    expect(s.state.chats.get(chat.chat_id)?.name).toBe('after expiry')
  })

  it('is refreshed before it expires, without a refused call', async () => {
    const s = await sandbox({ tokenTtlSeconds: 7200 })
    const client = clientFor(s)
    await client.createChat({ name: 'a' })
    s.advance(7200_000 - 60_000) // one minute left: inside the 3-minute refresh margin
    await client.createChat({ name: 'b' })
    expect(countRequests(s, 'token')).toBe(2)
    expect(s.requests.filter((r) => r.endpoint === 'createChat')).toHaveLength(2)
  })

  it('reports wrong credentials with a hint and never shows the secret', async () => {
    const s = await sandbox()
    const secret = 'wrong-secret-value-123'
    const client = clientFor(s, { appSecret: secret })
    const error = await client.getChat('oc_x').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(FeishuError)
    const e = error as FeishuError
    expect(e.code).toBe(10014)
    expect(e.message).toContain('app id or app secret is wrong')
    expect(e.message).not.toContain(secret)
    expect(JSON.stringify({ ...e, message: e.message })).not.toContain(secret)
  })
})

describe('retries', () => {
  it('retries an idempotent call through a burst of 5xx and succeeds', async () => {
    const s = await sandbox()
    const client = clientFor(s)
    const chat = await client.createChat({ name: 'burst' })
    s.faults.add({ kind: 'status', status: 503, times: 3, endpoint: 'getChat' })
    const info = await client.getChat(chat.chat_id)
    expect(info.name).toBe('burst')
    expect(countRequests(s, 'getChat')).toBe(4)
  })

  it('retries through 5xx pages that are not JSON (a proxy error page)', async () => {
    const s = await sandbox()
    const client = clientFor(s)
    s.faults.add({ kind: 'status', status: 502, html: true, times: 2, endpoint: 'listChats' })
    await client.createChat({ name: 'html' })
    const names = []
    for await (const c of client.listChats()) names.push(c.name)
    expect(names).toEqual(['html'])
  })

  it('gives up after the attempt budget with the Feishu details in the error', async () => {
    const s = await sandbox()
    const client = clientFor(s, { retry: { maxAttempts: 3 } })
    s.faults.add({ kind: 'status', status: 500, times: 10, endpoint: 'getChat' })
    const e = (await client.getChat('oc_1').catch((x: unknown) => x)) as FeishuError
    expect(e).toBeInstanceOf(FeishuError)
    expect(e.httpStatus).toBe(500)
    expect(e.code).toBe(2200)
    expect(e.logId).toMatch(/^\d{14}[0-9A-F]{16}$/)
    expect(e.endpoint).toBe('GET /open-apis/im/v1/chats/:chat_id')
    expect(e.message).toContain('after 3 attempts')
    expect(countRequests(s, 'getChat')).toBe(3)
  })

  it('does not repeat a send without uuid after an ambiguous failure', async () => {
    const s = await sandbox()
    const client = clientFor(s)
    const chat = await client.createChat({ name: 'no uuid' })
    s.faults.add({
      kind: 'status',
      status: 500,
      times: 1,
      endpoint: 'sendMessage',
      afterEffect: true,
    })
    await expect(
      client.sendMessage({
        receiveIdType: 'chat_id',
        receiveId: chat.chat_id,
        msgType: 'text',
        content: { text: 'hi' },
      }),
    ).rejects.toThrow(FeishuError)
    expect(countRequests(s, 'sendMessage')).toBe(1)
    const texts = s.state.messagesIn(chat.chat_id).filter((m) => m.msg_type === 'text')
    expect(texts).toHaveLength(1) // Feishu did the work once; we did not ask twice.
  })

  it('repeats a send that carries a uuid after a dropped answer, and Feishu keeps one message', async () => {
    const s = await sandbox()
    const client = clientFor(s)
    const chat = await client.createChat({ name: 'uuid send' })
    s.faults.add({ kind: 'drop', times: 1, endpoint: 'sendMessage', afterEffect: true })
    const sent = await client.sendMessage({
      receiveIdType: 'chat_id',
      receiveId: chat.chat_id,
      msgType: 'interactive',
      content: card('one card'),
      uuid: 'incident-1-card',
    })
    expect(countRequests(s, 'sendMessage')).toBe(2)
    const cards = s.state.messagesIn(chat.chat_id).filter((m) => m.msg_type === 'interactive')
    expect(cards.map((m) => m.message_id)).toEqual([sent.message_id])
  })

  it('times out a slow answer and retries an idempotent call', async () => {
    const s = await sandbox()
    const client = clientFor(s, { timeoutMs: 200 })
    const chat = await client.createChat({ name: 'slow' })
    s.faults.add({ kind: 'delay', ms: 1000, times: 1, endpoint: 'getChat' })
    const info = await client.getChat(chat.chat_id)
    expect(info.name).toBe('slow')
    expect(countRequests(s, 'getChat')).toBe(2)
  })

  it('does not retry a buzz (urgent_app) after a dropped connection', async () => {
    const s = await sandbox()
    const client = clientFor(s)
    const alice = [...s.state.users.values()][0]!
    const chat = await client.createChat({ name: 'buzz', user_id_list: [alice.open_id] })
    const msg = await client.sendMessage({
      receiveIdType: 'chat_id',
      receiveId: chat.chat_id,
      msgType: 'text',
      content: { text: 'x' },
    })
    s.faults.add({ kind: 'drop', times: 1, endpoint: 'urgentApp' })
    await expect(client.urgentApp(msg.message_id, [alice.open_id])).rejects.toThrow(/network error/)
    expect(countRequests(s, 'urgentApp')).toBe(1)
    expect(s.state.urgent).toHaveLength(0)
    expect(await client.urgentApp(msg.message_id, [alice.open_id, 'ou_nobody'])).toEqual([
      'ou_nobody',
    ])
    expect(s.state.urgent).toEqual([
      expect.objectContaining({ message_id: msg.message_id, user_ids: [alice.open_id] }),
    ])
  })
})

describe('rate limits', () => {
  it('waits as x-ogw-ratelimit-reset says after a 429, then succeeds', async () => {
    const s = await sandbox()
    const waits: number[] = []
    const client = clientFor(s, {
      sleep: async (ms) => {
        waits.push(ms)
      },
    })
    const chat = await client.createChat({ name: 'limited' })
    s.faults.add({ kind: 'rateLimit', resetSeconds: 2, times: 1, endpoint: 'getChat' })
    await client.getChat(chat.chat_id)
    expect(waits).toHaveLength(1)
    expect(waits[0]).toBeGreaterThanOrEqual(2000)
    expect(waits[0]).toBeLessThan(2300)
    expect(countRequests(s, 'getChat')).toBe(2)
  })

  it('retries a send refused by the real per-chat limit (5/s) even without uuid, losing nothing', async () => {
    const s = await sandbox()
    // 230020 comes without a reset header: the backoff outlasts the second the chat's window needs.
    const client = clientFor(s, { pace: false, retry: { baseDelayMs: 50, maxDelayMs: 200 } })
    const chat = await client.createChat({ name: 'busy chat' })
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        client.sendMessage({
          receiveIdType: 'chat_id',
          receiveId: chat.chat_id,
          msgType: 'text',
          content: { text: `m${i}` },
        }),
      ),
    )
    const texts = s.state
      .messagesIn(chat.chat_id)
      .filter((m) => m.msg_type === 'text')
      .map((m) => JSON.parse(m.content).text)
      .sort()
    expect(texts).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7'])
    expect(countRequests(s, 'sendMessage')).toBeGreaterThan(8) // some were refused with 230020 and sent again
  })

  it('answers 429 with reset headers when the per-app API limit (50/s) is exceeded', async () => {
    const s = await sandbox()
    const waits: number[] = []
    const client = clientFor(s, {
      pace: false,
      sleep: (ms) => {
        waits.push(ms)
        return new Promise((r) => setTimeout(r, ms))
      },
    })
    const chat = await client.createChat({ name: 'hot' })
    await Promise.all(Array.from({ length: 60 }, () => client.getChat(chat.chat_id)))
    expect(countRequests(s, 'getChat')).toBeGreaterThan(60)
    expect(waits.some((w) => w >= 1000)).toBe(true)
  })

  it('paces a burst to the documented limits itself, so Feishu refuses nothing and order is kept', async () => {
    const s = await sandbox()
    const client = clientFor(s)
    const chat = await client.createChat({ name: 'paced' })
    const started = Date.now()
    const sent = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        client.sendMessage({
          receiveIdType: 'chat_id',
          receiveId: chat.chat_id,
          msgType: 'text',
          content: { text: `p${i}` },
        }),
      ),
    )
    await Promise.all(Array.from({ length: 60 }, () => client.getChat(chat.chat_id)))
    expect(countRequests(s, 'sendMessage')).toBe(12) // none refused, none repeated
    expect(countRequests(s, 'getChat')).toBe(60)
    const texts = s.state
      .messagesIn(chat.chat_id)
      .filter((m) => m.msg_type === 'text')
      .map((m) => JSON.parse(m.content).text)
    expect(texts).toEqual(sent.map((_, i) => `p${i}`))
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000) // 12 messages to one chat need 3 one-second windows
  })
})

describe('uuid de-duplication', () => {
  it('creates one chat for a repeated create-chat uuid, also when the first answer was lost', async () => {
    const s = await sandbox()
    const client = clientFor(s)
    s.faults.add({
      kind: 'status',
      status: 504,
      times: 1,
      endpoint: 'createChat',
      afterEffect: true,
    })
    const a = await client.createChat({ name: 'once' }, { uuid: 'incident-abc-open' })
    const b = await client.createChat({ name: 'once' }, { uuid: 'incident-abc-open' })
    expect(b.chat_id).toBe(a.chat_id)
    expect([...s.state.chats.values()].filter((c) => c.name === 'once')).toHaveLength(1)
    expect(countRequests(s, 'createChat')).toBe(3)
  })

  it('creates a new chat once the 10-hour window has passed', async () => {
    const s = await sandbox()
    const client = clientFor(s)
    const a = await client.createChat({ name: 'window' }, { uuid: 'u-window' })
    s.advance(10 * 3600_000 + 1000)
    const b = await client.createChat({ name: 'window' }, { uuid: 'u-window' })
    expect(b.chat_id).not.toBe(a.chat_id)
  })

  it('keeps one message for a repeated send uuid within an hour, a new one after', async () => {
    const s = await sandbox()
    const client = clientFor(s)
    const chat = await client.createChat({ name: 'msgs' })
    const send = () =>
      client.sendMessage({
        receiveIdType: 'chat_id',
        receiveId: chat.chat_id,
        msgType: 'text',
        content: { text: 'x' },
        uuid: 'same',
      })
    const first = await send()
    const again = await send()
    expect(again.message_id).toBe(first.message_id)
    s.advance(3600_000 + 1)
    const later = await send()
    expect(later.message_id).not.toBe(first.message_id)
    expect(s.state.messagesIn(chat.chat_id).filter((m) => m.msg_type === 'text')).toHaveLength(2)
  })

  it('rejects a uuid longer than 50 characters before calling Feishu', async () => {
    const s = await sandbox()
    const client = clientFor(s)
    await expect(client.createChat({ name: 'x' }, { uuid: 'u'.repeat(51) })).rejects.toThrow(
      /1–50 characters/,
    )
    expect(countRequests(s, 'createChat')).toBe(0)
  })
})

describe('pagination', () => {
  it('lists every chat across 3 pages', async () => {
    const s = await sandbox({ rateLimits: false })
    const client = clientFor(s)
    const created = []
    for (let i = 0; i < 230; i++)
      created.push((await client.createChat({ name: `chat ${i}` })).chat_id)
    const seen = []
    for await (const c of client.listChats({ pageSize: 100 })) seen.push(c.chat_id)
    expect(seen).toEqual(created)
    expect(countRequests(s, 'listChats')).toBe(3)
  })

  it('searches chats by name across pages', async () => {
    const s = await sandbox({ rateLimits: false })
    const client = clientFor(s)
    for (let i = 0; i < 45; i++)
      await client.createChat({ name: i % 3 === 0 ? `INC payments ${i}` : `other ${i}` })
    const seen = []
    for await (const c of client.searchChats('payments', { pageSize: 5 })) seen.push(c.name)
    expect(seen).toHaveLength(15)
    expect(countRequests(s, 'searchChats')).toBe(3)
  })

  it('reads the whole message history in time order across 3+ pages', async () => {
    const s = await sandbox({ rateLimits: false })
    const client = clientFor(s)
    const chat = await client.createChat({ name: 'history' })
    for (let i = 0; i < 130; i++)
      await client.sendMessage({
        receiveIdType: 'chat_id',
        receiveId: chat.chat_id,
        msgType: 'text',
        content: { text: `n${i}` },
      })
    const texts = []
    for await (const m of client.listMessages(chat.chat_id)) {
      if (m.msg_type === 'text') texts.push(JSON.parse(m.body.content).text)
    }
    expect(texts).toEqual(Array.from({ length: 130 }, (_, i) => `n${i}`))
    expect(countRequests(s, 'listMessages')).toBe(3) // 130 texts + 1 system message, 50 per page
  })
})

describe('members and ids', () => {
  it('adds members, reporting resigned and unknown ids instead of failing', async () => {
    const s = await sandbox()
    const client = clientFor(s)
    const [alice, bob] = [...s.state.users.values()]
    const gone = s.state.addUser({ name: 'Gone', email: 'gone@example.com', status: 'resigned' })
    const chat = await client.createChat({ name: 'members' })
    const result = await client.addMembers(chat.chat_id, [
      alice!.open_id,
      bob!.open_id,
      gone.open_id,
      'ou_doesnotexist',
    ])
    expect(result.invalid_id_list).toEqual([gone.open_id])
    expect(result.not_existed_id_list).toEqual(['ou_doesnotexist'])
    expect([...s.state.chats.get(chat.chat_id)!.members].sort()).toEqual(
      [alice!.open_id, bob!.open_id].sort(),
    )
  })

  it('adds more than 50 members in serial batches of 50', async () => {
    const s = await sandbox()
    const client = clientFor(s)
    const users = Array.from({ length: 70 }, (_, i) =>
      s.state.addUser({ name: `U${i}`, email: `u${i}@example.com` }),
    )
    const chat = await client.createChat({ name: 'big' })
    await client.addMembers(
      chat.chat_id,
      users.map((u) => u.open_id),
    )
    expect(s.state.chats.get(chat.chat_id)!.members.size).toBe(70)
    expect(countRequests(s, 'addMembers')).toBe(2)
  })

  it('resolves 120 emails in 3 batch_get_id calls', async () => {
    const s = await sandbox()
    const client = clientFor(s)
    const users = Array.from({ length: 119 }, (_, i) =>
      s.state.addUser({ name: `P${i}`, email: `p${i}@corp.example` }),
    )
    const emails = [...users.map((u) => u.email!), 'nobody@corp.example']
    const ids = await client.batchGetId({ emails })
    expect(countRequests(s, 'batchGetId')).toBe(3)
    expect(ids.size).toBe(120)
    for (const u of users) expect(ids.get(u.email!)).toBe(u.open_id)
    expect(ids.get('nobody@corp.example')).toBeUndefined()
  })

  it('resolves mobiles alongside emails', async () => {
    const s = await sandbox()
    const client = clientFor(s)
    const bob = [...s.state.users.values()][1]!
    const ids = await client.batchGetId({ emails: ['alice@example.com'], mobiles: [bob.mobile!] })
    expect(ids.get(bob.mobile!)).toBe(bob.open_id)
    expect(ids.get('alice@example.com')).toBe([...s.state.users.values()][0]!.open_id)
    expect(countRequests(s, 'batchGetId')).toBe(1)
  })
})

describe('messages, cards, pins, images', () => {
  it('sends, replies, patches and pins a card; the sandbox holds the latest card', async () => {
    const s = await sandbox()
    const client = clientFor(s)
    const chat = await client.createChat({ name: 'card' })
    const sent = await client.sendMessage({
      receiveIdType: 'chat_id',
      receiveId: chat.chat_id,
      msgType: 'interactive',
      content: card('v1'),
    })
    await client.patchCard(sent.message_id, card('v2'))
    const pin = await client.pinMessage(sent.message_id)
    const again = await client.pinMessage(sent.message_id)
    expect(again.create_time).toBe(pin.create_time)
    const reply = await client.reply(sent.message_id, {
      msgType: 'text',
      content: { text: 'looking' },
    })
    const stored = s.state.messages.get(sent.message_id)!
    expect(JSON.parse(stored.content).header.title.content).toBe('v2')
    expect(stored.patches).toBe(1)
    expect([...s.state.pins.keys()]).toEqual([sent.message_id])
    expect(s.state.messages.get(reply.message_id)?.parent_id).toBe(sent.message_id)
  })

  it('uploads an image as multipart and the bytes arrive intact', async () => {
    const s = await sandbox()
    const client = clientFor(s)
    const bytes = pngBytes(300_000)
    const key = await client.uploadImage(bytes, { filename: 'panel.png', contentType: 'image/png' })
    const stored = s.state.images.get(key)!
    expect(stored.format).toBe('png')
    expect(createHash('sha256').update(stored.bytes).digest('hex')).toBe(
      createHash('sha256').update(bytes).digest('hex'),
    )
  })

  it('surfaces Feishu’s refusal of a non-image upload with its code', async () => {
    const s = await sandbox()
    const client = clientFor(s)
    const e = (await client
      .uploadImage(new TextEncoder().encode('not an image'))
      .catch((x: unknown) => x)) as FeishuError
    expect(e.code).toBe(234011)
    expect(s.state.images.size).toBe(0)
  })
})

describe('errors and hints', () => {
  it('names the missing scope when the app lacks a permission', async () => {
    const s = await sandbox({ scopes: ['im:chat', 'im:message'] })
    const client = clientFor(s)
    const e = (await client
      .batchGetId({ emails: ['alice@example.com'] })
      .catch((x: unknown) => x)) as FeishuError
    expect(e).toBeInstanceOf(FeishuError)
    expect(e.code).toBe(99991672)
    expect(e.hint).toContain('contact:user.id:readonly')
    expect(e.message).toContain('enable the scope contact:user.id:readonly')
    expect(countRequests(s, 'batchGetId')).toBe(1) // a permission error is not retried
  })

  it('explains a chat the bot is not in', async () => {
    const s = await sandbox()
    const client = clientFor(s)
    const e = (await client
      .updateChat('oc_unknown', { name: 'x' })
      .catch((x: unknown) => x)) as FeishuError
    expect(e.code).toBe(232006)
    const chat = await client.createChat({ name: 'left' })
    s.state.chats.get(chat.chat_id)!.bots.clear()
    const e2 = (await client
      .sendMessage({
        receiveIdType: 'chat_id',
        receiveId: chat.chat_id,
        msgType: 'text',
        content: { text: 'x' },
      })
      .catch((x: unknown) => x)) as FeishuError
    expect(e2.code).toBe(230002)
    expect(e2.message).toContain('the bot is not a member of this chat')
  })

  it('treats a non-zero code on HTTP 200 as a failure', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify({
          code: 0,
          msg: 'ok',
          tenant_access_token: 't-abc1234567',
          expire: 7200,
          data: undefined,
        }),
      )
    })
    // The token call succeeds; every other call answers 200 with code 232009.
    server.removeAllListeners('request')
    server.on('request', (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      if (req.url?.includes('tenant_access_token'))
        res.end(JSON.stringify({ code: 0, tenant_access_token: 't-abc1234567', expire: 7200 }))
      else res.end(JSON.stringify({ code: 232009, msg: 'chat dissolved', data: {} }))
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const client = new FeishuClient({
      appId: 'cli_x',
      appSecret: 'secret-xyz',
      domain: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    })
    try {
      const e = (await client.getChat('oc_1').catch((x: unknown) => x)) as FeishuError
      expect(e.code).toBe(232009)
      expect(e.httpStatus).toBe(200)
      expect(e.hint).toContain('dissolved')
    } finally {
      await client.close()
      server.close()
    }
  })

  it('points at the domain when the base URL is not a Feishu API', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/html' })
      res.end('<html>not here</html>')
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const client = new FeishuClient({
      appId: 'cli_x',
      appSecret: 'secret-xyz',
      domain: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    })
    try {
      const e = (await client.getChat('oc_1').catch((x: unknown) => x)) as FeishuError
      expect(e.httpStatus).toBe(404)
      expect(e.message).toContain('check the domain')
    } finally {
      await client.close()
      server.close()
    }
  })
})

describe('connections and domains', () => {
  it('reuses one keep-alive connection for sequential calls', async () => {
    const s = await sandbox()
    const client = clientFor(s)
    const chat = await client.createChat({ name: 'keepalive' })
    const before = s.connections
    for (let i = 0; i < 10; i++) await client.getChat(chat.chat_id)
    expect(before).toBeLessThanOrEqual(2)
    expect(s.connections).toBe(before)
  })

  it('maps domain names to Feishu and Lark hosts and accepts base URLs', () => {
    expect(resolveBaseUrl('feishu')).toBe('https://open.feishu.cn')
    expect(resolveBaseUrl('lark')).toBe('https://open.larksuite.com')
    expect(resolveBaseUrl('https://feishu.corp.example/')).toBe('https://feishu.corp.example')
    expect(() => resolveBaseUrl('open.feishu')).toThrow(/Invalid Feishu domain "open.feishu"/)
    const lark = new FeishuClient({ appId: 'a', appSecret: 'secret-1', domain: 'lark' })
    expect(lark.chatLink('oc_1')).toBe(
      'https://applink.larksuite.com/client/chat/open?openChatId=oc_1',
    )
    void lark.close()
  })
})
