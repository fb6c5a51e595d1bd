import { formatDuration, formatTime, type Language, TEXTS } from '../i18n/index.js'
import type { Incident, IncidentItem, Person, Severity } from '../model/incident.js'
import { safeUrl } from '../util/url.js'
import { escapeMarkdown, safePlainText, singleLine, truncate } from './text.js'

/** Everything the card shows; the card is a pure function of this. */
export interface CardView {
  incident: Incident
  /** Hash of the incident key: what the card's buttons send back. */
  keyHash: string
  state: 'firing' | 'resolved'
  openedAt: number
  resolvedAt?: number
  updatedAt: number
  ack?: { by: Person; at: number }
  lead?: { by: Person; at: number }
  /** The further roles held (warroom.roles), with the names people see. */
  roles?: Array<{ label: string; by: Person; at: number }>
  /** The episode's post-mortem document. */
  postmortemUrl?: string
  /** Changes (deploys) shortly before it opened that touch what it touches, newest first. */
  changes?: Array<{ at: number; summary: string; source?: string; links: Array<{ url: string }> }>
  /** The incident's video meeting while it is reserved. */
  bridge?: { url: string; meetingNo?: string }
  /** The latest status update (/update), and when the next is due. */
  latestUpdate?: { at: number; text: string; next?: number }
  /** /silence can reach an Alertmanager for it (the source's own silence link is then left off). */
  canSilence?: boolean
  /** The buttons the command table shows in this state (src/commands/), as card elements. */
  buttons?: Element[]
  /** Until when its silence stands. */
  silencedUntil?: number
  /** The next escalation step, while nobody acknowledged. */
  nextEscalation?: { at: number; urgent: 'app' | 'sms' | 'phone' }
  resolvedBy?: Person
  /** open_ids known to be in the chat, mentioned as responders. */
  members: string[]
  failedMembers: Array<{ id: string; reason: string }>
  imageKeys: string[]
  previousChatUrl?: string
  /** The earlier episode ("last time this fired"): when, how long, what fixed it. */
  lastTime?: {
    openedAt: number
    resolvedAt: number
    note?: string
    postmortemUrl?: string
    /** Another incident of its family (route and alert name): its title. */
    title?: string
  }
}

export interface CardOptions {
  language: Language
  timeZone: string
  /** Items shown before "and N more". */
  maxItems: number
}

export const DEFAULT_CARD_OPTIONS: CardOptions = {
  language: 'zh',
  timeZone: 'Asia/Shanghai',
  maxItems: 10,
}

/** Feishu refuses cards over 30 KB; stay clear of it. */
export const CARD_BUDGET_BYTES = 28 * 1024

export const SEVERITY_STYLE: Record<
  Severity,
  { template: string; emoji: string; priority: string }
> = {
  critical: { template: 'carmine', emoji: '🔥', priority: 'P0' },
  error: { template: 'red', emoji: '🔴', priority: 'P1' },
  warning: { template: 'orange', emoji: '🟠', priority: 'P2' },
  info: { template: 'blue', emoji: '🔵', priority: 'P3' },
}

type Element = Record<string, unknown>

const md = (content: string): Element => ({ tag: 'markdown', content })
const plain = (content: string) => ({ tag: 'plain_text', content })

/**
 * Renders the alert card (JSON 1.0, shared so PATCHes reach everyone).
 * Untrusted text goes through escapeMarkdown or safePlainText; only ids and
 * URLs the product itself checked become mentions and links. Whatever the
 * input size, the result stays under CARD_BUDGET_BYTES.
 */
export function renderCard(
  view: CardView,
  options: Partial<CardOptions> = {},
): Record<string, unknown> {
  const opts = { ...DEFAULT_CARD_OPTIONS, ...options }
  // Shrink step by step until the card fits: fewer items, shorter texts.
  const steps = [
    { items: opts.maxItems, summary: 2000, fieldValue: 500, fields: 20, labels: true },
    { items: 5, summary: 1000, fieldValue: 200, fields: 12, labels: true },
    { items: 3, summary: 500, fieldValue: 100, fields: 8, labels: false },
    { items: 1, summary: 200, fieldValue: 60, fields: 4, labels: false },
    { items: 0, summary: 100, fieldValue: 40, fields: 0, labels: false },
  ]
  let card: Record<string, unknown> = {}
  for (const step of steps) {
    card = build(view, opts, step)
    if (Buffer.byteLength(JSON.stringify(card)) <= CARD_BUDGET_BYTES) return card
  }
  return card
}

interface Budget {
  items: number
  summary: number
  fieldValue: number
  fields: number
  labels: boolean
}

