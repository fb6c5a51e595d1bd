/**
 * What the sandbox understands of message content: it validates cards the
 * way Feishu's documented errors describe, and extracts the mentions and
 * links that Feishu would render, so tests can prove untrusted text produced
 * none.
 */

export class ContentError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message)
  }
}

/** Card and post content limit; text allows 150 KB. */
export const CARD_LIMIT_BYTES = 30 * 1024
export const TEXT_LIMIT_BYTES = 150 * 1024
export const MAX_V2_ELEMENTS = 200

const HEADER_TEMPLATES = new Set([
  'blue',
  'wathet',
  'turquoise',
  'green',
  'yellow',
  'orange',
  'red',
  'carmine',
  'violet',
  'purple',
  'indigo',
  'grey',
  'default',
])

export interface Rendered {
  /** Ids mentioned (open_id, user_id, email) and `all` for everyone. */
  mentions: string[]
  /** URLs that became links inside markdown text (buttons' own URLs are not counted). */
  links: string[]
}

function cardError(part: string, why: string): ContentError {
  // Feishu's 230099 carries the sub-error inside msg; keep that shape.
  return new ContentError(
    230099,
    `Failed to create card content, ext=ErrCode: 200621; ErrMsg: ${why}; ErrorValue: ${part};`,
  )
}

/** Validates a card (JSON 1.0 or 2.0) and returns what its markdown renders to. */
export function inspectCard(card: unknown): Rendered & { schema: '1.0' | '2.0' } {
  if (!card || typeof card !== 'object' || Array.isArray(card))
    throw cardError('card', 'card is not an object')
  const c = card as Record<string, unknown>
  const schema = c.schema === '2.0' ? '2.0' : '1.0'
  if (c.header !== undefined) {
    const header = c.header as Record<string, unknown> | null
    const title = header?.title as Record<string, unknown> | undefined
    if (!header || typeof title?.content !== 'string')
      throw cardError('header', 'header.title.content is required')
    if (header.template !== undefined && !HEADER_TEMPLATES.has(String(header.template)))
      throw cardError('header.template', `unknown header template ${String(header.template)}`)
  }
  let elements: unknown
  if (schema === '2.0') {
    elements = (c.body as Record<string, unknown> | undefined)?.elements
    if (c.elements !== undefined)
      throw cardError('elements', 'JSON 2.0 cards take body.elements, not elements')
    const config = c.config as Record<string, unknown> | undefined
    if (config?.update_multi === false)
      throw cardError('config.update_multi', 'JSON 2.0 cards are always shared')
  } else {
    elements = c.elements ?? c.i18n_elements
  }
  if (!Array.isArray(elements) && !(elements && typeof elements === 'object'))
    throw cardError('elements', 'the card has no elements')
  if (Array.isArray(elements) && elements.length === 0 && c.header === undefined)
    throw cardError('elements', 'the card has neither header nor elements')
  const out: Rendered = { mentions: [], links: [] }
  let count = 0
  walk(elements, (node) => {
    count++
    collectFromNode(node, out)
  })
  if (schema === '2.0' && count > MAX_V2_ELEMENTS * 8)
    throw cardError('body.elements', 'too many elements')
  if (c.header) collectFromNode((c.header as Record<string, unknown>).title, out)
  return { ...out, schema }
}

/** Markdown-bearing text: lark_md objects, markdown elements. plain_text is shown literally. */
function collectFromNode(value: unknown, out: Rendered): void {
  if (!value || typeof value !== 'object') return
  const node = value as Record<string, unknown>
  if (node.tag === 'markdown' && typeof node.content === 'string')
    collectMarkdown(node.content, out)
  if (node.tag === 'lark_md' && typeof node.content === 'string') collectMarkdown(node.content, out)
}

function walk(value: unknown, visit: (node: Record<string, unknown>) => void, depth = 0): void {
  if (depth > 64) throw cardError('elements', 'the card is nested too deeply')
  if (Array.isArray(value)) {
    for (const v of value) walk(v, visit, depth + 1)
  } else if (value && typeof value === 'object') {
    const node = value as Record<string, unknown>
    visit(node)
    for (const v of Object.values(node)) if (v && typeof v === 'object') walk(v, visit, depth + 1)
  }
}

