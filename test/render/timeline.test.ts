import { readFile } from 'node:fs/promises'
import { request } from 'undici'
import { describe, expect, it } from 'vitest'
import { main } from '../../src/cli/main.js'
import { timelineText } from '../../src/render/timeline.js'
import { MemoryStore } from '../../src/store/store.js'
import { alert, alertmanagerPayload } from '../fixtures/alerts.js'
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
import { post, READ_TOKEN, startReceiver } from '../support/receiver.js'

/** A chat with a long history: 130+ messages of every kind, an ack and a resolution. */
async function busyIncident(s: Awaited<ReturnType<typeof sandbox>>) {
  const [alice, bob, carol] = [...s.state.users.values()]
  const client = clientFor(s)
  const room = warRoomFor(s, { store: new MemoryStore(), client })
  const opened = await room.handle(
    incident({ members: [alice!.open_id, bob!.open_id, carol!.open_id] }),
  )
  const chatId = opened.chatId!
  const imageKey = await client.uploadImage(pngBytes(100))
  for (let i = 0; i < 135; i++) {
    s.advance(1000)
    const who = [alice, bob, carol][i % 3]!
    if (i % 45 === 10) {
      await client.sendMessage({
        receiveIdType: 'chat_id',
        receiveId: chatId,
        msgType: 'image',
        content: { image_key: imageKey },
      })
    } else if (i % 45 === 20) {
      await room.handle(
        incident({
          items: [...incident().items!, { id: `n${i}`, title: `new alert ${i}`, status: 'firing' }],
        }),
      )
    } else {
      s.postUserMessage(chatId, who.open_id, `note ${i} from ${who.name}`)
    }
  }
  s.advance(60_000)
  await room.acknowledge({ chatId }, { openId: bob!.open_id })
  s.advance(3600_000)
  await room.resolveBy({ chatId }, { openId: alice!.open_id }, 'failed over to the standby')
  return { room, client, chatId, alice: alice!, bob: bob!, carol: carol!, opened }
}

describe('timeline', () => {
  it('reads the whole history (3+ pages) in order with senders, texts, cards, images, system messages and figures', async () => {
    const s = await sandbox({ rateLimits: false })
    const { room, client, chatId, alice, bob } = await busyIncident(s)
    const record = (await room.find({ chatId }))!
    const before = countRequests(s, 'listMessages')
    const { text, figures } = await timelineText(client, record, 'markdown', {
      language: 'en',
      timeZone: 'UTC',
    })
    expect(countRequests(s, 'listMessages') - before).toBeGreaterThanOrEqual(3)
    const lines = text.split('\n').filter((l) => l.startsWith('- 20'))
    const times = lines.map((l) => Date.parse(`${l.slice(2, 21).replace(' ', 'T')}Z`))
    expect(times).toEqual([...times].sort((a, b) => a - b))
    expect(text).toContain(`**Alice Wang**: note 0 from Alice Wang`)
    expect(text).toContain(`**Bob Li**: note 1 from Bob Li`)
    // History shows the card as it is now (resolved by a person: 已解决, not the source's 已恢复), reduced to its texts.
    expect(text).toContain(
      '**bot (bot)**: \\[card\\] ✅ Checkout API error rate above 5%<br>状态 ✅ 已解决',
    )
    expect(text).toContain('负责人 @Alice Wang @Bob Li @Carol Zhang')
    expect(text).toMatch(/\\\[image img\\_v3\\_\w+\\\]/)
    expect(text).toContain('⚙️ _War Room Bot started the group chat._')
    expect(text).toContain('invited Alice Wang, Bob Li, Carol Zhang to the group')
    // Feishu leaves the rename's slots empty: the name comes from the incident's own resolution.
    expect(text).toContain('War Room Bot renamed the group to "\\[已解决\\] ')
    expect(text).not.toMatch(/\{\w*\}/)
    expect(text).toContain('🔔 **incident**: acknowledged')
    expect(text).toContain('failed over to the standby')
    expect(text.indexOf('note 134')).toBeLessThan(text.indexOf('🔔 **incident**: resolved'))
    expect(figures.messages).toBe(129)
    expect(figures.responders).toBe(3)
    expect(figures.timeToAcknowledgeMs).toBe(record.ack!.at - record.openedAt)
    expect(figures.timeToResolveMs).toBeGreaterThan(3600_000)
    expect(text).toContain('Time to acknowledge: 3m 15s')
    expect(text).toContain('Responders: 3')
    expect(alice && bob).toBeTruthy()
  })

  it('writes valid JSON with the same entries, and shows ids when names cannot be read', async () => {
    const s = await sandbox({
      rateLimits: false,
      scopes: [
        'im:chat',
        'im:message',
        'im:message.group_msg',
        'contact:user.id:readonly',
        'im:resource',
        'im:message.urgent',
      ],
    })
    const { room, client, chatId } = await busyIncident(s)
    // Dave joins by himself and is never mentioned: without a contact scope nothing names him.
    const dave = [...s.state.users.values()][3]!
    s.state.chats.get(chatId)!.members.add(dave.open_id)
    s.postUserMessage(chatId, dave.open_id, 'dave here')
    const record = (await room.find({ chatId }))!
    const { text } = await timelineText(client, record, 'json', { language: 'en', timeZone: 'UTC' })
    const json = JSON.parse(text)
    expect(json.chatId).toBe(chatId)
    expect(json.entries.length).toBeGreaterThan(140)
    const note = json.entries.find((e: any) => e.text === 'dave here')
    expect(note.sender).toEqual({ id: dave.open_id, bot: false })
    expect(json.figures.responders).toBe(4)
  })

  it('posts a summary with the key figures in the chat on resolve', async () => {
    const s = await sandbox({ rateLimits: false })
    const { room, chatId } = await busyIncident(s)
    const { figures } = await room.summarize({ chatId })
    expect(figures?.messages).toBe(129)
    expect(view(s, chatId).posts.at(-1)).toMatch(
      /📋 复盘摘要：确认用时 3分15秒 · 解决用时 1小时\d+分 · 参与 3 人 · 人工消息 129 条/,
    )
  })
})