function build(view: CardView, opts: CardOptions, budget: Budget): Record<string, unknown> {
  const t = TEXTS[opts.language]
  const { incident } = view
  const resolved = view.state === 'resolved'
  const style = SEVERITY_STYLE[incident.severity]
  const when = (ms: number) => formatTime(ms, opts.timeZone, opts.language)
  const elements: Element[] = []

  // A person's resolution is "resolved"; "recovered" is the source's word, wrong beside alerts still firing.
  const statusText = resolved
    ? `✅ ${view.resolvedBy ? t.resolvedByPerson : t.resolved}`
    : view.ack
      ? `✋ ${t.acknowledged}`
      : `${style.emoji} ${t.firing}`
  const headline = [
    `**${t.status}** ${statusText}`,
    `**${t.severity}** ${style.priority} ${t.severityNames[incident.severity]}`,
    `**${t.source}** ${t.sourceNames[incident.source]}`,
  ].join('　')
  elements.push(md(headline))
  if (resolved && view.resolvedAt !== undefined) {
    elements.push(
      md(`**${t.duration}** ${formatDuration(view.resolvedAt - view.openedAt, opts.language)}`),
    )
  }
  if (incident.summary)
    elements.push(md(escapeMarkdown(truncate(incident.summary, budget.summary))))

  const fields = incident.fields.slice(0, budget.fields)
  if (fields.length) {
    elements.push({
      tag: 'div',
      fields: fields.map((f) => ({
        is_short: [...f.value].length <= 40,
        text: {
          tag: 'lark_md',
          content: `**${escapeMarkdown(truncate(f.name, 60))}**\n${escapeMarkdown(truncate(f.value, budget.fieldValue))}`,
        },
      })),
    })
  }

  if (incident.items.length && budget.items > 0) {
    elements.push({ tag: 'hr' })
    const firing = incident.items.filter((i) => i.status === 'firing')
    const done = incident.items.filter((i) => i.status !== 'firing')
    const shown = [...firing, ...done].slice(0, budget.items)
    const lines = shown.map((item) => itemLine(item, budget.labels, when, resolved))
    const rest = incident.items.length - shown.length
    if (rest > 0) lines.push(t.more(rest))
    elements.push(
      md(
        // Resolved by a person while the source still reports alerts: say so, not "firing".
        `**${t.items}** (${firing.length}/${incident.items.length} ${resolved ? t.stillFiring : t.firing})\n${lines.join('\n')}`,
      ),
    )
  } else if (incident.items.length) {
    elements.push(md(t.more(incident.items.length)))
  }

  for (const key of view.imageKeys) {
    elements.push({
      tag: 'img',
      img_key: key,
      alt: plain(''),
      mode: 'fit_horizontal',
      preview: true,
    })
  }

  const people: string[] = []
  if (view.members.length) people.push(`**${t.responders}** ${view.members.map(mention).join(' ')}`)
  if (view.failedMembers.length) {
    const failed = view.failedMembers
      .slice(0, 10)
      .map((f) => `${escapeMarkdown(truncate(f.id, 80))} (${escapeMarkdown(f.reason)})`)
    people.push(`**${t.notInvited}** ${failed.join(', ')}`)
  }
  if (view.lead) people.push(t.leadBy(personMd(view.lead.by, t.unknownUser), when(view.lead.at)))
  if (view.bridge && !resolved)
    people.push(t.bridgeOnCard(escapeMarkdown(view.bridge.meetingNo ?? '')))
  for (const r of view.roles ?? [])
    people.push(t.roleBy(escapeMarkdown(r.label), personMd(r.by, t.unknownUser), when(r.at)))
  if (view.latestUpdate) {
    const u = view.latestUpdate
    people.push(t.latestUpdate(when(u.at), escapeMarkdown(truncate(singleLine(u.text), 300))))
    if (u.next && !resolved) people.push(t.nextUpdate(when(u.next)))
  }
  if (view.ack) people.push(t.ackedBy(personMd(view.ack.by, t.unknownUser), when(view.ack.at)))
  else if (view.nextEscalation && !resolved)
    people.push(
      t.nextEscalation(when(view.nextEscalation.at), t.urgentKinds[view.nextEscalation.urgent]),
    )
  // Still in force in Alertmanager after a resolution: a reopening would be silent.
  if (view.silencedUntil) people.push(t.silencedUntil(when(view.silencedUntil)))
  if (resolved && view.resolvedBy)
    people.push(t.resolvedBy(personMd(view.resolvedBy, t.unknownUser)))
  if (people.length) {
    elements.push({ tag: 'hr' })
    elements.push(md(people.join('\n')))
  }

  // "Last time this fired": when, how long it took, what fixed it (the button below opens that chat).
  if (view.lastTime) {
    const l = view.lastTime
    const took = formatDuration(l.resolvedAt - l.openedAt, opts.language)
    const note = l.note
      ? `\n${t.lastTimeFix}${escapeMarkdown(truncate(singleLine(l.note), 300))}`
      : ''
    const heading = l.title
      ? t.lastSimilar(escapeMarkdown(truncate(singleLine(l.title), 100)), when(l.openedAt), took)
      : t.lastTime(when(l.openedAt), took)
    const doc = l.postmortemUrl ? safeUrl(l.postmortemUrl) : undefined
    const link = doc ? `\n[${t.lastTimeDocument}](${doc})` : ''
    elements.push({ tag: 'hr' }, md(`${heading}${note}${link}`))
  }

  // "What deployed before this fired?": the change events that touch it.
  if (view.changes?.length) {
    const lines = view.changes.slice(0, 5).map((c) => {
      let line = `· ${when(c.at)} ${escapeMarkdown(truncate(singleLine(c.summary), 120))}`
      if (c.source) line += ` <font color='grey'>${escapeMarkdown(truncate(c.source, 60))}</font>`
      const url = c.links[0] ? safeUrl(c.links[0].url) : undefined
      return url ? `${line} · [↗](${url})` : line
    })
    elements.push({ tag: 'hr' }, md([`**${t.recentChanges}**`, ...lines].join('\n')))
  }

  // The command table's buttons (src/commands/), chosen for this state by the core.
  const actions: Element[] = [...(view.buttons ?? [])]
  // The bridge first among the links: "get on a call" is what the second responder looks for.
  const bridgeUrl = view.bridge && !resolved ? safeUrl(view.bridge.url) : undefined
  if (bridgeUrl)
    actions.push({ tag: 'button', text: plain(t.joinBridge), type: 'primary', url: bridgeUrl })
  // With the 1-hour button on the card, the source's own silence link would be a second "Silence".
  const links = view.canSilence
    ? incident.links.filter((l) => !SILENCE_PAGE.test(l.url))
    : incident.links
  for (const link of links.slice(0, 6)) {
    const url = safeUrl(link.url)
    if (url)
      actions.push({
        tag: 'button',
        text: plain(safePlainText(truncate(link.label, 30))),
        type: 'default',
        url,
      })
  }
  const doc = view.postmortemUrl ? safeUrl(view.postmortemUrl) : undefined
  if (doc)
    actions.push({ tag: 'button', text: plain(t.postmortemButton), type: 'default', url: doc })
  if (view.previousChatUrl) {
    actions.push({
      tag: 'button',
      text: plain(t.previous),
      type: 'default',
      url: view.previousChatUrl,
    })
  }
  if (actions.length) elements.push({ tag: 'action', layout: 'flow', actions })

  const footer = [
    `${t.started} ${when(view.openedAt)}`,
    resolved && view.resolvedAt !== undefined
      ? `${t.resolvedAt} ${when(view.resolvedAt)}`
      : undefined,
    `${t.updated} ${when(view.updatedAt)}`,
    safePlainText(truncate(singleLine(displayKey(incident.key)), 120)),
  ].filter(Boolean)
  elements.push({ tag: 'note', elements: [plain(footer.join(' · '))] })

  const title = safePlainText(truncate(singleLine(incident.title), 120))
  return {
    config: { wide_screen_mode: true, update_multi: true, enable_forward: true },
    header: {
      title: plain(resolved ? `✅ ${title}` : `${style.emoji} [${style.priority}] ${title}`),
      template: resolved ? 'green' : style.template,
    },
    elements,
  }
}

