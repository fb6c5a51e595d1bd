import { FeishuError } from '../feishu/errors.js'
import { formatDuration, formatTime, TEXTS } from '../i18n/index.js'
import type { Person } from '../model/incident.js'
import { type Incident, SEVERITY_RANK, type Severity } from '../model/incident.js'
import { SEVERITY_STYLE } from '../render/card.js'
import { episodeMoments } from '../render/moments.js'
import { safePlainText, singleLine, truncate } from '../render/text.js'
import type { Figures } from '../render/timeline.js'
import type { IncidentRecord } from '../store/store.js'
import { CHAT_NAME_MAX, type Core, deriveUuid } from './model.js'

export type Paragraphs = Array<Array<Record<string, unknown>>>

/**
 * Every text the war room writes into a chat (as post messages: untrusted
 * text only ever in text nodes, people only as real mentions), the chat's
 * name, and the one post envelope.
 */
export class Messages {
  constructor(private readonly core: Core) {}

  get t() {
    return TEXTS[this.core.config.language]
  }

  /**
   * "✅ 事件已解决 · 持续 5分 · 由 @Bob 标记解决" / "✅ Incident resolved · lasted 5m · resolved by @Bob",
   * or who reported it recovered, then the note.
   */
  resolution(record: IncidentRecord, by: Person | undefined, note: string | undefined): Paragraphs {
    const t = this.t
    const lasted = t.lasted(
      formatDuration(
        (record.resolvedAt ?? this.core.now()) - record.openedAt,
        this.core.config.language,
      ),
    )
    const [before, after] = t.resolvedByParts
    const first: Array<Record<string, unknown>> = by
      ? [
          { tag: 'text', text: `${t.resolvedMsg} · ${lasted} · ${before}` },
          ...this.personNodes(by),
          ...(after ? [{ tag: 'text', text: after }] : []),
        ]
      : [
          {
            tag: 'text',
            text: `${t.resolvedMsg} · ${lasted} · ${t.resolvedBySource(t.sourceNames[record.incident?.source ?? 'generic'])}`,
          },
        ]
    const paragraphs = [first]
    if (note) paragraphs.push([{ tag: 'text', text: safePlainText(truncate(note, 1000)) }])
    // A person's resolution without a note asks what fixed it: the review and the next firing show it.
    else if (by) paragraphs.push([{ tag: 'text', text: t.fixPrompt }])
    return paragraphs
  }

  /** The review summary: times to acknowledge and resolve, responders, messages. */
  summary(record: IncidentRecord, figures: Figures | undefined): string {
    const d = (ms: number | undefined) =>
      ms === undefined ? '-' : formatDuration(ms, this.core.config.language)
    const line = this.t.summaryMsg(
      d(record.ack ? record.ack.at - record.openedAt : undefined),
      d(record.resolvedAt !== undefined ? record.resolvedAt - record.openedAt : undefined),
      figures ? String(figures.responders) : '-',
      figures ? String(figures.messages) : '-',
    )
    // The call held in the bridge, and its notes when Feishu made them (a docx token).
    const bridge = record.bridge?.meetingId ? record.bridge : undefined
    const call = bridge
      ? [this.t.summaryBridge(bridge.meetingNo ?? bridge.meetingId!, bridge.notesToken)]
      : []
    // Key moments first (📌, /note), then this episode's status updates, oldest first (ten of each).
    const { timeZone, language } = this.core.config
    const moments = episodeMoments(record)
    const marked = moments.length
      ? [
          this.t.summaryMoments(moments.length),
          ...moments
            .slice(-10)
            .map(
              (m) =>
                `· ${formatTime(m.at, timeZone, language)} ${safePlainText(truncate(m.text, 200))}`,
            ),
        ]
      : []
    const followUps = (record.followUps ?? []).filter((f) => f.at >= record.openedAt)
    if (followUps.length)
      marked.push(
        this.t.summaryFollowUps(followUps.length),
        ...followUps.slice(-10).map((f) => `· ${safePlainText(truncate(f.text, 200))}`),
      )
    const updates = (record.updates ?? []).filter((u) => u.at >= record.openedAt)
    if (!updates.length) return [line, ...call, ...marked].join('\n')
    const listed = updates
      .slice(-10)
      .map(
        (u) =>
          `· ${formatTime(u.at, timeZone, language)} ${safePlainText(truncate(singleLine(u.text), 200))}`,
      )
    return [line, ...call, ...marked, this.t.summaryUpdates(updates.length), ...listed].join('\n')
  }

