/**
 * /sev and /title (issue 24): severity from the chat re-routes and
 * re-escalates; the title renames the chat keeping its status prefix and
 * priority; a later notification does not undo a person's severity.
 */
import { describe, expect } from 'vitest'
import { COMMANDS } from '../../src/commands/index.js'
import { test } from '../support/fixtures.js'
import { incident, until, view } from '../support/helpers.js'
import { startReceiver } from '../support/receiver.js'

describe('severity and title from the chat', () => {
  test('/sev critical renames, recolours, buzzes and starts the critical route’s steps; /sev warning stops the rest', async ({
    sandbox: s,
    people: [alice, bob, carol],
  }) => {
    const { warroom } = await startReceiver(s, {
      config: {
        routes: [
          {
            match: { severity: 'critical' },
            continue: true,
            escalation: [
              { after: '1s', urgent: 'app', to: [bob!.email] },
              { after: '3s', urgent: 'phone', to: [carol!.email] },
            ],
          },
        ],
      },
    })
    const opened = await warroom.handle(
      incident({ severity: 'error', members: [alice!.open_id], labels: { severity: 'error' } }),
    )
    const chatId = opened.chatId!
    expect(view(s, chatId).name).toMatch(/^🔴 \[P1\] /)
    expect(s.state.urgent).toHaveLength(0) // an error incident buzzes nobody

    await s.say(chatId, alice!.open_id, '/sev critical', { mentionBot: true })
    await until('the rename', () => view(s, chatId).name.startsWith('🔥 [P0] '))
    await until('the card', () => view(s, chatId).card.header.template === 'carmine')
    // The critical buzz, then the critical route's first step (Bob, after 1 s).
    await until('the buzz', () => s.state.urgent.some((u) => u.user_ids.includes(alice!.open_id)))
    await until('step 1', () => s.state.urgent.some((u) => u.user_ids.includes(bob!.open_id)), 8000)
    expect(view(s, chatId).posts).toContainEqual(`🏷 @${alice!.open_id} 将级别改为 P0 严重`)

    // Lowered: the phone call to Carol (step 2) never comes.
    await s.say(chatId, alice!.open_id, '/sev P2', { mentionBot: true })
    await until('the rename', () => view(s, chatId).name.startsWith('🟠 [P2] '))
    await new Promise((r) => setTimeout(r, 3500))
    expect(s.state.urgent.some((u) => u.user_ids.includes(carol!.open_id))).toBe(false)

    // The source's next notification (still "error") does not undo the person's severity.
    await warroom.handle(
      incident({
        severity: 'error',
        members: [alice!.open_id],
        labels: { severity: 'error' },
        summary: 'still 7%',
      }),
    )
    expect(view(s, chatId).name).toMatch(/^🟠 \[P2\] /)
    expect((await warroom.find({ chatId }))?.incident?.severity).toBe('warning')
  })

  test('/title renames keeping the priority, and after resolution keeps the [已解决] prefix; bad input gets the usage', async ({
    sandbox: s,
    people: [alice],
  }) => {
    const { warroom } = await startReceiver(s)
    const opened = await warroom.handle(incident({ members: [alice!.open_id] }))
    const chatId = opened.chatId!
    await s.say(chatId, alice!.open_id, '/title Checkout down in eu-west', { mentionBot: true })
    await until('the rename', () => view(s, chatId).name === '🔴 [P1] Checkout down in eu-west')
    expect(view(s, chatId).card.header.title.content).toBe('🔴 [P1] Checkout down in eu-west')
    await warroom.resolveBy({ chatId }, { openId: alice!.open_id })
    await s.say(chatId, alice!.open_id, '/标题 Checkout 503s after the v42 deploy', {
      mentionBot: true,
    })
    await until(
      'the resolved rename',
      () => view(s, chatId).name === '[已解决] [P1] Checkout 503s after the v42 deploy',
    )
    // Usage for a /sev that names no severity; a /sev after the resolution is refused.
    const usage = await COMMANDS.run(COMMANDS.parse('/sev soon', false)!, {
      room: warroom,
      ref: { chatId },
      by: { openId: alice!.open_id },
      language: 'zh',
    })
    expect(usage.reason).toContain('用法：/sev')
    const late = await warroom.setSeverity({ chatId }, { openId: alice!.open_id }, 'critical')
    expect(late).toMatchObject({ action: 'none', reason: 'the incident is already resolved' })
  })
})
