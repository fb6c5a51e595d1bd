import { request } from 'undici'
import { describe, expect, it } from 'vitest'
import { timelineText } from '../../src/render/timeline.js'
import { V2_PLACEHOLDER } from '../../src/sandbox/history.js'
import { MemoryStore } from '../../src/store/store.js'
import { clientFor, incident, sandbox, until, view } from '../support/helpers.js'
import { startReceiver } from '../support/receiver.js'

/**
 * The history API's answers in Feishu's documented shapes ("received message
 * content": degraded cards with parsed nodes, the 2.0 placeholder,
 * raw_card_content; system messages with only from_user, to_chatters and
 * divider_text filled), and the timeline read from them.
 */

async function history(s: Awaited<ReturnType<typeof sandbox>>, chatId: string, extra = '') {
  const auth = await request(`${s.url}/open-apis/auth/v3/tenant_access_token/internal`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ app_id: s.appId, app_secret: s.appSecret }),
  })
  const token = ((await auth.body.json()) as { tenant_access_token: string }).tenant_access_token
  const res = await request(
    `${s.url}/open-apis/im/v1/messages?container_id_type=chat&container_id=${chatId}&page_size=50${extra}`,
    { headers: { authorization: `Bearer ${token}` } },
  )
  const json = (await res.body.json()) as { code: number; data: { items: any[] } }
  expect(json.code).toBe(0)
  return json.data.items
}

describe('the history in Feishu’s documented shapes', () => {
  it('answers cards degraded into lines of nodes, with mentions, notes and buttons; 2.0 cards as a placeholder; raw_card_content as JSON', async () => {
    const s = await sandbox({ rateLimits: false })
    const [alice] = [...s.state.users.values()]
    const client = clientFor(s)
    const chat = await client.createChat({ name: 'shapes', user_id_list: [alice!.open_id] })
    await client.sendMessage({
      receiveIdType: 'chat_id',
      receiveId: chat.chat_id,
      msgType: 'interactive',
      content: {
        header: { title: { tag: 'plain_text', content: 'Title' } },
        elements: [
          {
            tag: 'markdown',
            content: `**Lead** <at id=${alice!.open_id}></at> see [runbook](https://r.example/x)`,
          },
          { tag: 'hr' },
          {
            tag: 'action',
            actions: [
              { tag: 'button', text: { tag: 'plain_text', content: 'Ack' }, type: 'primary' },
            ],
          },
          { tag: 'note', elements: [{ tag: 'plain_text', content: 'footer' }] },
        ],
      },
    })
    await client.sendMessage({
      receiveIdType: 'chat_id',
      receiveId: chat.chat_id,
      msgType: 'interactive',
      content: {
        schema: '2.0',
        header: { title: { tag: 'plain_text', content: 'v2' } },
        body: { elements: [{ tag: 'markdown', content: 'hidden' }] },
      },
    })
    const items = await history(s, chat.chat_id)
    const [card, v2] = items.filter((m) => m.msg_type === 'interactive')
    expect(JSON.parse(card.body.content)).toEqual({
      title: 'Title',
      elements: [
        [
          { tag: 'text', text: 'Lead ' },
          { tag: 'at', user_id: '@_user_1', user_name: '' },
          { tag: 'text', text: ' see ' },
          { tag: 'a', text: 'runbook', href: 'https://r.example/x' },
        ],
        [{ tag: 'hr' }],
        [{ tag: 'button', text: 'Ack', type: 'primary' }],
        [{ tag: 'note', elements: [{ tag: 'text', text: 'footer' }] }],
      ],
    })
    expect(card.mentions).toEqual([
      expect.objectContaining({ key: '@_user_1', id: alice!.open_id, name: alice!.name }),
    ])
    expect(JSON.parse(v2.body.content)).toEqual({
      title: null,
      elements: [[{ tag: 'text', text: V2_PLACEHOLDER }]],
    })
    const raw = (await history(s, chat.chat_id, '&card_msg_content_type=raw_card_content')).filter(
      (m) => m.msg_type === 'interactive',
    )
    const rawCard = JSON.parse(raw[0].body.content)
    expect(rawCard.card_schema).toBe(1)
    expect(JSON.parse(rawCard.json_card).header.property.title.property.content).toBe('Title')
    expect(JSON.parse(raw[1].body.content).card_schema).toBe(2)
    const system = items
      .filter((m) => m.msg_type === 'system')
      .map((m) => JSON.parse(m.body.content))
    expect(system[0]).toEqual({
      template: '{from_user} started the group chat.',
      from_user: [s.appName],
      to_chatters: [],
      divider_text: { text: '', i18n_text: {} },
    })
  })
})

describe('the timeline read from those shapes', () => {
  it('has no {slot}, names the people mentioned, keeps titles, text lines, links and footers in order, and no button labels', async () => {
    const s = await sandbox({ rateLimits: false })
    const [alice, bob] = [...s.state.users.values()]
    const { url, warroom } = await startReceiver(s, { store: new MemoryStore() })
    const opened = await warroom.handle(incident({ members: [alice!.open_id, bob!.open_id] }))
    const chatId = opened.chatId!
    const client = clientFor(s)
    // Another app's 2.0 card and a card with a link, as people paste them in.
    await client.sendMessage({
      receiveIdType: 'chat_id',
      receiveId: chatId,
      msgType: 'interactive',
      content: { schema: '2.0', body: { elements: [{ tag: 'markdown', content: 'deploy 42' }] } },
    })
    await client.sendMessage({
      receiveIdType: 'chat_id',
      receiveId: chatId,
      msgType: 'interactive',
      content: {
        header: { title: { tag: 'plain_text', content: 'Runbook' } },
        elements: [{ tag: 'markdown', content: 'step 1: [restart](https://r.example/restart)' }],
      },
    })
    await s.say(chatId, alice!.open_id, '/ack', { mentionBot: true })
    await until('the acknowledgement', async () => !!(await warroom.find({ chatId }))?.ack)
    await warroom.handle(incident({ status: 'resolved' }))
    const record = (await warroom.find({ chatId }))!
    const { text } = await timelineText(client, record, 'markdown', {
      language: 'en',
      timeZone: 'UTC',
    })
    expect(text).not.toMatch(/\{\w*\}/)
    expect(text).not.toContain('@_user_')
    expect(text).toContain('**Alice Wang**: @War Room Bot /ack')
    // The war room's own card: title first, then its lines in order, mentions by name, footer kept.
    const card = text.split('\n').find((l) => l.includes('\\[card\\] ✅'))!
    const parts = card.split('<br>')
    expect(parts[1]).toMatch(/^状态 ✅ 已恢复/)
    expect(card.indexOf('负责人 @Alice Wang @Bob Li')).toBeGreaterThan(card.indexOf('明细'))
    expect(parts.at(-1)).toContain('test:checkout-api:high-error-rate')
    expect(parts).not.toContain('Dashboard')
    expect(text).toContain('\\[card\\] Runbook<br>step 1: restart (https://r.example/restart)')
    expect(text).toContain('(Feishu’s history does not return this card’s content)')
    expect(text).toMatch(
      /renamed the group to "\\\[已解决\\\] \S+ \\\[P1\\\] Checkout API error rate above 5%"_/,
    )
    expect(text).toContain('🔔 **incident**: acknowledged (Alice Wang)')
    expect(text).toContain(`invited ${alice!.name}, ${bob!.name} to the group`)
    expect(url).toBeTruthy()
    expect(view(s, chatId).name).toMatch(/^\[已解决\]/)
  })
})
