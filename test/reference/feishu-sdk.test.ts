/**
 * Feishu's official Node client (@larksuiteoapi/node-sdk) pointed at the
 * sandbox, making every call the product makes. What the official client
 * sends, the sandbox must accept as Feishu does; what it reads back must have
 * the shape the official types give.
 */
import * as lark from '@larksuiteoapi/node-sdk'
import { describe, expect, it } from 'vitest'
import { pngBytes, sandbox } from '../support/helpers.js'

describe('Feishu’s official client against the sandbox', () => {
  it('makes every call the product makes, and each one takes effect', async () => {
    const s = await sandbox({ rateLimits: false })
    const client = new lark.Client({
      appId: s.appId,
      appSecret: s.appSecret,
      domain: s.url,
      appType: lark.AppType.SelfBuild,
      loggerLevel: lark.LoggerLevel.error,
    })
    const [alice, bob] = [...s.state.users.values()]
    const ok = <T extends { code?: number | undefined; msg?: string | undefined }>(
      answer: T,
      what: string,
    ): T => {
      expect(answer.code, `${what}: ${answer.msg}`).toBe(0)
      return answer
    }

    const created = ok(
      await client.im.chat.create({
        params: { user_id_type: 'open_id', uuid: 'sdk-check-1' },
        data: { name: 'SDK check', description: 'made by the SDK', user_id_list: [alice!.open_id] },
      }),
      'im.chat.create',
    )
    const chatId = created.data!.chat_id!
    expect(s.state.chats.get(chatId)?.members.has(alice!.open_id)).toBe(true)

    const got = ok(await client.im.chat.get({ path: { chat_id: chatId } }), 'im.chat.get')
    expect(got.data?.name).toBe('SDK check')

    ok(
      await client.im.chat.update({ path: { chat_id: chatId }, data: { name: 'SDK renamed' } }),
      'im.chat.update',
    )
    expect(s.state.chats.get(chatId)?.name).toBe('SDK renamed')

    const listed = ok(
      await client.im.chat.list({ params: { page_size: 100, sort_type: 'ByCreateTimeAsc' } }),
      'im.chat.list',
    )
    expect(listed.data?.items?.map((c) => c.chat_id)).toContain(chatId)
    const found = ok(
      await client.im.chat.search({ params: { query: 'SDK', page_size: 100 } }),
      'im.chat.search',
    )
    expect(found.data?.items?.map((c) => c.chat_id)).toContain(chatId)

    const added = ok(
      await client.im.chatMembers.create({
        path: { chat_id: chatId },
        params: { member_id_type: 'open_id', succeed_type: 1 },
        data: { id_list: [bob!.open_id, 'ou_nobody'] },
      }),
      'im.chatMembers.create',
    )
    expect(s.state.chats.get(chatId)?.members.has(bob!.open_id)).toBe(true)
    expect(added.data?.not_existed_id_list).toEqual(['ou_nobody'])

    const card = {
      config: { update_multi: true },
      header: { title: { tag: 'plain_text', content: 'SDK card' }, template: 'red' },
      elements: [{ tag: 'div', text: { tag: 'lark_md', content: 'checking' } }],
    }
    const sent = ok(
      await client.im.message.create({
        params: { receive_id_type: 'chat_id' },
        data: {
          receive_id: chatId,
          msg_type: 'interactive',
          content: JSON.stringify(card),
          uuid: 'sdk-card',
        },
      }),
      'im.message.create',
    )
    const messageId = sent.data!.message_id!
    ok(
      await client.im.message.reply({
        path: { message_id: messageId },
        data: { msg_type: 'text', content: JSON.stringify({ text: 'a reply' }) },
      }),
      'im.message.reply',
    )
    const green = {
      ...card,
      header: { ...card.header, template: 'green' },
      elements: [{ tag: 'div', text: { tag: 'lark_md', content: 'resolved' } }],
    }
    ok(
      await client.im.message.patch({
        path: { message_id: messageId },
        data: { content: JSON.stringify(green) },
      }),
      'im.message.patch',
    )
    const one = ok(
      await client.im.message.get({ path: { message_id: messageId } }),
      'im.message.get',
    )
    expect(one.data?.items?.[0]?.message_id).toBe(messageId)
    expect(one.data?.items?.[0]?.updated).toBe(true)
    expect(one.data?.items?.[0]?.body?.content).toContain('resolved')

    const history = ok(
      await client.im.message.list({
        params: { container_id_type: 'chat', container_id: chatId, page_size: 50 },
      }),
      'im.message.list',
    )
    expect(history.data?.items?.some((m) => m.message_id === messageId)).toBe(true)

    ok(await client.im.pin.create({ data: { message_id: messageId } }), 'im.pin.create')
    const pins = ok(await client.im.pin.list({ params: { chat_id: chatId } }), 'im.pin.list')
    expect(pins.data?.items?.map((p) => p.message_id)).toEqual([messageId])

    for (const kind of ['urgentApp', 'urgentSms', 'urgentPhone'] as const) {
      ok(
        await client.im.message[kind]({
          path: { message_id: messageId },
          params: { user_id_type: 'open_id' },
          data: { user_id_list: [alice!.open_id] },
        }),
        `im.message.${kind}`,
      )
    }
    expect(s.state.urgent.map((u) => u.kind)).toEqual(['app', 'sms', 'phone'])

    const image = await client.im.image.create({
      data: { image_type: 'message', image: Buffer.from(pngBytes()) },
    })
    expect(image?.image_key).toMatch(/^img_/)
    expect(s.state.images.has(image!.image_key!)).toBe(true)

    const user = ok(
      await client.contact.user.get({
        path: { user_id: alice!.open_id },
        params: { user_id_type: 'open_id' },
      }),
      'contact.user.get',
    )
    expect(user.data?.user?.name).toBe(alice!.name)
    const ids = ok(
      await client.contact.user.batchGetId({
        params: { user_id_type: 'open_id' },
        data: { emails: [alice!.email!] },
      }),
      'contact.user.batchGetId',
    )
    expect(ids.data?.user_list?.[0]?.user_id).toBe(alice!.open_id)
    expect(s.violations).toEqual([])
  })
})
