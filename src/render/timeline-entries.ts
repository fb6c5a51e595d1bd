import type { Message } from '../feishu/types.js'
import type { TIMELINE_LABELS } from '../i18n/index.js'
import type { IncidentEvent, IncidentRecord } from '../store/store.js'
import type { JsonObject } from '../util/json.js'

/**
 * One history message as a timeline line, from the shapes Feishu's history
 * answers (open.larksuite.com, "received message content"):
 * - cards degraded to `{title, elements: [[node…]…]}` with parsed `text`, `a`,
 *   `at`, `button`, `note`, `hr`, `img` nodes; JSON 2.0 cards as a
 *   placeholder; `{json_card}` when raw_card_content was asked for;
 * - `@_user_N` keys in text, post and card nodes, mapped by `mentions`;
 * - system messages whose templates leave every slot but from_user,
 *   to_chatters and divider_text unfilled: a rename is completed from the
 *   incident's own events.
 */

export interface TimelineEntry {
  at: number
  kind: 'message' | 'system' | 'incident'
  sender?: { id: string; name?: string; bot: boolean }
  type: string
  text: string
}

type Labels = (typeof TIMELINE_LABELS)['en']
type Node = Record<string, unknown>

export interface EntryContext {
  names: Map<string, string>
  appId: string
  labels: Labels
  /** The chat's name after a rename at this time, from the incident's events. */
  nameAt(at: number): string | undefined
}

/** The chat's name over time: the open name, the resolved one after a resolution, back on a reopen. */
export function chatNames(
  record: IncidentRecord,
  resolvedPrefix: string,
): (at: number) => string | undefined {
  const changes = [...record.events]
    .filter((e): e is IncidentEvent => ['opened', 'resolved', 'reopened'].includes(e.type))
    .sort((a, b) => a.at - b.at)
  return (at) => {
    // A rename follows its event within moments (Feishu stamps it on its own clock).
    const last = changes.filter((e) => e.at <= at + 5_000).at(-1)
    if (!last || !record.chatName) return undefined
    return last.type === 'resolved' ? `${resolvedPrefix}${record.chatName}` : record.chatName
  }
}

export function messageEntry(m: Message, ctx: EntryContext): TimelineEntry {
  const at = Number(m.create_time)
  const { names } = ctx
  for (const mention of m.mentions ?? [])
    if (mention.id && mention.name) names.set(mention.id, mention.name)
  let content: JsonObject = {}
  try {
    content = JSON.parse(m.body?.content ?? '{}')
  } catch {
    // leave empty
  }
  if (m.msg_type === 'system')
    return { at, kind: 'system', type: 'system', text: systemText(content, at, ctx) }
  const bot = m.sender?.sender_type === 'app' || m.sender?.id_type === 'app_id'
  const senderId = m.sender?.id ?? ''
  const sender = {
    id: senderId,
    bot,
    ...(names.get(senderId)
      ? { name: names.get(senderId)! }
      : bot && senderId === ctx.appId
        ? { name: 'bot' }
        : {}),
  }
  const mentioned = (key: string) => {
    if (key === 'all' || key === '@_all') return 'all'
    const mention = (m.mentions ?? []).find((x) => x.key === key)
    return (
      mention?.name || (mention?.id ? names.get(mention.id) : undefined) || names.get(key) || '?'
    )
  }
  const node = (n: Node): string => nodeText(n, mentioned)
  let text: string
  switch (m.msg_type) {
    case 'text':
      text = String(content.text ?? '').replace(/@_user_\d+|@_all/g, (k) => `@${mentioned(k)}`)
      break
    case 'post': {
      const locale = (content.content ? content : Object.values(content)[0]) as
        | { title?: string; content?: Node[][] }
        | undefined
      const paragraphs = (locale?.content ?? []).map((p) => p.map(node).join(''))
      text = [locale?.title, ...paragraphs].filter(Boolean).join('\n')
      break
    }
    case 'interactive':
      text = cardLines(content, node, ctx).join('\n')
      break
    case 'image':
      text = `[image ${content.image_key ?? ''}]`
      break
    case 'file':
      text = `[file ${content.file_name ?? ''} ${content.file_key ?? ''}]`.replace(/\s+\]/, ']')
      break
    default:
      text = `[${m.msg_type}]`
  }
  return { at, kind: 'message', sender, type: m.msg_type, text: decodeEntities(text) }
}

const INPUT_TAGS = new Set([
  'button',
  'select_static',
  'select_person',
  'overflow',
  'date_picker',
  'picker_time',
  'picker_datetime',
  'input',
])

