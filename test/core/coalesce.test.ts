/**
 * Follow-ups coalesced (issue 26): while Feishu's message quota is
 * backlogged, the card is still patched with each change and the follow-ups
 * are held and posted as one message that lists them all, never dropped; a
 * resolution carries what is held after its own headline (one message).
 */
import { describe, expect } from 'vitest'
import type { FeishuClient } from '../../src/feishu/client.js'
import type { TimelineArchive } from '../../src/render/timeline.js'
import type { FeishuSandbox } from '../../src/sandbox/server.js'
import { LocalJobQueue } from '../../src/store/jobs.js'
import { hashKey, MemoryStore } from '../../src/store/store.js'
import { test } from '../support/fixtures.js'
import { incident, until, view } from '../support/helpers.js'
import { post, startReceiver } from '../support/receiver.js'

const item = (n: number) => ({
  id: `a${n}`,
  title: `replica-${n} lagging`,
  status: 'firing' as const,
})

/** The incident `lag` open with one alert, and 24 other war rooms to make a backlog in. */
async function withNoise(s: FeishuSandbox, member: string, store?: MemoryStore) {
  const { warroom, receiver, url } = await startReceiver(s, store ? { store } : {})
  const client = (warroom as unknown as { client: FeishuClient }).client
  const base = { key: 'lag', members: [member] }
  const opened = await warroom.handle(incident({ ...base, items: [item(1)] }))
  const others = await Promise.all(
    Array.from({ length: 24 }, (_, i) => warroom.handle(incident({ key: `noise-${i}` }))),
  )
  const flood = (n: number) =>
    Promise.all(
      Array.from({ length: n }, (_, i) =>
        client.sendMessage({
          receiveIdType: 'chat_id',
          receiveId: others[i % others.length]!.chatId!,
          msgType: 'text',
          content: { text: `noise ${i}` },
          uuid: `noise-${i}-${Math.random()}`,
        }),
      ),
    )
  const card = (n: number) => ({ elements: [{ tag: 'markdown', content: `noise ${n}` }] })
  const patchFlood = (n: number) =>
    Promise.all(
      Array.from({ length: n }, (_, i) =>
        client.patchCard(others[i % others.length]!.cardMessageId!, card(i)),
      ),
    )
  // Through the receiver's endpoint: its review follows a resolution (warroom.handle alone has none).
  const resolve = async () =>
    (await post(`${url}/incidents`, incident({ ...base, status: 'resolved' }))).json
  return { warroom, receiver, client, base, opened, flood, patchFlood, resolve }
}