describe('where the timeline goes', () => {
  it('the receiver keeps it in its data directory and serves it as Markdown or JSON behind the webhook auth', async () => {
    const s = await sandbox()
    const dir = await tempDir()
    const { url, receiver } = await startReceiver(s, { config: { server: { data_dir: dir } } })
    const firing = alertmanagerPayload([alert({ instance: 'a' })])
    const opened = await post(`${url}/alertmanager`, firing)
    const [alice] = [...s.state.users.values()]
    s.state.chats.get(opened.json.chat_id)!.members.add(alice!.open_id)
    s.postUserMessage(opened.json.chat_id, alice!.open_id, 'looking at the dashboards')
    await post(
      `${url}/alertmanager`,
      alertmanagerPayload([alert({ instance: 'a', status: 'resolved' })]),
    )
    await receiver.close() // waits for the background timeline
    const key = encodeURIComponent(opened.json.key)
    const md = await readFile(
      `${dir}/timelines/${(await import('../../src/store/store.js')).hashKey(opened.json.key)}.md`,
      'utf8',
    )
    expect(md).toContain('looking at the dashboards')
    expect(view(s, opened.json.chat_id).posts.at(-1)).toContain('复盘摘要')

    const again = await startReceiver(s, { config: { server: { data_dir: dir } } })
    const unauth = await request(`${again.url}/incidents/${key}/timeline`)
    expect(unauth.statusCode).toBe(401)
    await unauth.body.dump()
    const asMd = await request(`${again.url}/incidents/${key}/timeline`, {
      headers: { authorization: `Bearer ${READ_TOKEN}` },
    })
    expect(asMd.headers['content-type']).toContain('text/markdown')
    expect(await asMd.body.text()).toBe(md)
    const asJson = await request(`${again.url}/incidents/${key}/timeline`, {
      headers: { authorization: `Bearer ${READ_TOKEN}`, accept: 'application/json' },
    })
    const json = (await asJson.body.json()) as any
    expect(json.entries.some((e: any) => e.text === 'looking at the dashboards')).toBe(true)
    const missing = await request(`${again.url}/incidents/nope/timeline`, {
      headers: { authorization: `Bearer ${READ_TOKEN}` },
    })
    expect(missing.statusCode).toBe(404)
    await missing.body.dump()
  })

  it('the receiver builds a live timeline of an incident that is still open', async () => {
    const s = await sandbox()
    const { url } = await startReceiver(s, { config: { server: { data_dir: await tempDir() } } })
    const opened = await post(`${url}/incidents`, incident({ key: 'live:1' }))
    const res = await request(`${url}/incidents/live%3A1/timeline`, {
      headers: { authorization: `Bearer ${READ_TOKEN}` },
    })
    const text = await res.body.text()
    expect(text).toContain('# 事件时间线')
    expect(text).toContain(opened.json.chat_id)
    expect(text).toContain('事件群已创建')
  })

  it('`warroom timeline <chat-id>` prints it, as Markdown or --json', async () => {
    const s = await sandbox({ rateLimits: false })
    const { chatId } = await busyIncident(s)
    const out: string[] = []
    const env = { FEISHU_APP_ID: s.appId, FEISHU_APP_SECRET: s.appSecret, FEISHU_DOMAIN: s.url }
    const code = await main(['timeline', chatId], env, { out: (t) => out.push(t), err: () => {} })
    expect(code).toBe(0)
    const text = out.join('\n')
    expect(text).toContain('note 134 from')
    expect(text).toContain('## 关键指标')
    const json: string[] = []
    expect(
      await main(['timeline', chatId, '--json'], env, { out: (t) => json.push(t), err: () => {} }),
    ).toBe(0)
    expect(JSON.parse(json.join('\n')).figures.messages).toBe(129)
    const err: string[] = []
    expect(
      await main(['timeline', 'oc_notachat'], env, { out: () => {}, err: (t) => err.push(t) }),
    ).toBe(1)
  })
})