  /** The post envelope, in the configured language. */
  content(paragraphs: Paragraphs, title = '') {
    const locale = this.core.config.language === 'zh' ? 'zh_cn' : 'en_us'
    return { [locale]: { title, content: paragraphs } }
  }

  /** Posts a short message (a post: untrusted text only in text nodes). */
  async post(
    record: IncidentRecord,
    paragraphs: Array<Array<Record<string, unknown>>>,
    event: string,
  ): Promise<void> {
    const locale = this.core.config.language === 'zh' ? 'zh_cn' : 'en_us'
    try {
      await this.core.client.sendMessage({
        receiveIdType: 'chat_id',
        receiveId: record.chatId,
        msgType: 'post',
        content: { [locale]: { title: '', content: paragraphs } },
        uuid: deriveUuid('msg', record.chatId, event),
      })
    } catch (error) {
      // The uuid makes a repeat of this post a no-op; Feishu may answer a repeat with an error
      // instead of the message (UNCONFIRMED). A follow-up refused for good never fails the war
      // room: the card holds the truth. Passing failures are the sender's to retry.
      if (!(error instanceof FeishuError) || error.isTransient) throw error
      this.core.logger.warn('a follow-up message was refused; the card has the change', {
        chatId: record.chatId,
        event,
        error: error.message,
      })
    }
  }

  /**
   * Posts what changed (new alerts, recoveries, a raised severity) when the
   * report is new. Without a previous report (a chat found by its marker),
   * every firing item is news.
   */
  async announceChange(
    record: IncidentRecord,
    previous: Incident | undefined,
    incident: Incident,
    eventIsNew: boolean,
  ) {
    const change = previous
      ? describeChange(previous, incident)
      : {
          newFiring: incident.items.filter((i) => i.status === 'firing'),
          resolved: [],
          severityRaised: false,
        }
    const announced =
      eventIsNew &&
      (change.newFiring.length > 0 ||
        change.resolved.length > 0 ||
        change.severityRaised ||
        (!previous && !!incident.event))
    // Messages backlogged (a storm): the card has it now; the words wait, merged with the next.
    const deferred = announced && this.backlogged(record.chatId)
    if (deferred)
      record.pendingFollowUps = [
        ...(record.pendingFollowUps ?? []),
        { at: this.core.now(), paragraphs: this.changeParagraphs(change, previous, incident) },
      ]
    else if (announced)
      await this.post(
        record,
        this.changeParagraphs(change, previous, incident),
        incident.event ?? record.cardHash ?? String(this.core.now()),
      )
    return { change, announced, deferred }
  }

  /** A follow-up now would wait behind a backlog of messages, the app's or this chat's. */
  backlogged(chatId: string): boolean {
    const transport = this.core.client.transport
    return (
      transport.backlog('api:sendMessage') >= BACKLOG || transport.backlog(`chat:${chatId}`) > 0
    )
  }

  /**
   * The held follow-ups as one message, oldest first (each with its time);
   * false when none. `until` (the job's): while messages are still
   * backlogged, they wait for more to merge with, up to that time.
   */
  async flushPending(record: IncidentRecord, until = 0): Promise<boolean | 'later'> {
    const pending = record.pendingFollowUps ?? []
    if (!pending.length) return false
    if (this.core.now() < until && this.backlogged(record.chatId)) return 'later'
    await this.post(record, this.takePending(record), `merged:${pending[0]!.at}:${pending.length}`)
    return true
  }

