/**
 * The video bridge (issue 25): one Feishu meeting per incident, its link on
 * the card (the chat's header) and posted once, also when the open is retried
 * and on three replicas; released on resolution; a missing scope is a line.
 */
import { describe, expect } from 'vitest'
import { parseConfig } from '../../src/config/config.js'
import { warRoomConfig } from '../../src/core/from-config.js'
import { ALL_SCOPES } from '../../src/sandbox/server.js'
import { test } from '../support/fixtures.js'
import { incident, sandbox, until, view, warRoomFor } from '../support/helpers.js'
import { freshSchema, HAVE_POSTGRES, pgStore } from '../support/postgres.js'
import { startReceiver } from '../support/receiver.js'

const auto = { warroom: { bridge: 'auto' as const } }
const bridgeLines = (s: Awaited<ReturnType<typeof sandbox>>, chatId: string) =>
  view(s, chatId).posts.filter((p) => p.startsWith('📹 视频会议已就绪：'))

describe('the video bridge', () => {
  test('bridge: auto gives a critical incident one meeting, linked on the card and posted once, released on resolution', async ({
    sandbox: s,
    people: [alice, bob],
  }) => {
    const { warroom } = await startReceiver(s, { config: auto })
    const opened = await warroom.handle(
      incident({ severity: 'critical', members: [alice!.open_id, bob!.open_id] }),
    )
    const chatId = opened.chatId!
    const meetings = [...s.state.meetings.values()]
    expect(meetings).toHaveLength(1)
    const meeting = meetings[0]!
    expect(meeting.topic).toBe(s.state.chats.get(chatId)!.name)
    expect([alice!.open_id, bob!.open_id]).toContain(meeting.owner)
    // Within Feishu's 30 days.
    expect(meeting.end_time - s.now()).toBeLessThanOrEqual(30 * 86_400_000)
    // On the card, which is the chat's top notice (the header everyone sees), and posted once.
    const card = JSON.stringify(view(s, chatId).card)
    expect(card).toContain(meeting.url)
    expect(view(s, chatId).cardRead).toContain(`📹 视频会议已就绪（会议号 ${meeting.meeting_no}）`)
    expect(s.state.chats.get(chatId)!.topNotice).toBe(opened.cardMessageId)
    expect(bridgeLines(s, chatId)).toHaveLength(1)
    // The same notification again, and a new alert: no second meeting, no second line.
    await warroom.handle(incident({ severity: 'critical', members: [alice!.open_id] }))
    await warroom.handle(
      incident({ severity: 'critical', members: [alice!.open_id], summary: 'worse now' }),
    )
    expect(s.state.meetings.size).toBe(1)
    expect(bridgeLines(s, chatId)).toHaveLength(1)

    // Someone held the call; at the resolution the reservation is released and the meeting kept.
    const meetingId = (await (
      await fetch(`${s.url}/_sandbox/meetings/start`, {
        method: 'POST',
        body: JSON.stringify({ reserve_id: meeting.id }),
      })
    ).json()) as { meeting_id: string }
    await warroom.resolveBy({ chatId }, { openId: alice!.open_id })
    expect(meeting.released).toBeGreaterThan(0)
    const record = (await warroom.find({ chatId }))!
    expect(record.bridge).toMatchObject({ meetingId: meetingId.meeting_id })
    expect(JSON.stringify(view(s, chatId).card)).not.toContain(meeting.url) // a green card has no call
  })

  test('the review names the meeting held and links its notes when Feishu answers them (both answers)', async () => {
    for (const meetingArtifacts of [true, false]) {
      const s = await sandbox({ meetingArtifacts })
      const [alice] = [...s.state.users.values()]
      const { warroom } = await startReceiver(s, { config: auto })
      const opened = await warroom.handle(
        incident({ severity: 'critical', members: [alice!.open_id] }),
      )
      const meeting = [...s.state.meetings.values()][0]!
      await fetch(`${s.url}/_sandbox/meetings/start`, {
        method: 'POST',
        body: JSON.stringify({ reserve_id: meeting.id }),
      })
      await warroom.resolveBy({ chatId: opened.chatId! }, { openId: alice!.open_id })
      await warroom.summarize({ chatId: opened.chatId! })
      const summary = view(s, opened.chatId!).posts.find((p) => p.startsWith('📋 复盘摘要'))!
      const line = summary.split('\n').find((l) => l.startsWith('📹'))!
      expect(line.startsWith(`📹 视频会议 ${meeting.meeting_no}`)).toBe(true)
      if (meetingArtifacts) expect(line).toMatch(/，会议纪要文档 doxcn\w+$/)
      else expect(line).toContain('（飞书未返回会议纪要）')
    }
  })

  test('a warning incident gets none with auto; /bridge and the card’s button open one, once', async ({
    sandbox: s,
    people: [alice, bob],
  }) => {
    const { warroom } = await startReceiver(s) // bridge: button, the default
    const opened = await warroom.handle(incident({ members: [alice!.open_id, bob!.open_id] }))
    const chatId = opened.chatId!
    expect(s.state.meetings.size).toBe(0)
    const card = JSON.stringify(view(s, chatId).card)
    expect(card).toContain('"content":"发起视频会议"')
    const k = /"op":"bridge","k":"([^"]+)"/.exec(card)![1]
    const clicked = await s.click(opened.cardMessageId!, bob!.open_id, { op: 'bridge', k })
    expect((clicked.body as { toast: { content: string } }).toast.content).toBe('视频会议已就绪')
    expect(s.state.meetings.size).toBe(1)
    expect([...s.state.meetings.values()][0]!.owner).toBe(bob!.open_id) // who asked owns it
    expect(JSON.stringify(view(s, chatId).card)).not.toContain('发起视频会议')
    // /bridge now answers with the meeting there is.
    await s.say(chatId, alice!.open_id, '/会议', { mentionBot: true })
    await until('the answer', () =>
      s.state.messagesIn(chatId).some((m) => m.content.includes('：点卡片上的「📹 加入视频会议」')),
    )
    expect(s.state.meetings.size).toBe(1)
    expect(bridgeLines(s, chatId)).toHaveLength(1)
  })

  test('without vc:reserve the war room opens and the chat says which scope is missing, once', async () => {
    const s = await sandbox({ scopes: ALL_SCOPES.filter((x) => x !== 'vc:reserve') })
    const [alice] = [...s.state.users.values()]
    const { warroom } = await startReceiver(s, { config: auto })
    const opened = await warroom.handle(
      incident({ severity: 'critical', members: [alice!.open_id] }),
    )
    expect(opened.action).toBe('opened')
    expect(opened.warnings.join()).toContain('no video bridge')
    await warroom.handle(
      incident({ severity: 'critical', members: [alice!.open_id], summary: 'again' }),
    )
    const refused = view(s, opened.chatId!).posts.filter((p) => p.startsWith('⚠️ 未能预约视频会议'))
    expect(refused).toHaveLength(1)
    expect(refused[0]).toContain('vc:reserve')
    expect(s.state.meetings.size).toBe(0)
  })

  test('an open retried after its card failed reserves one meeting', async ({
    sandbox: s,
    people: [alice],
  }) => {
    const { warroom } = await startReceiver(s, { config: auto })
    // The card send fails (Feishu answered, nothing sent): the first attempt ends before the bridge.
    s.faults.add({ kind: 'code', code: 230001, endpoint: 'sendMessage', times: 1 })
    await warroom
      .handle(incident({ severity: 'critical', members: [alice!.open_id] }))
      .catch(() => {})
    const retried = await warroom.handle(
      incident({ severity: 'critical', members: [alice!.open_id] }),
    )
    expect(retried.chatId).toBeDefined()
    await warroom.handle(incident({ severity: 'critical', members: [alice!.open_id] }))
    expect(s.state.meetings.size).toBe(1)
    expect(bridgeLines(s, retried.chatId!)).toHaveLength(1)
  })
})

describe.skipIf(!HAVE_POSTGRES)('the video bridge on three replicas', () => {
  test('the same critical incident at three replicas at once: one meeting, one line', async ({
    sandbox: s,
    people: [alice],
  }) => {
    const schema = freshSchema()
    const config = warRoomConfig(parseConfig(auto))
    const rooms = await Promise.all(
      [0, 1, 2].map(async () => warRoomFor(s, { store: await pgStore(schema), config })),
    )
    const results = await Promise.all(
      rooms.map((r) => r.handle(incident({ severity: 'critical', members: [alice!.open_id] }))),
    )
    const chatIds = new Set(results.map((r) => r.chatId))
    expect(chatIds.size).toBe(1)
    expect(s.state.meetings.size).toBe(1)
    expect(bridgeLines(s, [...chatIds][0]!)).toHaveLength(1)
  })
})
