/**
 * Untrusted text (alert labels, commit messages, titles) must never mention
 * anyone, add a link or break a card's markdown. Two defences, one per kind of
 * text object:
 *
 * - markdown / lark_md: every character with a markdown or tag meaning becomes
 *   an HTML numeric entity, the escape Feishu documents for card Markdown
 *   (https://open.feishu.cn/document/common-capabilities/message-card/message-cards-content/using-markdown-tags).
 * - plain_text, post text nodes, chat names: whether Feishu parses `<at>` or
 *   links there is not documented, so the characters that could open a tag or
 *   a link are swapped for full-width look-alikes that no parser treats as
 *   syntax, and the text reads the same to a person.
 */

// The documented specials, plus `&` (so entities in the input stay text), `|` and
// `+` (tables, lists), `.` and `@` (bare domains and emails that could autolink).
const MARKDOWN_SPECIALS = /[<>*~_[\]()#`!\-:"'\\$&|+.@]/g

/** Escapes text for a lark_md / markdown element. Newlines stay line breaks. */
export function escapeMarkdown(text: string): string {
  return stripControls(text).replace(MARKDOWN_SPECIALS, (c) => `&#${c.charCodeAt(0)};`)
}

const LOOKALIKES: Record<string, string> = {
  '<': '＜',
  '>': '＞',
  '[': '［',
  ']': '］',
  '@': '＠',
}

/** Neutralises text for plain_text objects, post text nodes and chat names. */
export function safePlainText(text: string): string {
  return stripControls(text)
    .replace(/[<>[\]@]/g, (c) => LOOKALIKES[c] ?? c)
    .replace(/(https?):\/\//gi, '$1:／／')
}

/** A single line: chat names and header titles (Unicode's line and paragraph separators too). */
export function singleLine(text: string): string {
  return text.replace(/\s*[\r\n\u0085\u2028\u2029]+\s*/g, ' ').trim()
}

/**
 * Drops C0/C1 controls except tab and newline, bidi controls (the Arabic
 * letter mark too), zero-width and invisible characters that can disguise
 * text (Hangul fillers, the Mongolian vowel separator, tag characters), and
 * lone surrogates.
 */
export function stripControls(text: string): string {
  return text
    .replace(
      /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u115f\u1160\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\u3164\ufeff\uffa0]|\udb40[\udc00-\udc7f]/g,
      '',
    )
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '')
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' })

/**
 * Cuts to at most `max` code points (what Feishu's limits count), ending in an
 * ellipsis when cut, and never inside a grapheme: a flag or a family emoji
 * stays whole or goes whole.
 */
export function truncate(text: string, max: number): string {
  if ([...text].length <= max) return text
  let out = ''
  let used = 0
  for (const { segment } of graphemes.segment(text)) {
    const n = [...segment].length
    if (used + n > max - 1) break
    out += segment
    used += n
  }
  return `${out}…`
}