describe('follow-ups while messages are backlogged', () => {
  test('three changes during a backlog: three card patches, one merged message naming all three; a resolution carries what is held', async ({
    sandbox: s,
    people: [alice],
  }) => {
    // Other chats (Feishu allows 5 messages a second into one): more than the app's 50 a second.
    const { warroom, client, base, opened, flood } = await withNoise(s, alice!.open_id)
    const { chatId } = opened
    const flooding = flood(120)
    await until('the backlog', () => client.transport.backlog('api:sendMessage') >= 10)
    for (const n of [2, 3, 4])
      await warroom.handle(incident({ ...base, items: [1, 2, 3, 4].slice(0, n).map(item) }))
    // The card is the truth at once: every alert on it.
    for (const n of [1, 2, 3, 4])
      expect(view(s, chatId!).cardRead).toContain(`replica-${n} lagging`)
    await flooding
    await until('the merged message', () =>
      view(s, chatId!).posts.some((p) => p.startsWith('🔄 3 次更新')),
    )
    const posts = view(s, chatId!).posts
    const merged = posts.find((p) => p.startsWith('🔄 3 次更新'))!
    for (const n of [2, 3, 4]) expect(merged).toContain(`replica-${n} lagging`)
    // Nothing posted on its own for those three changes.
    expect(posts.filter((p) => /新增 \d+ 项告警/.test(p) && !p.startsWith('🔄'))).toEqual([])

    // Held again, then resolved at once: the resolution, headline first, carries the held change.
    const again = flood(120)
    await until('the backlog', () => client.transport.backlog('api:sendMessage') >= 10)
    await warroom.handle(incident({ ...base, items: [1, 2, 3, 4, 5].map(item) }))
    await warroom.resolveBy({ chatId: chatId! }, { openId: alice!.open_id }, 'failed over')
    await again
    const after = view(s, chatId!).posts
    const resolutions = after.filter((p) => p.includes('已解决'))
    expect(resolutions).toHaveLength(1)
    expect(resolutions[0]).toMatch(
      /^✅ 事件已解决[\s\S]*failed over[\s\S]*🔄 1 次更新[\s\S]*replica-5 lagging/,
    )
    // The job that would have posted it finds nothing held: nothing else names it.
    await new Promise((r) => setTimeout(r, 1500))
    const final = view(s, chatId!).posts
    expect(final.filter((p) => p.includes('replica-5 lagging'))).toEqual(resolutions)
  })

  test('a resolution during a backlog carries the review summary: one message, none posted after it, the timeline still kept', async ({
    sandbox: s,
    people: [alice],
  }) => {
    const { warroom, receiver, client, opened, flood, resolve } = await withNoise(s, alice!.open_id)
    const { chatId } = opened
    // A person speaks in the room: the summary counts them from the history it reads.
    s.postUserMessage(chatId!, alice!.open_id, 'looking at replica lag')
    const flooding = flood(120)
    await until('the backlog', () => client.transport.backlog('api:sendMessage') >= 10)
    expect((await resolve()).action).toBe('resolved')
    await flooding
    // Closing waits for the review under way (its timeline, and any message of its own).
    await receiver.close()
    const posts = view(s, chatId!).posts
    const summaries = posts.filter((p) => p.includes('复盘摘要'))
    expect(summaries).toHaveLength(1)
    expect(summaries[0]).toMatch(
      /^✅ 事件已解决[\s\S]*\n📋 复盘摘要：确认用时 - · 解决用时 \S+ · 参与 1 人 · 人工消息 1 条/,
    )
    const record = await warroom.find({ chatId: chatId! })
    expect(record?.summaryPostedAt).toBe(record?.resolvedAt)
    const archive = (receiver as unknown as { archive: TimelineArchive }).archive
    expect(await archive.has(hashKey('lag'))).toBe(true)
  })

  test('without a backlog the resolution and the review summary are two messages, as always', async ({
    sandbox: s,
    people: [alice],
  }) => {
    const { warroom, receiver, opened, resolve } = await withNoise(s, alice!.open_id)
    expect((await resolve()).action).toBe('resolved')
    await receiver.close()
    const posts = view(s, opened.chatId!).posts
    expect(posts.filter((p) => p.includes('复盘摘要'))).toEqual([
      expect.stringMatching(/^📋 复盘摘要/),
    ])
    expect(posts.filter((p) => p.startsWith('✅ 事件已解决'))).toHaveLength(1)
    expect((await warroom.find({ chatId: opened.chatId! }))?.summaryPostedAt).toBeUndefined()
  })

  test('card patches during a backlog: the answer comes at once, one patch carries the changes made meanwhile, the card ends current', async ({
    sandbox: s,
    people: [alice],
  }) => {
    const { warroom, client, base, opened, patchFlood } = await withNoise(s, alice!.open_id)
    const { chatId, cardMessageId } = opened
    const flooding = patchFlood(150)
    await until('the backlog', () => client.transport.backlog('api:patchMessage') >= 10)
    const before = s.state.messages.get(cardMessageId!)!.patches
    for (const n of [2, 3, 4])
      expect(
        (await warroom.handle(incident({ ...base, items: [1, 2, 3, 4].slice(0, n).map(item) })))
          .action,
      ).toBe('updated')
    await flooding
    await until('the card current', () => view(s, chatId!).cardRead.includes('replica-4 lagging'))
    for (const n of [1, 2, 3, 4])
      expect(view(s, chatId!).cardRead).toContain(`replica-${n} lagging`)
    // Three changes, fewer patches: the ones made while a patch waited went with it.
    expect(s.state.messages.get(cardMessageId!)!.patches - before).toBeLessThan(3)
    // A resolution is answered once its card shows it, the background patch or not.
    await warroom.resolveBy({ chatId: chatId! }, { openId: alice!.open_id }, 'failed over')
    expect(view(s, chatId!).card.header.template).toBe('green')
  })

  test('a resolution’s message does not wait for its card behind others’ patches', async ({
    sandbox: s,
    people: [alice],
  }) => {
    const { warroom, client, opened, patchFlood } = await withNoise(s, alice!.open_id)
    const { chatId } = opened
    const flooding = patchFlood(150)
    await until('the backlog', () => client.transport.backlog('api:patchMessage') >= 10)
    const resolving = warroom.resolveBy({ chatId: chatId! }, { openId: alice!.open_id }, 'done')
    await until('the resolution message', () =>
      view(s, chatId!).posts.some((p) => p.startsWith('✅ 事件已解决')),
    )
    // Posted while the card still waits for its patch (about three seconds of others' first).
    expect(view(s, chatId!).card.header.template).not.toBe('green')
    expect((await resolving).action).toBe('resolved')
    expect(view(s, chatId!).card.header.template).toBe('green')
    expect(view(s, chatId!).name).toMatch(/^\[已解决\] /)
    await flooding
  })

  test('a background patch refused for good is patched again by a job, with no new notification', async ({
    sandbox: s,
    people: [alice],
  }) => {
    // The store's jobs on the sandbox's clock, so the test can move thirty seconds on.
    const store = new MemoryStore()
    store.jobs = new LocalJobQueue(undefined, [], () => s.now())
    const { warroom, client, base, opened, patchFlood } = await withNoise(s, alice!.open_id, store)
    const { chatId, cardMessageId } = opened
    // Feishu refuses this card's next patch (a definite 400, not retried).
    s.faults.add({
      kind: 'code',
      code: 230001,
      endpoint: 'patchMessage',
      path: cardMessageId!,
      times: 1,
    })
    const flooding = patchFlood(100)
    await until('the backlog', () => client.transport.backlog('api:patchMessage') >= 10)
    const changed = await warroom.handle(incident({ ...base, items: [1, 2].map(item) }))
    expect(changed.action).toBe('updated')
    await flooding
    await until('the refused patch', () => s.faults.pending.length === 0)
    await new Promise((r) => setTimeout(r, 300))
    expect(view(s, chatId!).cardRead).not.toContain('replica-2 lagging')
    // A repeat changes nothing the record knows of: the card stays behind until the job.
    await warroom.handle(incident({ ...base, items: [1, 2].map(item) }))
    expect(view(s, chatId!).cardRead).not.toContain('replica-2 lagging')
    s.clockOffsetMs += 31_000
    await until('the card patched again', () =>
      view(s, chatId!).cardRead.includes('replica-2 lagging'),
    )
  })
})
