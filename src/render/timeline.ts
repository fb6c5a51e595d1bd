import type { FeishuClient } from '../feishu/client.js'
import {
  formatDuration,
  type Language,
  RESOLVED_PREFIX,
  TEXTS,
  TIMELINE_LABELS,
} from '../i18n/index.js'
import type { IncidentEvent, IncidentRecord } from '../store/store.js'
import { episodeMoments, momentPeople, momentText } from './moments.js'
import { chatNames, messageEntry, type TimelineEntry } from './timeline-entries.js'

export type { TimelineEntry }

/**
 * The post-incident timeline: the chat's whole history, page by page in time
 * order, merged with the incident's own events, written to a sink as it is
 * read (so a long chat never sits in memory), followed by the key figures.
 */

export interface Figures {
  openedAt: number
  acknowledgedAt?: number
  acknowledgedBy?: string
  resolvedAt?: number
  timeToAcknowledgeMs?: number
  /** From the opening to the first lead (/lead, Take command). */
  timeToLeadMs?: number
  timeToResolveMs?: number
  /** People who wrote in the chat or acted on the incident (buttons and commands). */
  responders: number
  /** Messages written by people. */
  messages: number
  /** Everything in the history, bot and system messages included. */
  totalMessages: number
}

export interface TimelineSink {
  write(chunk: string): void | Promise<void>
}

export interface TimelineOutput {
  sink: TimelineSink
  format: 'markdown' | 'json'
}

/** Where finished timelines are kept: files for one receiver, PostgreSQL for several. */
export interface TimelineArchive {
  has(keyHash: string): Promise<boolean>
  /** Outputs for both formats; commit() makes the timeline visible whole, abort() drops it. */
  open(keyHash: string): Promise<ArchiveWrite>
  /** The stored timeline, streamed from a file or as text; undefined when there is none. */
  read(
    keyHash: string,
    format: 'markdown' | 'json',
  ): Promise<NodeJS.ReadableStream | string | undefined>
}

export interface ArchiveWrite {
  outputs: TimelineOutput[]
  commit(): Promise<void>
  abort(): Promise<void>
}

export interface TimelineOptions {
  language: Language
  timeZone: string
  /** Extra names for ids (e.g. from the receiver's events). */
  names?: Map<string, string>
  /** What a resolution puts before the chat name (to tell what a rename renamed to). */
  resolvedPrefix?: string
}

