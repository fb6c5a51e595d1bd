import { request } from 'undici'
import { describe, expect, it } from 'vitest'
import type { FeishuSandbox } from '../../src/sandbox/server.js'
import { clientFor, sandbox } from '../support/helpers.js'

/** Raw HTTP against the sandbox, to see exactly what Feishu would answer. */
async function raw(s: FeishuSandbox, method: string, path: string, body?: unknown, token?: string) {
  const res = await request(s.url + path, {
    method: method as 'GET',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  })
  return {
    status: res.statusCode,
    headers: res.headers,
    json: (await res.body.json()) as {
      code: number
      msg: string
      data?: any
      error?: any
      [k: string]: unknown
    },
  }
}

async function token(s: FeishuSandbox): Promise<string> {
  const res = await raw(s, 'POST', '/open-apis/auth/v3/tenant_access_token/internal', {
    app_id: s.appId,
    app_secret: s.appSecret,
  })
  return res.json.tenant_access_token as string
}

async function chatWithAlice(s: FeishuSandbox) {
  const t = await token(s)
  const alice = [...s.state.users.values()][0]!
  const res = await raw(
    s,
    'POST',
    '/open-apis/im/v1/chats',
    { name: 'v', user_id_list: [alice.open_id] },
    t,
  )
  return { t, chatId: res.json.data.chat_id as string, alice }
}

const validCard = JSON.stringify({
  config: { update_multi: true },
  header: { title: { tag: 'plain_text', content: 'ok' } },
  elements: [{ tag: 'markdown', content: 'hello' }],
})

describe('sandbox token endpoint', () => {
  it('answers at the top level, returns the same token while 30+ minutes remain, a new one after', async () => {
    const s = await sandbox()
    const first = await raw(s, 'POST', '/open-apis/auth/v3/tenant_access_token/internal', {
      app_id: s.appId,
      app_secret: s.appSecret,
    })
    expect(first.json).toMatchObject({ code: 0, expire: 7200 })
    expect(first.json.data).toBeUndefined()
    s.advance(3600_000)
    const same = await raw(s, 'POST', '/open-apis/auth/v3/tenant_access_token/internal', {
      app_id: s.appId,
      app_secret: s.appSecret,
    })
    expect(same.json.tenant_access_token).toBe(first.json.tenant_access_token)
    expect(same.json.expire).toBeGreaterThanOrEqual(3599)
    expect(same.json.expire).toBeLessThanOrEqual(3600)
    s.advance(3000_000)
    const fresh = await raw(s, 'POST', '/open-apis/auth/v3/tenant_access_token/internal', {
      app_id: s.appId,
      app_secret: s.appSecret,
    })
    expect(fresh.json.tenant_access_token).not.toBe(first.json.tenant_access_token)
  })

  it('refuses calls without a token (99991661) and with an expired one (99991663), on HTTP 400', async () => {
    const s = await sandbox()
    const none = await raw(s, 'GET', '/open-apis/im/v1/chats')
    expect([none.status, none.json.code]).toEqual([400, 99991661])
    const t = await token(s)
    s.expireAllTokens()
    const expired = await raw(s, 'GET', '/open-apis/im/v1/chats', undefined, t)
    expect([expired.status, expired.json.code]).toEqual([400, 99991663])
    expect(expired.headers['x-tt-logid']).toBeTruthy()
  })
})