  /**
   * The held follow-ups as paragraphs (a headline, then each with its time,
   * oldest first), taken off the record; none when nothing is held. A
   * resolution carries them after its own headline: one message, not two.
   */
  takePending(record: IncidentRecord): Array<Array<Record<string, unknown>>> {
    const pending = record.pendingFollowUps ?? []
    if (!pending.length) return []
    const { timeZone, language } = this.core.config
    const paragraphs: Array<Array<Record<string, unknown>>> = [
      [{ tag: 'text', text: this.t.mergedUpdates(pending.length) }],
    ]
    for (const [i, p] of pending.entries()) {
      // A long backlog keeps every change, the older ones by their headline.
      const shown = pending.length - i > MERGED_IN_FULL ? p.paragraphs.slice(0, 1) : p.paragraphs
      paragraphs.push(
        [{ tag: 'text', text: `· ${formatTime(p.at, timeZone, language)}` }],
        ...shown,
      )
    }
    delete record.pendingFollowUps
    return paragraphs
  }

  personNodes(person: Person): Array<Record<string, unknown>> {
    if (person.openId && /^ou_[A-Za-z0-9]+$/.test(person.openId))
      return [{ tag: 'at', user_id: person.openId }]
    return [{ tag: 'text', text: safePlainText(truncate(person.name ?? this.t.unknownUser, 60)) }]
  }

  changeParagraphs(change: Change, previous: Incident | undefined, incident: Incident) {
    const t = this.t
    const headline: string[] = []
    if (!previous) headline.push(t.newEvent)
    else if (change.newFiring.length) headline.push(t.newFiring(change.newFiring.length))
    if (change.resolved.length) headline.push(t.newResolved(change.resolved.length))
    if (change.severityRaised && previous)
      headline.push(
        t.severityRaised(t.severityNames[previous.severity], t.severityNames[incident.severity]),
      )
    if (!headline.length) headline.push(t.newEvent)
    const paragraphs: Array<Array<Record<string, unknown>>> = [
      [{ tag: 'text', text: `🔔 ${headline.join('；')}` }],
    ]
    const lines = [
      ...change.newFiring.slice(0, 5).map((i) => ({ icon: '🔴', item: i })),
      ...change.resolved.slice(0, 5).map((i) => ({ icon: '🟢', item: i })),
    ]
    for (const { icon, item } of lines) {
      const nodes: Array<Record<string, unknown>> = [
        { tag: 'text', text: `${icon} ${safePlainText(truncate(singleLine(item.title), 200))}` },
      ]
      if (item.url) nodes.push({ tag: 'text', text: ' ' }, { tag: 'a', text: '↗', href: item.url })
      paragraphs.push(nodes)
    }
    if (!lines.length && incident.summary)
      paragraphs.push([{ tag: 'text', text: safePlainText(truncate(incident.summary, 500)) }])
    return paragraphs
  }

  /** Where the incident stands, for /status, as post paragraphs. */
  describe(record: IncidentRecord): Array<Array<Record<string, unknown>>> {
    const t = this.t
    const incident = record.incident
    const severity = incident
      ? `${SEVERITY_STYLE[incident.severity].priority} ${t.severityNames[incident.severity]}`
      : '-'
    const state =
      record.status === 'resolved'
        ? record.resolvedBy
          ? t.resolvedByPerson
          : t.resolved
        : record.ack
          ? t.acknowledged
          : t.firing
    const end = record.resolvedAt ?? this.core.now()
    const lines = [
      `${t.status}: ${state} · ${t.severity}: ${severity} · ${t.duration}: ${formatDuration(end - record.openedAt, this.core.config.language)}`,
    ]
    if (incident) {
      const firing = incident.items.filter((i) => i.status === 'firing').length
      if (incident.items.length)
        lines.push(`${t.items}: ${firing}/${incident.items.length} ${t.firing}`)
    }
    const paragraphs: Array<Array<Record<string, unknown>>> = lines.map((line) => [
      { tag: 'text', text: safePlainText(line) },
    ])
    if (record.ack) {
      const [before, after] = t.ackParts
      paragraphs.push([
        { tag: 'text', text: before },
        ...this.personNodes(record.ack.by),
        { tag: 'text', text: after },
      ])
    }
    return paragraphs
  }