/** Reads the history once and writes it to every output (e.g. a Markdown and a JSON file). */
export async function writeTimeline(
  client: FeishuClient,
  record: IncidentRecord,
  outputs: TimelineOutput[],
  options: TimelineOptions,
): Promise<Figures> {
  const l = TIMELINE_LABELS[options.language]
  const names = new Map(options.names)
  for (const e of record.events) if (e.by?.openId && e.by.name) names.set(e.by.openId, e.by.name)
  const events = [...record.events].sort((a, b) => a.at - b.at)
  const people = new Set<string>()
  let human = 0
  let total = 0
  let first = true
  const title = record.incident?.title ?? record.chatName
  const nameAt = chatNames(record, options.resolvedPrefix ?? RESOLVED_PREFIX)

  const emit = async (entry: TimelineEntry) => {
    for (const { sink, format } of outputs) {
      if (format === 'json') {
        await sink.write(
          `${first ? '' : ',\n'}    ${JSON.stringify({ ...entry, time: new Date(entry.at).toISOString() })}`,
        )
      } else {
        await sink.write(`${markdownLine(entry, options, l)}\n`)
      }
    }
    first = false
  }
  const flushEvents = async (until: number) => {
    while (events.length && events[0]!.at <= until)
      await emit(incidentEntry(events.shift()!, l, names))
  }

  // Names where the app may read them (a contact scope); ids otherwise. One lookup per person.
  let canReadNames = true
  const learnName = async (id: string) => {
    // No output (the figures alone): names change none of them.
    if (!outputs.length || !canReadNames || names.has(id) || !/^ou_/.test(id)) return
    try {
      const name = await client.getUserName(id)
      names.set(id, name ?? id)
    } catch {
      canReadNames = false
    }
  }

  // Key moments first (📌 reactions, /note): what the review starts from.
  const moments = episodeMoments(record)
  for (const p of moments.flatMap(momentPeople)) if (p.openId) await learnName(p.openId)
  const who = (p: { openId?: string; name?: string }) =>
    p.name ?? names.get(p.openId ?? '') ?? p.openId ?? '?'
  for (const { sink, format } of outputs) {
    if (format === 'json') {
      const listed = moments.map((m) => ({
        time: new Date(m.at).toISOString(),
        by: who(m.author ?? m.by),
        ...(m.author ? { markedBy: who(m.by) } : {}),
        text: m.text,
      }))
      await sink.write(
        `{\n  "key": ${JSON.stringify(record.key)},\n  "title": ${JSON.stringify(title)},\n  "chatId": ${JSON.stringify(record.chatId)},\n  "keyMoments": ${JSON.stringify(listed)},\n  "entries": [\n`,
      )
    } else {
      const lines = moments.map(
        (m) => `- ${stamp(m.at, options.timeZone)} ${md(momentText(m, who))}`,
      )
      await sink.write(
        `# ${l.title}: ${md(title)}\n\n- ${l.key}: ${keyText(record)}\n- ${l.chat}: ${record.chatId}\n\n${lines.length ? `## ${l.moments}\n\n${lines.join('\n')}\n\n` : ''}`,
      )
    }
  }

  // A record rebuilt from the chat's marker has no ack: the bot's own "✋ … acknowledged" line has it.
  let ackInChat: { at: number; by: string } | undefined
  for await (const message of client.listMessages(record.chatId)) {
    total++
    if (message.sender?.sender_type === 'user') await learnName(message.sender.id)
    const entry = messageEntry(message, { names, appId: client.appId, labels: l, nameAt })
    if (entry.sender && !entry.sender.bot && entry.kind === 'message') {
      people.add(entry.sender.id)
      human++
    }
    ackInChat ??= record.ack ? undefined : ackLine(entry, client.appId)
    await flushEvents(entry.at)
    await emit(entry)
  }
  await flushEvents(Number.POSITIVE_INFINITY)

  // Who took part by a button counts as much as who typed (an ack, a resolution, a silence).
  for (const e of record.events) if (e.by?.openId) people.add(e.by.openId)
  if (record.ack?.by.openId) people.add(record.ack.by.openId)
  if (record.resolvedBy?.openId) people.add(record.resolvedBy.openId)
  const ackAt = record.ack?.at ?? ackInChat?.at
  // The first lead of this episode (a handoff keeps the first time).
  const firstLead = record.events.find((e) => e.detail === 'took the lead')?.at ?? record.lead?.at
  const ackBy = record.ack ? (record.ack.by.name ?? record.ack.by.openId ?? '') : ackInChat?.by
  const figures: Figures = {
    openedAt: record.openedAt,
    ...(ackAt !== undefined
      ? { acknowledgedAt: ackAt, timeToAcknowledgeMs: ackAt - record.openedAt }
      : {}),
    ...(firstLead !== undefined ? { timeToLeadMs: firstLead - record.openedAt } : {}),
    ...(ackBy !== undefined ? { acknowledgedBy: ackBy } : {}),
    ...(record.resolvedAt !== undefined
      ? { resolvedAt: record.resolvedAt, timeToResolveMs: record.resolvedAt - record.openedAt }
      : {}),
    responders: people.size,
    messages: human,
    totalMessages: total,
  }
  const d = (ms: number | undefined) =>
    ms === undefined ? '-' : formatDuration(ms, options.language)
  for (const { sink, format } of outputs) {
    if (format === 'json') {
      await sink.write(`${first ? '' : '\n'}  ],\n  "figures": ${JSON.stringify(figures)}\n}\n`)
    } else {
      await sink.write(
        `\n## ${l.figures}\n\n- ${l.opened}: ${stamp(record.openedAt, options.timeZone)}\n- ${l.tta}: ${d(figures.timeToAcknowledgeMs)}\n- ${l.ttl}: ${d(figures.timeToLeadMs)}\n- ${l.ttr}: ${d(figures.timeToResolveMs)}\n- ${l.responders}: ${figures.responders}\n- ${l.messages}: ${figures.messages}\n- ${l.total}: ${figures.totalMessages}\n`,
      )
    }
  }
  return figures
}

