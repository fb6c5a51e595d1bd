import { createHash, createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { newId } from '../src/sandbox/state.js'
import { MemoryStore } from '../src/store.js'
import { clientFor, incident, sandbox, view, warRoomFor } from './helpers.js'

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
    const chatId = newId('oc_')
    s.state.chats.set(chatId, {
      chat_id: chatId,
      name: '🟠 [P1] Checkout API error rate above 5%',
      description: `feishu-warroom incident chat\n[warroom:${hashOf(key)}:open:${seconds}:${mac}]`,
      owner: { type: 'app', id: s.appId },
      members: new Set([alice!.open_id]),
      bots: new Set([s.appId]),
      botManagers: new Set(),
      chat_type: 'private',
      status: 'normal',
      created_at: s.now(),
      names: [],
      urgent_setting: 'all_members',
      at_all_permission: 'all_members',
      edit_permission: 'all_members',
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
    const chatId = newId('oc_')
    s.state.chats.set(chatId, {
      chat_id: chatId,
      name: 'another bot’s group',
      description: `[warroom:${hashOf(key)}:open:1700000000]`,
      // Another app owns it: Feishu leaves owner_id out for any bot owner.
      owner: { type: 'app', id: 'cli_0123456789abcdef' },
      members: new Set([alice!.open_id]),
      bots: new Set([s.appId, 'cli_0123456789abcdef']),
      botManagers: new Set(),
      chat_type: 'private',
      status: 'normal',
      created_at: s.now(),
      names: [],
      urgent_setting: 'all_members',
      at_all_permission: 'all_members',
      edit_permission: 'all_members',
    })
    expect(s.state.chats.get(chatId)!.owner.type).toBe('app')
    for (const room of [warRoomFor(s, { store: new MemoryStore() }), warRoomFor(s)]) {
      const result = await room.handle(incident({ members: [alice!.open_id] }))
      expect(result.chatId).not.toBe(chatId)
    }
    expect(view(s, chatId).cards).toHaveLength(0)
  })
})