function itemLine(
  item: IncidentItem,
  withLabels: boolean,
  when: (ms: number) => string,
  resolved: boolean,
): string {
  // Red on a green card reads as "still broken": after a person's resolution it is only still reported.
  const icon = item.status !== 'firing' ? '🟢' : resolved ? '⚪' : '🔴'
  let line = `${icon} ${escapeMarkdown(truncate(singleLine(item.title), 120))}`
  if (withLabels) {
    const labels = Object.entries(item.labels)
      .slice(0, 6)
      .map(([k, v]) => `${escapeMarkdown(truncate(k, 40))}=${escapeMarkdown(truncate(v, 60))}`)
    if (labels.length) line += ` <font color='grey'>${labels.join(' ')}</font>`
  }
  if (item.startedAt) line += ` · ${when(Date.parse(item.startedAt))}`
  const url = item.url ? safeUrl(item.url) : undefined
  if (url) line += ` · [↗](${url})`
  return line
}

function mention(openId: string): string {
  // Only ids that look like open_ids (checked members) become mentions.
  return /^ou_[A-Za-z0-9]+$/.test(openId) ? `<at id=${openId}></at>` : escapeMarkdown(openId)
}

function personMd(person: Person, fallback: string): string {
  if (person.openId && /^ou_[A-Za-z0-9]+$/.test(person.openId))
    return `<at id=${person.openId}></at>`
  return escapeMarkdown(truncate(person.name ?? fallback, 60))
}

/** Alertmanager's and Grafana's new-silence pages. */
const SILENCE_PAGE = /\/#\/silences\/new\b|\/alerting\/silence\/new\b/

/**
 * The key as people read it: an Alertmanager or Grafana group key shows its
 * group labels (`alertname=HighErrorRate, team=payments`), not the route path
 * and quoting; the receiver name Alertmanager regexp-quotes loses its backslashes.
 */
export function displayKey(key: string): string {
  const group = /^(alertmanager|grafana):.*:\{([^{}]*)\}$/.exec(key)
  if (!group) return key
  const labels = [...group[2]!.matchAll(/([\w.-]+)="((?:[^"\\]|\\.)*)"/g)].map(
    ([, k, v]) => `${k}=${v!.replace(/\\(.)/g, '$1')}`,
  )
  return labels.length ? `${group[1]}: ${labels.join(', ')}` : key
}
