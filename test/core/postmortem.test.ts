/**
 * The post-mortem document (issue 28, in part): one Feishu document per
 * episode, filled from the incident's timeline with its key moments in order
 * and its figures, shared with the war room, linked in the chat and on the
 * card; a retried resolution creates none twice; a missing scope is a line.
 */
import { describe, expect } from 'vitest'
import { main } from '../../src/cli/main.js'
import { ALL_SCOPES } from '../../src/sandbox/server.js'
import { FileStore } from '../../src/store/store.js'
import { envFor, io } from '../support/cli.js'
import { test } from '../support/fixtures.js'
import { incident, sandbox, tempDir, until, view } from '../support/helpers.js'
import { startReceiver } from '../support/receiver.js'

type Block = { block_type: number; [k: string]: unknown }
const textOf = (b: Block) =>
  (
    Object.values(b).find((v) => v && typeof v === 'object') as {
      elements?: Array<{ text_run?: { content: string } }>
    }
  )?.elements
    ?.map((e) => e.text_run?.content ?? '')
    .join('') ?? ''

describe('the post-mortem document', () => {
  test('review.document: auto writes one document per episode with the key moments in order and the figures, shared and linked', async ({
    sandbox: s,
    people: [alice, bob],
  }) => {
    const dataDir = await tempDir()
    const { warroom } = await startReceiver(s, {
      config: { review: { document: 'auto' } },
      store: await FileStore.open(dataDir),
    })
    const opened = await warroom.handle(incident({ members: [alice!.open_id, bob!.open_id] }))
    const chatId = opened.chatId!
    const { message: first } = await s.say(chatId, bob!.open_id, 'primary failed over')
    await s.react(first.message_id, alice!.open_id, 'Pin')
    const { message: second } = await s.say(chatId, alice!.open_id, 'traffic drained from eu-west')
    await s.react(second.message_id, bob!.open_id, 'Pin')
    await s.say(chatId, alice!.open_id, '/note rolled back v42', { mentionBot: true })
    await until(
      'three moments',
      async () => ((await warroom.find({ chatId }))!.moments ?? []).length === 3,
    )
    // A follow-up for Bob: a Feishu task assigned to him, linked back to the war room.
    await s.say(chatId, alice!.open_id, `/followup add a replica-lag alert @${bob!.open_id} 3d`, {
      mentionBot: true,
    })
    await until('the task', () => s.state.tasks.size === 1)
    const task = [...s.state.tasks.values()][0]!
    expect(task.summary).toBe('add a replica-lag alert')
    expect(task.members).toEqual([{ id: bob!.open_id, role: 'assignee' }])
    expect(task.due! - Date.now()).toBeGreaterThan(2.9 * 86_400_000)
    expect(task.origin).toContain(`openChatId=${chatId}`)
    await until('the follow-up line', () =>
      view(s, chatId).posts.some((p) => p.startsWith('☑️ 待办：add a replica-lag alert → @')),
    )
    await s.say(chatId, alice!.open_id, '/resolve rolled back v42', { mentionBot: true })
    await until('the document link', () =>
      view(s, chatId).posts.some((p) => p.startsWith('📄 复盘文档已生成')),
    )

    const docs = [...s.state.documents.values()]
    expect(docs).toHaveLength(1)
    const doc = docs[0]!
    expect(doc.title).toContain('复盘：')
    const texts = (doc.blocks as Block[]).map(textOf)
    const at = (h: string) => texts.indexOf(h)
    const moments = texts.slice(at('关键时刻') + 1, at('时间线'))
    // In order; a 📌 on someone else's message: the author's words, then who marked them.
    expect(moments.map((t) => t.replace(/^\S+ \S+ /, ''))).toEqual([
      `${bob!.name}: primary failed over (📌 ${alice!.name})`,
      `${alice!.name}: traffic drained from eu-west (📌 ${bob!.name})`,
      `${alice!.name}: rolled back v42`,
    ])
    for (const heading of [
      '概要',
      '影响',
      '关键时刻',
      '时间线',
      '关键指标',
      '根因',
      '做得好的',
      '待办事项',
    ])
      expect(texts, heading).toContain(heading)
    expect(texts.some((t) => t.startsWith('解决用时: '))).toBe(true)
    expect(texts).toContain('解决说明: rolled back v42')
    // The action items list the follow-up and its owner.
    const actions = texts.slice(at('待办事项') + 1)
    expect(actions[0]).toMatch(new RegExp(`^add a replica-lag alert \\(${bob!.name}, `))
    // Shared with the chat for editing, on the card, linked once.
    expect(doc.members).toEqual([{ member_type: 'openchat', member_id: chatId, perm: 'edit' }])
    // The link message goes out before the card's patch: wait for the card.
    await until('the card linking it', () =>
      JSON.stringify(view(s, chatId).card).includes(`/docx/${doc.document_id}`),
    )
    expect(view(s, chatId).posts.filter((p) => p.startsWith('📄 复盘文档已生成'))).toHaveLength(1)

    // A tab of the chat opens it.
    const url = (await warroom.find({ chatId }))!.postmortem!.url
    expect(url).toContain(`/docx/${doc.document_id}`)
    const tab = { tab_name: '复盘文档', tab_type: 'doc', tab_content: { doc: url } }
    expect(s.state.chats.get(chatId)!.tabs).toEqual([expect.objectContaining(tab)])

    // `warroom timeline` (where the receiver keeps its state) lists the same key moments, in the same words.
    const cli = io()
    expect(await main(['timeline', chatId, '--data-dir', dataDir], envFor(s), cli.io)).toBe(0)
    const printed = cli.out.join('\n').split('\n')
    const listed = printed.slice(
      printed.indexOf('## 关键时刻') + 2,
      printed.indexOf('', printed.indexOf('## 关键时刻') + 2),
    )
    // The timeline's Markdown escapes what chat text could inject; read as text, the lines are the document's.
    const unescaped = listed.map((l) => l.replace(/^- /, '').replace(/\\(.)/g, '$1'))
    expect(unescaped).toEqual(moments)
    expect(moments[0]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d /)

    // The review again (a retried resolution) and /postmortem: no second document.
    await warroom.summarize({ chatId })
    await s.say(chatId, bob!.open_id, '/复盘', { mentionBot: true })
    await until('the answer', () =>
      s.state.messagesIn(chatId).some((m) => m.content.includes('复盘文档已经生成')),
    )
    expect(s.state.documents.size).toBe(1)
    expect(doc.blocks.length).toBe(texts.length)
    expect(s.state.chats.get(chatId)!.tabs).toHaveLength(1)
  })

  test('without the docx scopes the war room resolves and the chat names the scope, once', async () => {
    const s = await sandbox({
      scopes: ALL_SCOPES.filter((x) => x !== 'docx:document' && x !== 'docx:document:create'),
    })
    const [alice] = [...s.state.users.values()]
    const { warroom } = await startReceiver(s, { config: { review: { document: 'auto' } } })
    const opened = await warroom.handle(incident({ members: [alice!.open_id] }))
    const resolved = await warroom.resolveBy({ chatId: opened.chatId! }, { openId: alice!.open_id })
    expect(resolved.action).toBe('resolved')
    await warroom.summarize({ chatId: opened.chatId! })
    await warroom.summarize({ chatId: opened.chatId! })
    const lines = view(s, opened.chatId!).posts.filter((p) =>
      p.startsWith('⚠️ 复盘文档未能完整生成'),
    )
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain('docx:document')
    expect(s.state.documents.size).toBe(0)
  })

  test('five resolutions at once: five documents, paced to Feishu’s 3 a second, none refused', async ({
    sandbox: s,
    people: [alice],
  }) => {
    const { warroom } = await startReceiver(s, { config: { review: { document: 'auto' } } })
    const chats = []
    for (let i = 0; i < 5; i++)
      chats.push(
        (await warroom.handle(incident({ key: `pm-${i}`, members: [alice!.open_id] }))).chatId!,
      )
    await Promise.all(
      chats.map((chatId) => warroom.resolveBy({ chatId }, { openId: alice!.open_id }, 'fixed')),
    )
    await Promise.all(chats.map((chatId) => warroom.summarize({ chatId })))
    expect(s.state.documents.size).toBe(5)
    expect(s.refusedBy.docx ?? 0).toBe(0)
    for (const chatId of chats)
      expect(view(s, chatId).posts.filter((p) => p.startsWith('📄 复盘文档已生成'))).toHaveLength(1)
  })

  test('a chat tab refused (its scope) leaves the document shared and linked, and names the scope once', async ({
    sandbox: s,
    people: [alice],
  }) => {
    const scopes = '[im:chat, im:chat.tabs:write_only]'
    s.faults.add({
      kind: 'code',
      code: 99991672,
      msg: `Access denied. One of the following scopes is required: ${scopes}.`,
      endpoint: 'addChatTab',
      times: 5,
    })
    const { warroom } = await startReceiver(s, { config: { review: { document: 'auto' } } })
    const { chatId } = await warroom.handle(incident({ members: [alice!.open_id] }))
    await warroom.resolveBy({ chatId: chatId! }, { openId: alice!.open_id }, 'fixed')
    await warroom.summarize({ chatId: chatId! })
    await warroom.summarize({ chatId: chatId! })
    const posts = view(s, chatId!).posts
    expect(posts.filter((p) => p.startsWith('📄 复盘文档已生成'))).toHaveLength(1)
    const refused = posts.filter((p) => p.startsWith('⚠️ 复盘文档未能加为群标签页'))
    expect(refused).toHaveLength(1)
    expect(refused[0]).toContain('im:chat.tabs:write_only')
    expect(s.state.chats.get(chatId!)!.tabs).toBeUndefined()
    const [doc] = [...s.state.documents.values()]
    expect(doc!.members).toEqual([{ member_type: 'openchat', member_id: chatId, perm: 'edit' }])
  })

  test('a folder busy with another create (1770036) is waited out: one document, linked once', async ({
    sandbox: s,
    people: [alice],
  }) => {
    s.faults.add({ kind: 'code', code: 1770036, endpoint: 'createDocument', times: 2 })
    const { warroom } = await startReceiver(s, {
      config: { review: { document: 'auto', folder_token: 'fldcnIncidents' } },
    })
    const { chatId } = await warroom.handle(incident({ members: [alice!.open_id] }))
    await warroom.resolveBy({ chatId: chatId! }, { openId: alice!.open_id }, 'fixed')
    await warroom.summarize({ chatId: chatId! })
    const docs = [...s.state.documents.values()]
    expect(docs.map((d) => d.folder_token)).toEqual(['fldcnIncidents'])
    expect(view(s, chatId!).posts.filter((p) => p.startsWith('📄 复盘文档已生成'))).toHaveLength(1)
  })
})