describe('sandbox validation', () => {
  it('refuses a send without receive_id_type or with an unknown one (99992402 naming the field)', async () => {
    const s = await sandbox({ malformed: true })
    const { t, chatId } = await chatWithAlice(s)
    const body = { receive_id: chatId, msg_type: 'text', content: '{"text":"x"}' }
    const missing = await raw(s, 'POST', '/open-apis/im/v1/messages', body, t)
    expect(missing.json.code).toBe(99992402)
    expect(missing.json.error.field_violations[0].field).toBe('receive_id_type')
    const unknown = await raw(
      s,
      'POST',
      '/open-apis/im/v1/messages?receive_id_type=group_id',
      body,
      t,
    )
    expect(unknown.json.code).toBe(99992402)
    expect(s.state.messagesIn(chatId).filter((m) => m.msg_type === 'text')).toHaveLength(0)
  })

  it('refuses content that is not a JSON string', async () => {
    const s = await sandbox({ malformed: true })
    const { t, chatId } = await chatWithAlice(s)
    const path = '/open-apis/im/v1/messages?receive_id_type=chat_id'
    const object = await raw(
      s,
      'POST',
      path,
      { receive_id: chatId, msg_type: 'text', content: { text: 'x' } },
      t,
    )
    expect(object.json.code).toBe(99992402)
    const notJson = await raw(
      s,
      'POST',
      path,
      { receive_id: chatId, msg_type: 'text', content: '{text: x}' },
      t,
    )
    expect([notJson.status, notJson.json.code]).toEqual([400, 230001])
  })

  it('refuses invalid user ids in create-chat (232043) and creates nothing', async () => {
    const s = await sandbox()
    const t = await token(s)
    const res = await raw(
      s,
      'POST',
      '/open-apis/im/v1/chats',
      { name: 'bad', user_id_list: ['ou_nope'] },
      t,
    )
    expect(res.json.code).toBe(232043)
    expect(s.state.chats.size).toBe(0)
  })

  it('refuses a card without elements and a card whose header has no title (230099 with the part)', async () => {
    const s = await sandbox()
    const { t, chatId } = await chatWithAlice(s)
    const path = '/open-apis/im/v1/messages?receive_id_type=chat_id'
    const noElements = await raw(
      s,
      'POST',
      path,
      { receive_id: chatId, msg_type: 'interactive', content: JSON.stringify({ config: {} }) },
      t,
    )
    expect(noElements.json.code).toBe(230099)
    expect(noElements.json.msg).toContain('ErrorValue: elements')
    const badHeader = await raw(
      s,
      'POST',
      path,
      {
        receive_id: chatId,
        msg_type: 'interactive',
        content: JSON.stringify({ header: {}, elements: [] }),
      },
      t,
    )
    expect(badHeader.json.msg).toContain('ErrorValue: header')
    const ok = await raw(
      s,
      'POST',
      path,
      { receive_id: chatId, msg_type: 'interactive', content: validCard },
      t,
    )
    expect(ok.json.code).toBe(0)
  })

  it('refuses an <at> of someone who is not in the chat, and records real mentions and links', async () => {
    const s = await sandbox()
    const { t, chatId, alice } = await chatWithAlice(s)
    const bob = [...s.state.users.values()][1]!
    const path = '/open-apis/im/v1/messages?receive_id_type=chat_id'
    const md = (content: string) =>
      JSON.stringify({
        header: { title: { tag: 'plain_text', content: 't' } },
        elements: [{ tag: 'markdown', content }],
      })
    const outsider = await raw(
      s,
      'POST',
      path,
      { receive_id: chatId, msg_type: 'interactive', content: md(`<at id=${bob.open_id}></at>`) },
      t,
    )
    expect(outsider.json.code).toBe(230001)
    expect(outsider.json.msg).toContain(bob.open_id)
    const member = await raw(
      s,
      'POST',
      path,
      {
        receive_id: chatId,
        msg_type: 'interactive',
        content: md(
          `<at id=${alice.open_id}></at> see [logs](https://x.example/l) and &#60;at id=all&#62;`,
        ),
      },
      t,
    )
    expect(member.json.code).toBe(0)
    const stored = s.state.messages.get(member.json.data.message_id)!
    expect(stored.mentions).toEqual([alice.open_id])
    expect(stored.links).toEqual(['https://x.example/l'])
  })

  it('refuses a card over 30 KB with 230025', async () => {
    const s = await sandbox()
    const { t, chatId } = await chatWithAlice(s)
    const big = JSON.stringify({ elements: [{ tag: 'markdown', content: 'x'.repeat(31 * 1024) }] })
    const res = await raw(
      s,
      'POST',
      '/open-apis/im/v1/messages?receive_id_type=chat_id',
      { receive_id: chatId, msg_type: 'interactive', content: big },
      t,
    )
    expect(res.json.code).toBe(230025)
  })

  it('refuses a patch after 14 days (230031) and a page_size out of range (99992402)', async () => {
    const s = await sandbox()
    const client = clientFor(s)
    const chat = await client.createChat({ name: 'old' })
    const m = await client.sendMessage({
      receiveIdType: 'chat_id',
      receiveId: chat.chat_id,
      msgType: 'interactive',
      content: JSON.parse(validCard),
    })
    s.advance(15 * 24 * 3600_000)
    await expect(client.patchCard(m.message_id, JSON.parse(validCard))).rejects.toMatchObject({
      code: 230031,
    })
    const t = await token(s)
    const res = await raw(
      s,
      'GET',
      `/open-apis/im/v1/messages?container_id_type=chat&container_id=${chat.chat_id}&page_size=51`,
      undefined,
      t,
    )
    expect(res.json.code).toBe(99992402)
  })

  it('needs im:message.group_msg to read group history', async () => {
    const s = await sandbox({ scopes: ['im:chat', 'im:message'] })
    const client = clientFor(s)
    const chat = await client.createChat({ name: 'secret history' })
    const it = client.listMessages(chat.chat_id)
    await expect(it.next()).rejects.toMatchObject({
      code: 230027,
      hint: expect.stringContaining('im:message.group_msg'),
    })
  })

  it('shows renames and joins as system messages and keeps the name history', async () => {
    const s = await sandbox()
    const client = clientFor(s)
    const alice = [...s.state.users.values()][0]!
    const chat = await client.createChat({ name: 'first' })
    await client.addMembers(chat.chat_id, [alice.open_id])
    await client.updateChat(chat.chat_id, { name: '[已解决] first' })
    const system = s.state.messagesIn(chat.chat_id).filter((m) => m.msg_type === 'system')
    // Feishu's own templates, with only from_user, to_chatters and divider_text filled.
    expect(system.map((m) => JSON.parse(m.content))).toEqual([
      {
        template: '{from_user} started the group chat.',
        from_user: [s.appName],
        to_chatters: [],
        divider_text: { text: '', i18n_text: {} },
      },
      {
        template: '{from_user} invited {to_chatters} to the group.',
        from_user: [s.appName],
        to_chatters: [alice.name],
        divider_text: { text: '', i18n_text: {} },
      },
      {
        template: '{from_user} updated the group name from "{old_group_name}" to "{group_name}".',
        from_user: [s.appName],
        to_chatters: [],
        divider_text: { text: '', i18n_text: {} },
      },
    ])
    expect(s.state.chats.get(chat.chat_id)!.names.map((n) => n.name)).toEqual([
      'first',
      '[已解决] first',
    ])
  })

  it('dumps its whole state as JSON, also over HTTP', async () => {
    const s = await sandbox()
    const client = clientFor(s)
    const chat = await client.createChat({ name: 'dumped' })
    const res = await request(`${s.url}/_sandbox/state`)
    const dump = (await res.body.json()) as { chats: Array<{ chat_id: string; name: string }> }
    expect(dump.chats.map((c) => [c.chat_id, c.name])).toEqual([[chat.chat_id, 'dumped']])
    expect(JSON.parse(JSON.stringify(s.state.dump())).chats[0].name).toBe('dumped')
  })

  it('accepts faults over HTTP for processes that do not share its memory', async () => {
    const s = await sandbox()
    const res = await request(`${s.url}/_sandbox/faults`, {
      method: 'POST',
      body: JSON.stringify({ kind: 'status', status: 503, times: 1, endpoint: 'listChats' }),
    })
    expect(res.statusCode).toBe(200)
    await res.body.dump()
    const t = await token(s)
    const failed = await raw(s, 'GET', '/open-apis/im/v1/chats', undefined, t)
    expect(failed.status).toBe(503)
    const ok = await raw(s, 'GET', '/open-apis/im/v1/chats', undefined, t)
    expect(ok.json.code).toBe(0)
  })
})