/** Collects a timeline into a string (small chats, tests). */
export async function timelineText(
  client: FeishuClient,
  record: IncidentRecord,
  format: 'markdown' | 'json',
  options: TimelineOptions,
) {
  const parts: string[] = []
  const figures = await writeTimeline(
    client,
    record,
    [{ sink: { write: (c) => void parts.push(c) }, format }],
    options,
  )
  return { text: parts.join(''), figures }
}

function incidentEntry(
  event: IncidentEvent,
  l: (typeof TIMELINE_LABELS)['en'],
  names: Map<string, string>,
): TimelineEntry {
  const id = event.by?.openId
  const who = event.by ? (event.by.name ?? (id ? (names.get(id) ?? id) : undefined)) : undefined
  const text = [
    l.events[event.type],
    who ? `(${who})` : undefined,
    event.detail ? `: ${event.detail}` : undefined,
  ]
    .filter(Boolean)
    .join(' ')
  return { at: event.at, kind: 'incident', type: event.type, text }
}

/** A timeline's time, to the second (the post-mortem document's too, so the two read alike). */
export function stamp(ms: number, timeZone: string): string {
  return new Intl.DateTimeFormat('sv-SE', {
    timeZone,
    dateStyle: 'short',
    timeStyle: 'medium',
  }).format(ms)
}

/** Markdown (and the HTML GitHub renders it to) must not be injected by chat text. */
function md(text: string): string {
  return text
    .replace(/[&<>]/g, (c) => `&#${c.charCodeAt(0)};`)
    .replace(/([\\`*_[\]|#~!])/g, '\\$1')
    .replace(/\n/g, '<br>')
}

function markdownLine(
  entry: TimelineEntry,
  options: TimelineOptions,
  l: (typeof TIMELINE_LABELS)['en'],
): string {
  const when = stamp(entry.at, options.timeZone)
  if (entry.kind === 'system') return `- ${when} ⚙️ _${md(entry.text)}_`
  if (entry.kind === 'incident') return `- ${when} 🔔 **${l.incident}**: ${md(entry.text)}`
  const who = entry.sender?.name ?? entry.sender?.id ?? '?'
  return `- ${when} **${md(who)}${entry.sender?.bot ? ` (${l.bot})` : ''}**: ${md(entry.text)}`
}

/**
 * The key as inline code, safe in Markdown whatever it contains; a chat found
 * by its marker knows only the key's hash.
 */
function keyText(record: IncidentRecord): string {
  if (!record.key) return `sha256 ${record.keyHash}…`
  const oneLine = record.key.replace(/[\r\n\u2028\u2029]+/g, ' ').replace(/`/g, "'")
  return `\`${oneLine}\``
}

const ACK_ENDINGS = [TEXTS.zh.ackParts[1], TEXTS.en.ackParts[1]].map((t) => t.trim())

/** The bot's acknowledgement line (this app's, in either language): when, and who. */
function ackLine(entry: TimelineEntry, appId: string): { at: number; by: string } | undefined {
  if (!entry.sender?.bot || entry.sender.id !== appId || !entry.text.startsWith('✋ '))
    return undefined
  const text = entry.text.trim()
  const ending = ACK_ENDINGS.find((e) => text.endsWith(e))
  if (!ending) return undefined
  return { at: entry.at, by: text.slice(2, -ending.length).trim().replace(/^@/, '') }
}