function nodeText(n: Node, mentioned: (key: string) => string): string {
  switch (n.tag) {
    case 'text':
    case 'code_block':
      return markdownText(String(n.text ?? ''), mentioned)
    case 'a': {
      const label = String(n.text ?? '')
      const href = String(n.href ?? '')
      return !label || label === href ? href : `${label} (${href})`
    }
    case 'at':
      return `@${mentioned(String(n.user_id ?? ''))}`
    case 'note':
      return ((n.elements as Node[] | undefined) ?? [])
        .map((e) => nodeText(e, mentioned))
        .filter(Boolean)
        .join(' ')
    case 'emotion':
      return `:${String(n.emoji_type ?? '')}:`
    default:
      // hr, img, media and the inputs (button labels are not history).
      return ''
  }
}

/** A card's title and text lines, in order. */
function cardLines(content: JsonObject, node: (n: Node) => string, ctx: EntryContext): string[] {
  if (typeof content.json_card === 'string') return rawCardLines(content.json_card, ctx)
  const lines: string[] = []
  for (const line of (content.elements as Node[][] | undefined) ?? []) {
    if (!Array.isArray(line) || line.every((n) => INPUT_TAGS.has(String(n.tag)))) continue
    const text = line.map(node).join('').trim()
    if (text) lines.push(text)
  }
  if (content.title === null && lines.length <= 1) return [`[card] ${ctx.labels.cardHidden}`]
  return [`[card] ${content.title ?? ''}`.trim(), ...lines]
}

/** raw_card_content: the card JSON (header and body in `property` wrappers, or as sent). */
function rawCardLines(json: string, ctx: EntryContext): string[] {
  let card: Node = {}
  try {
    card = JSON.parse(json)
  } catch {
    return ['[card]']
  }
  const texts: string[] = []
  const visit = (v: unknown, depth = 0) => {
    if (depth > 32 || !v || typeof v !== 'object') return
    if (Array.isArray(v)) {
      for (const x of v) visit(x, depth + 1)
      return
    }
    const o = v as Node
    const tag = String(o.tag ?? '')
    const props = (o.property as Node | undefined) ?? o
    if (['markdown', 'lark_md', 'plain_text'].includes(tag) && typeof props.content === 'string')
      texts.push(markdownText(props.content, (id) => ctx.names.get(id) ?? id))
    for (const [k, x] of Object.entries(o))
      if (k !== 'header' && !INPUT_TAGS.has(tag)) visit(x, depth + 1)
  }
  visit(card.body ?? card.elements)
  const header = card.header as Node | undefined
  const title = ((header?.property as Node | undefined)?.title ?? header?.title) as Node | undefined
  const titleText = String(((title?.property as Node | undefined) ?? title)?.content ?? '')
  return [
    `[card] ${titleText}`.trim(),
    ...texts.flatMap((t) => t.split('\n')).filter((t) => t.trim()),
  ]
}

/** Markdown left in a text (older histories kept it): styles dropped, mentions named. */
function markdownText(markdown: string, mentioned: (key: string) => string): string {
  return markdown
    .replace(
      /<at (?:id|user_id)=["']?([^"'\s>]+)["']?><\/at>/g,
      (_, id: string) => `@${mentioned(id)}`,
    )
    .replace(/<\/?font[^>]*>/g, '')
    .replace(/\*\*/g, '')
}

/** Fills the slots Feishu fills; completes a rename from the incident's events; drops the rest. */
function systemText(content: JsonObject, at: number, ctx: EntryContext): string {
  const template = String(content.template ?? '')
  if (!template.trim()) return ctx.labels.callEnded
  const value = (slot: string): string | undefined => {
    const v = content[slot]
    if (Array.isArray(v)) return v.filter((x) => typeof x === 'string' && x).join(', ') || undefined
    if (v && typeof v === 'object') return String((v as Node).text ?? '') || undefined
    return typeof v === 'string' && v ? v : undefined
  }
  if (template.includes('{group_name}') && value('group_name') === undefined) {
    const who = value('from_user') ?? '?'
    const name = ctx.nameAt(at)
    return name ? ctx.labels.renamedTo(who, name) : ctx.labels.renamed(who)
  }
  return template
    .replace(/\{(\w*)\}/g, (_, slot: string) => value(slot) ?? '…')
    .replace(/\s+/g, ' ')
    .trim()
}

function decodeEntities(text: string): string {
  return text.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))
}