describe('sandbox documents and chat tabs', () => {
  it('a fourth document created within a second is refused as Feishu does (3/s per app), with its reset header', async () => {
    const s = await sandbox()
    const t = await token(s)
    const answers = []
    for (let i = 0; i < 4; i++)
      answers.push(await raw(s, 'POST', '/open-apis/docx/v1/documents', { title: `d${i}` }, t))
    expect(answers.slice(0, 3).map((a) => a.json.code)).toEqual([0, 0, 0])
    expect(answers[3]!.status).toBe(429)
    expect(answers[3]!.json.code).toBe(99991400)
    expect(answers[3]!.headers['x-ogw-ratelimit-reset']).toBe('1')
    expect(s.state.documents.size).toBe(3)
    s.advance(1000)
    const later = await raw(s, 'POST', '/open-apis/docx/v1/documents', { title: 'd4' }, t)
    expect(later.json.code).toBe(0)
  })

  it('chat tabs: a doc tab is added and listed in the answer; a third kind, a long name or a bare link is refused', async () => {
    const s = await sandbox()
    const { t, chatId } = await chatWithAlice(s)
    const path = `/open-apis/im/v1/chats/${chatId}/chat_tabs`
    const tab = (tab: Record<string, unknown>) => raw(s, 'POST', path, { chat_tabs: [tab] }, t)
    const added = await tab({
      tab_name: '复盘文档',
      tab_type: 'doc',
      tab_content: { doc: 'https://www.feishu.cn/docx/doxcnX' },
    })
    expect(added.json.code).toBe(0)
    expect(added.json.data.chat_tabs).toEqual([
      expect.objectContaining({
        tab_name: '复盘文档',
        tab_type: 'doc',
        tab_id: expect.any(String),
      }),
    ])
    for (const bad of [
      { tab_name: 'x', tab_type: 'task', tab_content: {} },
      { tab_name: 'x'.repeat(31), tab_type: 'url', tab_content: { url: 'https://a.example' } },
      { tab_name: 'x', tab_type: 'url', tab_content: { url: 'a.example' } },
    ])
      expect((await tab(bad)).json.code).toBe(99992402)
    expect(s.state.chats.get(chatId)!.tabs).toHaveLength(1)
  })
})
