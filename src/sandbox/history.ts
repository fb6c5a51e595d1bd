/**
 * Messages as Feishu's history answers them (GET /im/v1/messages and GET
 * /im/v1/messages/:id), not as they were sent. Documented on the "received
 * message content" page (open.larksuite.com, im-v1/message/events/message_content):
 * - a card comes back degraded: `{title, elements: [[node, …], …]}`, one array
 *   per line, its markdown already parsed into `text`, `a`, `at`, `button`,
 *   `note`, `hr` and `img` nodes, mentions as `@_user_N` keys that the
 *   message's `mentions` map to people; a JSON 2.0 card comes back as a
 *   placeholder asking for a newer client;
 * - `card_msg_content_type=raw_card_content` returns `{json_card, card_schema}`
 *   instead (Lark's CLI asks for it);
 * - text keeps `@_user_N` keys, mapped by `mentions` as well.
 */

export type HistoryNode = Record<string, unknown> & { tag: string }

/** What a JSON 2.0 card reads as in the history (its content is not returned). */
export const V2_PLACEHOLDER = '请升级至最新版本客户端，以查看内容'

export interface HistoryOptions {
  /** The message's mention key for an id: `@_user_N`. */
  keyOf(id: string): string
  raw: boolean
}

/** The content string the history answers for a card as sent. */
export function cardContent(card: Record<string, unknown>, options: HistoryOptions): string {
  const schema = card.schema === '2.0' ? 2 : 1
  if (options.raw) {
    // The internal form Lark's CLI reads: header and body wrapped in `property`.
    const header = card.header as { title?: { content?: string } } | undefined
    const elements = schema === 2 ? (card.body as { elements?: unknown })?.elements : card.elements
    const json = {
      header: {
        property: {
          title: { tag: 'plain_text', property: { content: header?.title?.content ?? '' } },
        },
      },
      body: { property: { elements: elements ?? [] } },
    }
    return JSON.stringify({
      json_card: JSON.stringify(json),
      card_schema: schema,
      json_attachment: '',
    })
  }
  if (schema === 2)
    return JSON.stringify({ title: null, elements: [[{ tag: 'text', text: V2_PLACEHOLDER }]] })
  const header = card.header as { title?: { content?: string } } | undefined
  const lines: HistoryNode[][] = []
  for (const element of (card.elements as unknown[] | undefined) ?? [])
    lines.push(...elementLines(element, options))
  return JSON.stringify({ title: header?.title?.content ?? '', elements: lines })
}

function elementLines(value: unknown, options: HistoryOptions): HistoryNode[][] {
  if (!value || typeof value !== 'object') return []
  const el = value as Record<string, unknown>
  switch (el.tag) {
    case 'markdown':
      return markdownLines(String(el.content ?? ''), options)
    case 'div': {
      const out: HistoryNode[][] = []
      if (el.text) out.push(...textLines(el.text, options))
      for (const field of (el.fields as Array<{ text?: unknown }> | undefined) ?? [])
        out.push(...textLines(field.text, options))
      return out
    }
    case 'hr':
      return [[{ tag: 'hr' }]]
    case 'img':
      return [[{ tag: 'img', image_key: String(el.img_key ?? '') }]]
    case 'note': {
      const nodes: HistoryNode[] = []
      for (const e of (el.elements as Array<Record<string, unknown>> | undefined) ?? []) {
        if (e.tag === 'img') nodes.push({ tag: 'img', image_key: String(e.img_key ?? '') })
        else nodes.push(...textLines(e, options).flat())
      }
      return [[{ tag: 'note', elements: nodes }]]
    }
    case 'action':
      return [
        ((el.actions as Array<Record<string, unknown>> | undefined) ?? []).map((a) =>
          a.tag === 'button'
            ? {
                tag: 'button',
                text: String((a.text as { content?: string })?.content ?? ''),
                type: String(a.type ?? 'default'),
              }
            : { tag: String(a.tag ?? 'unknown') },
        ),
      ]
    case 'column_set':
      return ((el.columns as Array<{ elements?: unknown[] }> | undefined) ?? []).flatMap((c) =>
        (c.elements ?? []).flatMap((e) => elementLines(e, options)),
      )
    default:
      return []
  }
}

/** A text object: plain_text is shown as written, lark_md is parsed. */
function textLines(value: unknown, options: HistoryOptions): HistoryNode[][] {
  const t = value as { tag?: string; content?: unknown } | undefined
  if (typeof t?.content !== 'string') return []
  if (t.tag === 'plain_text')
    return t.content.split('\n').map((line) => [{ tag: 'text', text: line }])
  return markdownLines(t.content, options)
}

const TOKEN =
  /<at\s+(?:id|user_id|email)\s*=\s*['"]?([^'"\s>]+)['"]?\s*>\s*<\/at>|\[([^\]]*)\]\(\s*([^)\s]+)\s*\)/g

/** Card markdown parsed as Feishu's history shows it: styles dropped, links and mentions as nodes. */
function markdownLines(markdown: string, options: HistoryOptions): HistoryNode[][] {
  return markdown.split('\n').map((line) => {
    const nodes: HistoryNode[] = []
    let last = 0
    const text = (s: string) => {
      const plain = decode(s.replace(/<\/?font[^>]*>/g, '').replace(/\*\*|~~/g, ''))
      if (plain) nodes.push({ tag: 'text', text: plain })
    }
    for (const m of line.matchAll(TOKEN)) {
      text(line.slice(last, m.index))
      if (m[1] !== undefined)
        nodes.push(
          m[1] === 'all'
            ? { tag: 'at', user_id: 'all', user_name: '' }
            : { tag: 'at', user_id: options.keyOf(m[1]), user_name: '' },
        )
      else nodes.push({ tag: 'a', text: decode(m[2] ?? ''), href: m[3] ?? '' })
      last = (m.index ?? 0) + m[0].length
    }
    text(line.slice(last))
    return nodes
  })
}

function decode(text: string): string {
  return text
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
}