const CARD_AT = /<at\s+(id|ids|email|user_id)\s*=\s*['"]?([^'"\s>]+)['"]?\s*>/gi
const MD_LINK = /\[[^\]]*\]\(\s*([a-z][a-z0-9+.-]*:[^)\s]*)\s*\)/gi
const HTML_LINK = /<(?:a\s+href|link\b[^>]*\burl)\s*=\s*['"]?([^'"\s>]+)/gi
const AUTO_LINK = /<(https?:\/\/[^>\s]+)>/gi
// A bare URL may be auto-linked by the client.
const BARE_URL = /(?<![(\w])(https?:\/\/[^\s<>()\]]+)/gi

/** Card markdown and text: `<at id=…>`, `<at user_id="…">`, `[t](url)`, `<a href>`, `<link url>`. Entities (&#60;) are literal text. */
export function collectMarkdown(text: string, out: Rendered): void {
  for (const m of text.matchAll(CARD_AT)) {
    for (const id of (m[2] ?? '').split(',')) if (id) out.mentions.push(id)
  }
  const links = new Set<string>()
  for (const re of [MD_LINK, HTML_LINK, AUTO_LINK, BARE_URL])
    for (const m of text.matchAll(re)) links.add(m[1] ?? '')
  out.links.push(...links)
}

/** Text messages: `<at user_id="…">` and `[t](url)` links. */
export function inspectText(content: Record<string, unknown>): Rendered {
  if (typeof content.text !== 'string')
    throw new ContentError(230001, 'invalid message content: text is required')
  const out: Rendered = { mentions: [], links: [] }
  collectMarkdown(content.text, out)
  return out
}

/** Post messages: `at` and `a` nodes, and `md` nodes' markdown. */
export function inspectPost(content: Record<string, unknown>): Rendered {
  const out: Rendered = { mentions: [], links: [] }
  const locales = Object.values(content).filter((v) => v && typeof v === 'object') as Record<
    string,
    unknown
  >[]
  if (locales.length === 0)
    throw new ContentError(230001, 'invalid message content: post needs a locale')
  for (const locale of locales) {
    if (!Array.isArray(locale.content))
      throw new ContentError(230001, 'invalid message content: post content')
    for (const paragraph of locale.content) {
      if (!Array.isArray(paragraph))
        throw new ContentError(230001, 'invalid message content: post paragraph')
      for (const node of paragraph as Record<string, unknown>[]) {
        if (node?.tag === 'at' && typeof node.user_id === 'string') out.mentions.push(node.user_id)
        if (node?.tag === 'a' && typeof node.href === 'string') out.links.push(node.href)
        // Text nodes are scanned as if parsed (undocumented either way).
        if ((node?.tag === 'md' || node?.tag === 'text') && typeof node.text === 'string') {
          collectMarkdown(node.text, out)
        }
      }
    }
  }
  return out
}

/** Image formats Feishu accepts, by magic bytes. */
export function imageFormat(bytes: Uint8Array): string | undefined {
  const b = bytes
  if (b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'png'
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg'
  if (b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46) return 'gif'
  if (
    b[0] === 0x52 &&
    b[1] === 0x49 &&
    b[2] === 0x46 &&
    b[3] === 0x46 &&
    b[8] === 0x57 &&
    b[9] === 0x45
  )
    return 'webp'
  if (b[0] === 0x42 && b[1] === 0x4d) return 'bmp'
  if (
    (b[0] === 0x49 && b[1] === 0x49 && b[2] === 0x2a) ||
    (b[0] === 0x4d && b[1] === 0x4d && b[3] === 0x2a)
  )
    return 'tiff'
  if (b[0] === 0 && b[1] === 0 && b[2] === 1 && b[3] === 0) return 'ico'
  return undefined
}
