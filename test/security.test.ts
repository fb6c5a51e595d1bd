/**
 * Attacks from the security review (issue 11), each performed and shown to
 * fail. Who can reach what is in SECURITY.md.
 */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { githubIncident } from '../adapters/github.js'
import type { FeishuSandbox } from '../src/sandbox/server.js'
import { newId } from '../src/sandbox/state.js'
import { MemoryStore } from '../src/store.js'
import { pushEvent, workflowRunEvent } from './fixtures/github.js'
import { incident, sandbox, view, warRoomFor } from './helpers.js'
import { post, startReceiver } from './receiver-helpers.js'

/** A group a tenant user made and added the bot to, with the description they chose. */
function attackerGroup(s: FeishuSandbox, ownerOpenId: string, description: string): string {
  const chatId = newId('oc_')
  s.state.chats.set(chatId, {
    chat_id: chatId,
    name: 'totally the war room',
    description,
    owner: { type: 'user', id: ownerOpenId },
    members: new Set([ownerOpenId]),
    bots: new Set([s.appId]),
    botManagers: new Set(),
    chat_type: 'private',
    status: 'normal',
    created_at: s.now(),
    names: [{ name: 'totally the war room', at: s.now() }],
    urgent_setting: 'all_members',
    at_all_permission: 'all_members',
  })
  return chatId
}

const hashOf = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 32)
const users = (s: FeishuSandbox) => [...s.state.users.values()]

describe('forged war-room markers', () => {
  it('resolving the real incident from a group with a copied marker does nothing', async () => {
    const s = await sandbox()
    const [alice, mallory] = users(s)
    const { warroom } = await startReceiver(s)
    const real = await warroom.handle(incident({ members: [alice!.open_id] }))
    // Mallory copies the real war room's description (marker and mac) into her own group.
    const copied = view(s, real.chatId!).chat.description
    const group = attackerGroup(s, mallory!.open_id, copied)
    await s.say(group, mallory!.open_id, '/resolve gotcha')
    await new Promise((r) => setTimeout(r, 100))
    expect(view(s, real.chatId!).name).not.toMatch(/已解决/)
    expect((await warroom.find({ key: incident().key }))?.status).toBe('open')
    expect(view(s, group).posts.join()).toContain('这个群不是事件群')
  })

  it('a hand-written marker cannot pre-claim a future incident, in the receiver or the Action', async () => {
    const s = await sandbox()
    const [alice, mallory] = users(s)
    const key = 'alertmanager:warroom:{}:{alertname="Next"}'
    const forged = `[warroom:${hashOf(key)}:open:${Math.floor(Date.now() / 1000)}:${'0'.repeat(24)}]`
    const group = attackerGroup(s, mallory!.open_id, `feishu-warroom incident chat\n${forged}`)
    const legacy = attackerGroup(
      s,
      mallory!.open_id,
      `[warroom:${hashOf(key)}:open:${Math.floor(Date.now() / 1000)}]`,
    )
    // The receiver rebuilding its store, and the Action's stateless lookup.
    for (const room of [warRoomFor(s, { store: new MemoryStore() }), warRoomFor(s)]) {
      const result = await room.handle(incident({ key, members: [alice!.open_id] }))
      // The first opens the real war room; the second (stateless) finds that one, not a forged one.
      expect(['opened', 'updated']).toContain(result.action)
      expect([group, legacy]).not.toContain(result.chatId)
      expect(view(s, group).members).not.toContain(alice!.open_id)
      expect(view(s, group).cards).toHaveLength(0)
    }
  })

  it('a card click carrying the key of a forged group is answered, but no group is taken over', async () => {
    const s = await sandbox()
    const [alice, mallory] = users(s)
    const { url } = await startReceiver(s)
    const key = 'generic:checkout'
    const group = attackerGroup(s, mallory!.open_id, `[warroom:${hashOf(key)}:open:1700000000]`)
    const r = await post(`${url}/incidents`, incident({ key, members: [alice!.open_id] }))
    expect(r.json.action).toBe('opened')
    expect(r.json.chat_id).not.toBe(group)
  })
})

describe('fork runs', () => {
  it('a pull request from a fork’s main never touches the base repository’s main war room', async () => {
    const fork = workflowRunEvent({ conclusion: 'success' }) as any
    fork.workflow_run.head_repository = { full_name: 'mallory/shop', fork: true }
    const result = await githubIncident(
      { ...baseCtx('workflow_run'), payload: fork },
      { severity: 'error', language: 'zh', members: [], githubUsers: {}, env: {} },
    )
    expect(result.status).toBe('skip')
    expect(result.skipReason).toMatch(/fork mallory\/shop/)
  })

  it('a push to the repository itself is not mistaken for a fork', async () => {
    const result = await githubIncident(
      { ...baseCtx('push'), payload: pushEvent() },
      {
        status: 'failure',
        severity: 'error',
        language: 'zh',
        members: [],
        githubUsers: {},
        env: {},
      },
    )
    expect(result.status).not.toBe('skip')
  })
})

function baseCtx(eventName: string) {
  return {
    eventName,
    sha: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
    ref: 'refs/heads/main',
    workflow: 'CI',
    actor: 'mona',
    runId: 30433642,
    runNumber: 562,
    runAttempt: 1,
    serverUrl: 'https://github.com',
    repo: { owner: 'acme', repo: 'shop' },
  }
}

describe('clicks from outside the war room', () => {
  it('a Resolve click on a forwarded copy of the card, by someone not in the chat, is refused', async () => {
    const s = await sandbox()
    const [alice, mallory, carol] = users(s)
    const { warroom } = await startReceiver(s)
    const opened = await warroom.handle(incident({ members: [alice!.open_id] }))
    const card = view(s, opened.chatId!).card
    const resolve = card.elements.find((e: any) => e.tag === 'action').actions[1]
    expect(resolve.value.op).toBe('resolve')
    const refused = await s.click(opened.cardMessageId!, mallory!.open_id, resolve.value)
    expect((refused.body as any).toast.content).toBe('只有事件群的成员可以操作')
    expect(view(s, opened.chatId!).name).not.toMatch(/已解决/)
    // Someone who joined the chat by hand (not on the card) is a member all the same.
    s.state.chats.get(opened.chatId!)!.members.add(carol!.open_id)
    const accepted = await s.click(opened.cardMessageId!, carol!.open_id, resolve.value)
    expect((accepted.body as any).toast.type).toBe('success')
    expect(view(s, opened.chatId!).name).toMatch(/^\[已解决\] /)
  })
})