  /** Answers a person's message in the chat (command results, /status). */
  async reply(
    messageId: string,
    text: string | Array<Array<Record<string, unknown>>>,
    chatId?: string,
  ): Promise<void> {
    const locale = this.core.config.language === 'zh' ? 'zh_cn' : 'en_us'
    const content =
      typeof text === 'string'
        ? text.split('\n').map((line) => [{ tag: 'text', text: safePlainText(line) }])
        : text
    await this.core.client.reply(messageId, {
      msgType: 'post',
      content: { [locale]: { title: '', content } },
      uuid: deriveUuid('reply', messageId, JSON.stringify(content)),
      ...(chatId ? { chatId } : {}),
    })
  }

  /** Posts a line in any chat the bot is in (Grafana's test notifications). */
  async postTest(chatId: string, text: string): Promise<void> {
    const locale = this.core.config.language === 'zh' ? 'zh_cn' : 'en_us'
    await this.core.client.sendMessage({
      receiveIdType: 'chat_id',
      receiveId: chatId,
      msgType: 'post',
      content: {
        [locale]: {
          title: '',
          content: [[{ tag: 'text', text: safePlainText(truncate(text, 2000)) }]],
        },
      },
    })
  }

  chatName(incident: Incident): string {
    const style = SEVERITY_STYLE[incident.severity]
    const title = safePlainText(singleLine(incident.title))
    // Replacer functions: a string replacement would expand $` and $' found in a title.
    const fill = (t: string) =>
      this.core.config.chatNameTemplate
        .replaceAll('{emoji}', () => style.emoji)
        .replaceAll('{priority}', () => style.priority)
        .replaceAll('{severity}', () => incident.severity)
        .replaceAll('{source}', () => incident.source)
        .replaceAll('{title}', () => t)
    // Room for the resolved prefix, so the rename never exceeds the limit.
    const max = CHAT_NAME_MAX - [...this.core.config.resolvedPrefix].length
    const overhead = [...fill('')].length
    return singleLine(fill(truncate(title, Math.max(8, max - overhead))))
  }

  /** "[已解决] [P0] title": the prefix, and no alarm emoji left on a resolved chat. */
  resolvedName(chatName: string): string {
    let name = chatName
    for (const { emoji } of Object.values(SEVERITY_STYLE)) name = name.replaceAll(emoji, '')
    return this.core.config.resolvedPrefix + singleLine(name.replace(/\s+/g, ' ').trim())
  }
}

export interface Change {
  newFiring: Incident['items']
  resolved: Incident['items']
  severityRaised: boolean
}

/** The job that posts held follow-ups, merged (a second after the first was held). */
export const FOLLOW_UPS = 'follow-ups'
/** Messages waiting app-wide (a fifth of a second of Feishu's 50/s) beyond which follow-ups are merged. */
export const BACKLOG = 10
/** Follow-ups shown whole in a merged message; older ones by their first line. */
const MERGED_IN_FULL = 10

export function describeChange(previous: Incident | undefined, next: Incident): Change {
  if (!previous) return { newFiring: [], resolved: [], severityRaised: false }
  const before = new Map(previous.items.map((i) => [i.id, i.status]))
  return {
    newFiring: next.items.filter((i) => i.status === 'firing' && before.get(i.id) !== 'firing'),
    resolved: next.items.filter((i) => i.status === 'resolved' && before.get(i.id) === 'firing'),
    severityRaised: SEVERITY_RANK[next.severity] > SEVERITY_RANK[previous.severity],
  }
}

export function summarizeChange(change: Change): string {
  const parts = []
  if (change.newFiring.length) parts.push(`${change.newFiring.length} firing`)
  if (change.resolved.length) parts.push(`${change.resolved.length} resolved`)
  if (change.severityRaised) parts.push('severity raised')
  return parts.join(', ') || 'card updated'
}

/** The severity a chat name shows by its priority tag ("🔥 [P0] …"), if any. */
export function severityInName(name: string): Severity | undefined {
  const priority = /\[(P[0-3])\]/.exec(name)?.[1]
  const found = Object.entries(SEVERITY_STYLE).find(([, style]) => style.priority === priority)
  return found?.[0] as Severity | undefined
}
