import { describe, expect, it } from 'vitest'
import { COMMANDS } from '../../src/commands/index.js'
import { parseIncident } from '../../src/model/incident.js'
import { CARD_BUDGET_BYTES, type CardView, renderCard } from '../../src/render/card.js'
import { escapeMarkdown, safePlainText } from '../../src/render/text.js'
import { MemoryStore } from '../../src/store/store.js'
import { safeUrl } from '../../src/util/url.js'
import { incident, sandbox, view, warRoomFor } from '../support/helpers.js'

const attacks = [
  '<at id=all></at>',
  '<at user_id="all"></at>',
  '<at id="all">everyone</at>',
  '<at ids=ou_1,ou_2></at>',
  '<at email=boss@example.com></at>',
  '[click me](https://evil.example/phish)',
  '<a href="https://evil.example/a">x</a>',
  "<link url='https://evil.example/l'>y</link>",
  'https://evil.example/bare',
  '<https://evil.example/angle>',
  '**unclosed bold ~~strike `code',
  '---\n# heading\n> quote',
  '&#60;at id=all&#62;',
  '\u202eevil reversed text',
]
const hostile = attacks.join(' ')

function baseView(overrides: Partial<CardView> = {}): CardView {
  const state = overrides.state ?? 'firing'
  const keyHash = '0123456789abcdef0123456789abcdef'
  return {
    incident: parseIncident(incident()),
    keyHash,
    state,
    // The buttons the core asks the command table for, in this state.
    buttons: COMMANDS.buttons(
      {
        resolved: state === 'resolved',
        acknowledged: false,
        led: false,
        canSilence: false,
        silenced: false,
        canBridge: false,
      },
      'zh',
      keyHash,
    ),
    openedAt: Date.UTC(2026, 10, 25, 2, 0),
    updatedAt: Date.UTC(2026, 10, 25, 2, 5),
    members: ['ou_aaa', 'ou_bbb'],
    failedMembers: [],
    imageKeys: [],
    ...overrides,
  }
}

describe('card rendering', () => {
  it('matches the snapshot for a firing incident', () => {
    expect(renderCard(baseView())).toMatchSnapshot()
  })

  it('has the documented structure: shared config, coloured header, buttons with values, a footer', () => {
    const card = renderCard(baseView()) as any
    expect(card.config.update_multi).toBe(true)
    expect(card.header.template).toBe('red')
    const actions = card.elements.find((e: any) => e.tag === 'action').actions
    expect(actions.map((a: any) => a.value?.op ?? a.url)).toEqual([
      'ack',
      'lead',
      'resolve',
      'https://grafana.example.com/d/checkout',
    ])
    expect(card.elements.at(-1).tag).toBe('note')
    const resolved = renderCard(
      baseView({ state: 'resolved', resolvedAt: Date.UTC(2026, 10, 25, 3, 30) }),
    ) as any
    expect(resolved.header.template).toBe('green')
    expect(JSON.stringify(resolved)).toContain('1小时30分')
    expect(
      resolved.elements.find((e: any) => e.tag === 'action').actions.some((a: any) => a.value),
    ).toBe(false)
  })

  it('colours by severity', () => {
    const colour = (severity: string) =>
      (
        renderCard(
          baseView({ incident: parseIncident(incident({ severity: severity as never })) }),
        ) as any
      ).header.template
    expect(['critical', 'error', 'warning', 'info'].map(colour)).toEqual([
      'carmine',
      'red',
      'orange',
      'blue',
    ])
  })

  it('shows the first N items and says how many more', () => {
    const items = Array.from({ length: 25 }, (_, i) => ({
      id: `i${i}`,
      title: `alert ${i}`,
      status: 'firing' as const,
    }))
    const card = JSON.stringify(
      renderCard(baseView({ incident: parseIncident(incident({ items })) }), { maxItems: 10 }),
    )
    expect(card).toContain('alert 9')
    expect(card).not.toContain('alert 10')
    expect(card).toContain('另有 15 项')
  })

  it('stays under the size budget whatever the input size', () => {
    const items = Array.from({ length: 1000 }, (_, i) => ({
      id: `i${i}`,
      title: `${'<>'.repeat(200)} ${i}`,
      status: 'firing' as const,
      labels: Object.fromEntries(
        Array.from({ length: 20 }, (_, j) => [`label${j}`, '*'.repeat(900)]),
      ),
    }))
    const big = parseIncident(
      incident({
        summary: '[x]'.repeat(2600),
        items,
        fields: Array.from({ length: 50 }, (_, i) => ({ name: `f${i}`, value: '#'.repeat(1000) })),
      }),
    )
    const card = renderCard(baseView({ incident: big }))
    expect(Buffer.byteLength(JSON.stringify(card))).toBeLessThanOrEqual(CARD_BUDGET_BYTES)
  })

  it('escapes markdown specials as entities and defangs plain text', () => {
    expect(escapeMarkdown('<at id=all></at>')).toBe('&#60;at id=all&#62;&#60;/at&#62;')
    expect(escapeMarkdown('[a](https://x)')).not.toMatch(/[[\]()<>]/)
    expect(safePlainText('<at id=all> [x](https://e.x) a@b.c')).toBe(
      '＜at id=all＞ ［x］(https:／／e.x) a＠b.c',
    )
    expect(safeUrl('javascript:alert(1)')).toBeUndefined()
    expect(safeUrl('https://x.example/a)b(c')).toBe('https://x.example/a%29b%28c')
  })
})

describe('untrusted text reaching Feishu', () => {
  it('never produces a mention or a link, in the card or in messages, whatever the labels, titles and summaries say', async () => {
    const s = await sandbox()
    const [alice] = [...s.state.users.values()]
    const room = warRoomFor(s, { store: new MemoryStore() })
    const nasty = incident({
      title: hostile,
      summary: hostile,
      fields: [{ name: hostile.slice(0, 90), value: hostile.slice(0, 900) }],
      items: attacks.map((a, i) => ({
        id: `x${i}`,
        title: a,
        status: 'firing' as const,
        labels: { [a.slice(0, 30)]: a },
      })),
      labels: { note: hostile.slice(0, 900) },
      links: [{ label: '<at id=all></at>', url: 'https://grafana.example.com/d/1' }],
      members: [alice!.open_id],
      resolution: hostile,
    })
    const opened = await room.handle(nasty)
    await room.handle({
      ...nasty,
      items: [...nasty.items!, { id: 'new', title: hostile, status: 'firing' }],
    })
    await room.resolveBy({ chatId: opened.chatId! }, { name: hostile }, hostile)
    const v = view(s, opened.chatId!)
    expect(v.chat.name).not.toMatch(/<at/i)
    const allowedLinks = new Set(['https://grafana.example.com/d/1'])
    for (const m of s.state.messagesIn(opened.chatId!)) {
      // The only mention anywhere is the responder the product chose to mention.
      expect(m.mentions.filter((id) => id !== alice!.open_id)).toEqual([])
      expect(m.links.filter((l) => !allowedLinks.has(l))).toEqual([])
    }
    expect(v.cards[0]!.mentions).toEqual([alice!.open_id])
    // The text is still there for people to read.
    expect(v.posts.join('\n')).toContain('＜at id=all＞')
  })
})
