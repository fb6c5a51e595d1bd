import { createHash } from 'node:crypto'
import { type CardView, type Person, renderCard, SEVERITY_STYLE } from './card.js'
import { type FeishuClient, LIMITS } from './feishu/client.js'
import { FeishuError } from './feishu/errors.js'
import { countCalls } from './feishu/transport.js'
import type { ChatSummary } from './feishu/types.js'
import { formatDuration, type Language, TEXTS } from './i18n.js'
import type { ImageFetcher } from './images.js'
import {
  type Incident,
  type IncidentInput,
  parseIncident,
  SEVERITY_RANK,
  type Severity,
} from './incident.js'
import { type Logger, silentLogger } from './log.js'
import { KeyedMutex } from './mutex.js'
import { hashKey, type IncidentRecord, type IncidentStore, MemoryStore } from './store.js'
import { safePlainText, singleLine, truncate } from './text.js'
import { type Figures, type TimelineOutput, writeTimeline } from './timeline.js'

export interface WarRoomConfig {
  language: Language
  /** Time zone for times shown on cards and in messages. */
  timeZone: string
  /** Put in front of the chat name when the incident resolves. */
  resolvedPrefix: string
  /** Chat name; placeholders {emoji} {priority} {severity} {title} {source}. */
  chatNameTemplate: string
  /** A firing within this long after resolution reuses the resolved chat; 0 never does. */
  reopenWindowMs: number
  /** Items listed on the card before "and N more". */
  maxItems: number
  /** Buzz (加急) the members of a critical incident. */
  urgentOnCritical: boolean
}

export const DEFAULT_CONFIG: WarRoomConfig = {
  language: 'zh',
  timeZone: 'Asia/Shanghai',
  resolvedPrefix: '[已解决] ',
  chatNameTemplate: '{emoji} [{priority}] {title}',
  reopenWindowMs: 30 * 60_000,
  maxItems: 10,
  urgentOnCritical: true,
}

/** Feishu chat names longer than this are refused or cut (UNVERIFIED limit; see the sandbox). */
export const CHAT_NAME_MAX = 60

export type WarRoomAction = 'opened' | 'updated' | 'resolved' | 'acknowledged' | 'none'

export interface WarRoomResult {
  action: WarRoomAction
  key: string
  chatId?: string
  chatUrl?: string
  cardMessageId?: string
  /** True when a firing reopened a recently resolved chat instead of opening a new one. */
  reopened?: boolean
  /** Members that could not be added, with Feishu's reason. */
  failedMembers: Array<{ id: string; reason: string }>
  /** Open API requests this operation made (token fetches excluded). */
  feishuCalls: number
  /** Things that went wrong without stopping the incident (a pin, an image, a buzz). */
  warnings: string[]
  /** Why nothing happened, when action is none. */
  reason?: string
}

export interface WarRoomDeps {
  client: FeishuClient
  /** Where records live. Without one, chats are found through their description marker. */
  store?: IncidentStore
  /**
   * The store as a cache, not the truth: a key it does not hold is looked up
   * in Feishu (warroom notify, which other machines may run too).
   */
  storeIsCache?: boolean
  config?: Partial<WarRoomConfig>
  logger?: Logger
  now?: () => number
  fetchImage?: ImageFetcher
  /** Called after every change to a record (metrics, the receiver's timeline). */
  onRecord?: (record: IncidentRecord) => void
}

/** Which incident a person's command or button is about. */
export type IncidentRef = { keyHash: string } | { key: string } | { chatId: string }

/** Incident events kept per record (the timeline shows them). */
const MAX_EVENTS = 500
const MARKER = /\[warroom:([0-9a-f]{32}):(open|resolved):(\d+)\]/
/** getChat of a chat that does not exist, was dissolved, or the bot is not in. */
const NOT_OUR_CHAT_CODES = new Set([232006, 232009, 232011, 230002, 232010])
const BAD_MEMBER_CODES = new Set([
  232043, 232022, 232030, 99992351, 99992360, 99992364, 99992361, 232024, 230013,
])

interface Op {
  warnings: string[]
  failedMembers: Array<{ id: string; reason: string }>
}

/**
 * The core: makes Feishu reflect an incident. One chat per incident key, its
 * members invited, one pinned card kept current, follow-ups when something
 * people must see changed, and a green card plus a `[已解决] ` rename at the
 * end. Work for one key is serialised; uuids derived from the key keep
 * retries and duplicate deliveries from doubling anything.
 */
export class WarRoom {
  readonly config: WarRoomConfig
  private readonly client: FeishuClient
  private readonly store: IncidentStore
  /** A given store is the truth (after one sync from Feishu when it starts empty). */
  private readonly storeIsAuthoritative: boolean
  private synced = false
  private readonly logger: Logger
  private readonly now: () => number
  private readonly fetchImage: ImageFetcher | undefined
  private readonly onRecord: ((record: IncidentRecord) => void) | undefined
  private readonly mutex = new KeyedMutex()
  private readonly idCache = new Map<string, { openId: string | undefined; at: number }>()
  /** Version of each record this process wrote, for the receiver's repeat fast path. */
  private readonly versions = new Map<string, number>()

  constructor(deps: WarRoomDeps) {
    this.client = deps.client
    this.store = deps.store ?? new MemoryStore()
    this.storeIsAuthoritative = deps.store !== undefined && !deps.storeIsCache
    this.config = { ...DEFAULT_CONFIG, ...deps.config }
    this.logger = deps.logger ?? silentLogger
    this.now = deps.now ?? Date.now
    this.fetchImage = deps.fetchImage
    this.onRecord = deps.onRecord
  }

  private get t() {
    return TEXTS[this.config.language]
  }

  /** Opens, updates or resolves the war room for an incident, by its status. */
  async handle(input: Incident | IncidentInput): Promise<WarRoomResult> {
    const incident = parseIncident(input)
    const keyHash = hashKey(incident.key)
    return this.run(incident.key, keyHash, async (op) => {
      const record = await this.lookup(keyHash)
      if (incident.status === 'resolved') {
        if (!record) return this.none(incident.key, 'no open war room for this key')
        if (isStaleResolution(record, incident))
          return this.none(incident.key, 'a late resolution of an earlier episode', record, op)
        return this.resolveRecord(record, op, { incident })
      }
      if (!record) return this.open(incident, keyHash, op)
      if (record.status === 'open') return this.update(record, incident, op)
      const resolvedAt = record.resolvedAt ?? 0
      if (this.config.reopenWindowMs > 0 && this.now() - resolvedAt <= this.config.reopenWindowMs)
        return this.reopen(record, incident, op)
      return this.open(incident, keyHash, op, record)
    })
  }

  /** A person acknowledged the incident (a chat command or the card's button). */
  async acknowledge(ref: IncidentRef, by: Person): Promise<WarRoomResult> {
    const keyHash = await this.keyHashFor(ref)
    if (!keyHash) return this.none('', 'this chat is not an incident war room')
    return this.run('', keyHash, async (op) => {
      const record = await this.lookup(keyHash)
      if (!record) return this.none('', 'unknown incident')
      if (record.status !== 'open')
        return this.none(record.key, 'the incident is already resolved', record)
      if (record.ack) return this.none(record.key, 'already acknowledged', record)
      record.ack = { by, at: this.now() }
      record.events.push({ type: 'acknowledged', at: record.ack.at, by })
      await this.refreshCard(record, op)
      await this.post(
        record,
        [[...this.personNodes(by), { tag: 'text', text: ` ${this.t.ackMsg('').trim()}` }]],
        `ack`,
      )
      await this.save(record)
      return this.result('acknowledged', record, op)
    })
  }

  /** A person resolved the incident, with an optional note. */
  async resolveBy(ref: IncidentRef, by: Person, note?: string): Promise<WarRoomResult> {
    const keyHash = await this.keyHashFor(ref)
    if (!keyHash) return this.none('', 'this chat is not an incident war room')
    return this.run('', keyHash, async (op) => {
      const record = await this.lookup(keyHash)
      if (!record) return this.none('', 'unknown incident')
      return this.resolveRecord(record, op, { by, note })
    })
  }

  /**
   * Posts a notice in the incident's open chat, if there is one; opens
   * nothing (a cancelled run is worth a line, not a war room).
   */
  async notice(key: string, text: string, event?: string): Promise<WarRoomResult> {
    const keyHash = hashKey(key)
    return this.run(key, keyHash, async (op) => {
      const record = await this.lookup(keyHash)
      if (record?.status !== 'open') return this.none(key, 'no open war room for this key')
      if (event && record.seenEvents.includes(event))
        return this.none(key, 'already reported', record, op)
      await this.post(
        record,
        [[{ tag: 'text', text: safePlainText(truncate(text, 2000)) }]],
        event ?? `notice:${text}`,
      )
      if (event) record.seenEvents = [...record.seenEvents, event].slice(-50)
      record.events.push({ type: 'updated', at: this.now(), detail: text })
      await this.save(record)
      return this.result('updated', record, op)
    })
  }

  /** Posts a line in any chat the bot is in (Grafana's test notifications). */
  async postTest(chatId: string, text: string): Promise<void> {
    const locale = this.config.language === 'zh' ? 'zh_cn' : 'en_us'
    await this.client.sendMessage({
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

  /** The card as it stands now, for a card callback's answer. */
  async cardFor(ref: IncidentRef): Promise<Record<string, unknown> | undefined> {
    const record = await this.find(ref)
    return record ? this.render(record) : undefined
  }

  /** Writes the incident's timeline (the whole chat history merged with its events) to the outputs. */
  async timeline(ref: IncidentRef, outputs: TimelineOutput[]): Promise<Figures | undefined> {
    const record = await this.find(ref)
    if (!record) return undefined
    return writeTimeline(this.client, record, outputs, {
      language: this.config.language,
      timeZone: this.config.timeZone,
    })
  }

  /**
   * After a resolution: the timeline to the outputs, then a summary message
   * with the key figures in the chat. Without the history scope the summary
   * still gives the times, and the failure is returned as a warning.
   */
  async summarize(
    ref: IncidentRef,
    outputs: TimelineOutput[] = [],
  ): Promise<{ figures?: Figures; warning?: string }> {
    const record = await this.find(ref)
    if (!record) return { warning: 'unknown incident' }
    let figures: Figures | undefined
    let warning: string | undefined
    try {
      figures = await writeTimeline(this.client, record, outputs, {
        language: this.config.language,
        timeZone: this.config.timeZone,
      })
    } catch (error) {
      warning = `timeline unavailable: ${(error as Error).message}`
    }
    const d = (ms: number | undefined) =>
      ms === undefined ? '-' : formatDuration(ms, this.config.language)
    const text = this.t.summaryMsg(
      d(record.ack ? record.ack.at - record.openedAt : undefined),
      d(record.resolvedAt !== undefined ? record.resolvedAt - record.openedAt : undefined),
      figures ? String(figures.responders) : '-',
      figures ? String(figures.messages) : '-',
    )
    await this.post(record, [[{ tag: 'text', text }]], `summary:${record.resolvedAt ?? ''}`)
    return { ...(figures ? { figures } : {}), ...(warning ? { warning } : {}) }
  }

  /** Answers a person's message in the chat (command results, /status). */
  async reply(
    messageId: string,
    text: string | Array<Array<Record<string, unknown>>>,
  ): Promise<void> {
    const locale = this.config.language === 'zh' ? 'zh_cn' : 'en_us'
    const content =
      typeof text === 'string'
        ? text.split('\n').map((line) => [{ tag: 'text', text: safePlainText(line) }])
        : text
    await this.client.reply(messageId, {
      msgType: 'post',
      content: { [locale]: { title: '', content } },
      uuid: deriveUuid('reply', messageId, JSON.stringify(content)),
    })
  }

  /** Where the incident stands, for /status, as post paragraphs. */
  describe(record: IncidentRecord): Array<Array<Record<string, unknown>>> {
    const t = this.t
    const incident = record.incident
    const severity = incident
      ? `${SEVERITY_STYLE[incident.severity].priority} ${t.severityNames[incident.severity]}`
      : '-'
    const state = record.status === 'resolved' ? t.resolved : record.ack ? t.acknowledged : t.firing
    const end = record.resolvedAt ?? this.now()
    const lines = [
      `${t.status}: ${state} · ${t.severity}: ${severity} · ${t.duration}: ${formatDuration(end - record.openedAt, this.config.language)}`,
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

  /** The record behind a chat or key, for /status and the timeline. */
  async find(ref: IncidentRef): Promise<IncidentRecord | undefined> {
    const keyHash = await this.keyHashFor(ref)
    return keyHash ? this.lookup(keyHash) : undefined
  }

  /** Waits for in-flight work (graceful shutdown). */
  idle(): Promise<void> {
    return this.mutex.idle()
  }

  // ------------------------------------------------------------ operations

  private async open(
    incident: Incident,
    keyHash: string,
    op: Op,
    previous?: IncidentRecord,
  ): Promise<WarRoomResult> {
    const now = this.now()
    const openedAt = Math.min(incident.startedAt ? Date.parse(incident.startedAt) : now, now)
    const chatName = this.chatName(incident)
    const members = await this.resolveMembers(incident.members, op)
    // Same key and same predecessor: the same chat, however often this is retried.
    const uuid = deriveUuid('chat', keyHash, previous?.chatId ?? '-')
    const description = this.description(keyHash, 'open', openedAt)
    let chatId: string
    let pending = members.openIds
    try {
      // Create takes at most 50 users; the rest are added in batches below.
      const first = pending.slice(0, LIMITS.usersPerCreate)
      chatId = (
        await this.client.createChat({ name: chatName, description, user_id_list: first }, { uuid })
      ).chat_id
      pending = pending.slice(first.length)
    } catch (error) {
      // One unusable id fails the whole create: create empty, then add with per-id reporting.
      if (!(error instanceof FeishuError && BAD_MEMBER_CODES.has(error.code) && pending.length))
        throw error
      chatId = (
        await this.client.createChat(
          { name: chatName, description },
          { uuid: deriveUuid('chat-bare', keyHash, previous?.chatId ?? '-') },
        )
      ).chat_id
    }
    const record: IncidentRecord = {
      keyHash,
      key: incident.key,
      chatId,
      chatName,
      openTitle: incident.title,
      status: 'open',
      openedAt,
      members: members.openIds.filter((id) => !pending.includes(id)),
      invited: [...incident.members],
      failedMembers: [...members.failed],
      imageKeys: [],
      imageUrls: [],
      incident,
      seenEvents: incident.event ? [incident.event] : [],
      events: [{ type: 'opened', at: now, detail: incident.title }],
      version: 0,
      ...(previous ? { previousChatId: previous.chatId } : {}),
    }
    await this.save(record) // before anything else can fail: a retry finds the chat
    await this.addMembers(record, pending, 'open_id', op)
    await this.addOtherIdTypes(record, members.other, op)
    await this.uploadImages(record, incident, op)
    await this.sendCard(record, op)
    if (
      incident.severity === 'critical' &&
      this.config.urgentOnCritical &&
      record.members.length &&
      record.cardMessageId
    ) {
      try {
        const invalid = await this.client.urgentApp(record.cardMessageId, record.members)
        if (invalid.length) op.warnings.push(`urgent notice not delivered to ${invalid.join(', ')}`)
      } catch (error) {
        op.warnings.push(`urgent notice failed: ${(error as Error).message}`)
      }
    }
    await this.save(record)
    return this.result('opened', record, op)
  }

  private async update(record: IncidentRecord, incident: Incident, op: Op): Promise<WarRoomResult> {
    const previous = record.incident
    const eventIsNew = !incident.event || !record.seenEvents.includes(incident.event)
    const added = incident.members.filter((m) => !record.invited.includes(m))
    if (added.length) {
      const members = await this.resolveMembers(added, op)
      record.invited.push(...added)
      record.failedMembers.push(...members.failed)
      await this.addMembers(record, members.openIds, 'open_id', op)
      await this.addOtherIdTypes(record, members.other, op)
    }
    record.incident = incident
    // The name follows the severity; the title it was opened with stays (a changing name is noise).
    // A chat found by its marker keeps the name it has: what it was opened with is unknown.
    record.openTitle ??= previous ? incident.title : undefined
    const name = this.chatName({ ...incident, title: record.openTitle ?? incident.title })
    if (previous && name !== record.chatName) {
      await this.client.updateChat(record.chatId, { name })
      record.chatName = name
    }
    if (incident.images.join('\n') !== record.imageUrls.join('\n'))
      await this.uploadImages(record, incident, op)
    const cardChanged = await this.refreshCard(record, op)

    // Without a previous report (a chat found by its marker), every firing item is news.
    const change = previous
      ? describeChange(previous, incident)
      : {
          newFiring: incident.items.filter((i) => i.status === 'firing'),
          resolved: [],
          severityRaised: false,
        }
    const announce =
      eventIsNew &&
      (change.newFiring.length > 0 ||
        change.resolved.length > 0 ||
        change.severityRaised ||
        (!previous && !!incident.event))
    if (announce) {
      await this.post(
        record,
        this.changeParagraphs(change, previous, incident),
        incident.event ?? record.cardHash ?? String(this.now()),
      )
    }
    if (incident.event && eventIsNew)
      record.seenEvents = [...record.seenEvents, incident.event].slice(-50)
    const changed = cardChanged || announce || added.length > 0
    if (changed)
      record.events.push({ type: 'updated', at: this.now(), detail: summarizeChange(change) })
    if (changed || eventIsNew) await this.save(record)
    return changed
      ? this.result('updated', record, op)
      : this.none(record.key, 'nothing changed', record, op)
  }

  private async reopen(record: IncidentRecord, incident: Incident, op: Op): Promise<WarRoomResult> {
    record.status = 'open'
    delete record.resolvedAt
    delete record.resolvedBy
    delete record.ack
    record.incident = incident
    record.chatName = this.chatName({ ...incident, title: record.openTitle ?? incident.title })
    record.events.push({ type: 'reopened', at: this.now(), detail: incident.title })
    await this.client.updateChat(record.chatId, {
      name: record.chatName,
      description: this.description(record.keyHash, 'open', record.openedAt),
    })
    await this.refreshCard(record, op)
    await this.post(
      record,
      [[{ tag: 'text', text: this.t.reopened }]],
      `reopen:${record.events.length}`,
    )
    if (incident.event) record.seenEvents = [...record.seenEvents, incident.event].slice(-50)
    await this.save(record)
    return { ...this.result('opened', record, op), reopened: true }
  }

  private async resolveRecord(
    record: IncidentRecord,
    op: Op,
    how: { incident?: Incident; by?: Person; note?: string },
  ): Promise<WarRoomResult> {
    if (record.status === 'resolved') return this.none(record.key, 'already resolved', record, op)
    const now = this.now()
    const resolvedAt = how.incident?.resolvedAt
      ? Math.min(Date.parse(how.incident.resolvedAt), now)
      : now
    record.status = 'resolved'
    record.resolvedAt = Math.max(resolvedAt, record.openedAt)
    if (how.by) record.resolvedBy = how.by
    if (how.incident)
      record.incident = mergeResolved(
        record.incident,
        how.incident,
        severityInName(record.chatName),
      )
    record.events.push({
      type: 'resolved',
      at: now,
      ...(how.by ? { by: how.by } : {}),
      ...(how.note ? { detail: how.note } : {}),
    })
    await this.refreshCard(record, op)
    await this.client.updateChat(record.chatId, {
      name: this.resolvedName(record.chatName),
      description: this.description(record.keyHash, 'resolved', record.openedAt),
    })
    const t = this.t
    const lasted = t.lasted(
      formatDuration(record.resolvedAt - record.openedAt, this.config.language),
    )
    // "✅ 事件已解决 · 持续 5分 · 由 @Bob 标记解决" / "✅ Incident resolved · lasted 5m · resolved by @Bob"
    const [before, after] = t.resolvedByParts
    const first: Array<Record<string, unknown>> = how.by
      ? [
          { tag: 'text', text: `${t.resolvedMsg} · ${lasted} · ${before}` },
          ...this.personNodes(how.by),
          ...(after ? [{ tag: 'text', text: after }] : []),
        ]
      : [
          {
            tag: 'text',
            text: `${t.resolvedMsg} · ${lasted} · ${t.resolvedBySource(t.sourceNames[record.incident?.source ?? 'generic'])}`,
          },
        ]
    const paragraphs = [first]
    const detail = how.note ?? how.incident?.resolution
    if (detail) paragraphs.push([{ tag: 'text', text: safePlainText(truncate(detail, 1000)) }])
    await this.post(record, paragraphs, `resolved:${record.resolvedAt}`)
    await this.save(record)
    return this.result('resolved', record, op)
  }

  // --------------------------------------------------------------- helpers

  private async run(
    key: string,
    keyHash: string,
    work: (op: Op) => Promise<WarRoomResult>,
  ): Promise<WarRoomResult> {
    const { result, calls } = await countCalls(() =>
      this.mutex.run(keyHash, () => work({ warnings: [], failedMembers: [] })),
    )
    result.feishuCalls = calls
    if (!result.key) result.key = key
    for (const w of result.warnings) this.logger.warn(w, { key: result.key, chatId: result.chatId })
    if (result.failedMembers.length)
      this.logger.warn('could not invite some members', {
        key: result.key,
        chatId: result.chatId,
        members: result.failedMembers.map((m) => `${m.id} (${m.reason})`),
      })
    return result
  }

  private result(action: WarRoomAction, record: IncidentRecord, op: Op): WarRoomResult {
    return {
      action,
      key: record.key,
      chatId: record.chatId,
      chatUrl: this.client.chatLink(record.chatId),
      ...(record.cardMessageId ? { cardMessageId: record.cardMessageId } : {}),
      failedMembers: op.failedMembers,
      feishuCalls: 0,
      warnings: op.warnings,
    }
  }

  private none(key: string, reason: string, record?: IncidentRecord, op?: Op): WarRoomResult {
    return {
      ...(record
        ? this.result('none', record, op ?? { warnings: [], failedMembers: [] })
        : {
            action: 'none' as const,
            key,
            failedMembers: [],
            feishuCalls: 0,
            warnings: op?.warnings ?? [],
          }),
      reason,
    }
  }

  /**
   * The version this process last wrote for a key (undefined if none): a
   * notification whose effect was applied at this version needs no work.
   */
  recordVersion(keyHash: string): number | undefined {
    return this.versions.get(keyHash)
  }

  private async save(record: IncidentRecord): Promise<void> {
    record.version++
    // A flapping alert must not grow its record without end: keep the start and the recent past.
    if (record.events.length > MAX_EVENTS)
      record.events = [...record.events.slice(0, 50), ...record.events.slice(-(MAX_EVENTS - 50))]
    await this.store.put(record)
    this.versions.set(record.keyHash, record.version)
    this.onRecord?.(record)
  }

  chatName(incident: Incident): string {
    const style = SEVERITY_STYLE[incident.severity]
    const title = safePlainText(singleLine(incident.title))
    // Replacer functions: a string replacement would expand $` and $' found in a title.
    const fill = (t: string) =>
      this.config.chatNameTemplate
        .replaceAll('{emoji}', () => style.emoji)
        .replaceAll('{priority}', () => style.priority)
        .replaceAll('{severity}', () => incident.severity)
        .replaceAll('{source}', () => incident.source)
        .replaceAll('{title}', () => t)
    // Room for the resolved prefix, so the rename never exceeds the limit.
    const max = CHAT_NAME_MAX - [...this.config.resolvedPrefix].length
    const overhead = [...fill('')].length
    return singleLine(fill(truncate(title, Math.max(8, max - overhead))))
  }

  /** "[已解决] [P0] title": the prefix, and no alarm emoji left on a resolved chat. */
  private resolvedName(chatName: string): string {
    let name = chatName
    for (const { emoji } of Object.values(SEVERITY_STYLE)) name = name.replaceAll(emoji, '')
    return this.config.resolvedPrefix + singleLine(name.replace(/\s+/g, ' ').trim())
  }

  private description(keyHash: string, state: 'open' | 'resolved', openedAt: number): string {
    return `feishu-warroom incident chat\n[warroom:${keyHash}:${state}:${Math.floor(openedAt / 1000)}]`
  }

  private view(record: IncidentRecord): CardView {
    // The card's title is the chat's: both keep the title the incident opened with.
    const incident = record.incident && {
      ...record.incident,
      title: record.openTitle ?? record.incident.title,
    }
    return {
      incident: incident ?? {
        key: record.key || record.keyHash,
        title: record.chatName,
        status: record.status === 'open' ? 'firing' : 'resolved',
        severity: 'error',
        source: 'generic',
        fields: [],
        items: [],
        links: [],
        members: [],
        images: [],
        labels: {},
      },
      keyHash: record.keyHash,
      state: record.status === 'open' ? 'firing' : 'resolved',
      openedAt: record.openedAt,
      updatedAt: this.now(),
      members: record.members,
      failedMembers: record.failedMembers,
      imageKeys: record.imageKeys,
      ...(record.resolvedAt !== undefined ? { resolvedAt: record.resolvedAt } : {}),
      ...(record.ack ? { ack: record.ack } : {}),
      ...(record.resolvedBy ? { resolvedBy: record.resolvedBy } : {}),
      ...(record.previousChatId
        ? { previousChatUrl: this.client.chatLink(record.previousChatId) }
        : {}),
    }
  }

  private render(record: IncidentRecord, updatedAt = this.now()): Record<string, unknown> {
    return renderCard(
      { ...this.view(record), updatedAt },
      {
        language: this.config.language,
        timeZone: this.config.timeZone,
        maxItems: this.config.maxItems,
      },
    )
  }

  /** What the card shows, without its "updated" time: equal hashes mean nothing to patch. */
  private cardHashOf(record: IncidentRecord): string {
    return sha(JSON.stringify(this.render(record, 0)))
  }

  private async sendCard(record: IncidentRecord, op: Op): Promise<void> {
    const card = this.render(record)
    const hash = this.cardHashOf(record)
    const message = await this.client.sendMessage({
      receiveIdType: 'chat_id',
      receiveId: record.chatId,
      msgType: 'interactive',
      content: card,
      uuid: deriveUuid('card', record.chatId),
    })
    record.cardMessageId = message.message_id
    record.cardHash = hash
    await this.save(record)
    try {
      await this.client.pinMessage(message.message_id)
    } catch (error) {
      op.warnings.push(`could not pin the card: ${(error as Error).message}`)
    }
  }

  /** Patches the card when what it shows changed; returns whether it did. */
  private async refreshCard(record: IncidentRecord, op: Op): Promise<boolean> {
    if (!record.cardMessageId) record.cardMessageId = await this.findCard(record.chatId)
    if (!record.cardMessageId) {
      await this.sendCard(record, op)
      return true
    }
    // Rendered for real only when it changed: a repeat costs one render and no call.
    const hash = this.cardHashOf(record)
    if (hash === record.cardHash) return false
    await this.client.patchCard(record.cardMessageId, this.render(record))
    record.cardHash = hash
    return true
  }

  /** The card is the earliest message this app pinned in the chat. */
  private async findCard(chatId: string): Promise<string | undefined> {
    let found: string | undefined
    try {
      for await (const pin of this.client.listPins(chatId)) {
        if (pin.operator_id_type === 'app_id' && pin.operator_id === this.client.appId)
          found = pin.message_id
      }
    } catch (error) {
      this.logger.warn('could not list pins to find the card', {
        chatId,
        error: (error as Error).message,
      })
    }
    return found
  }

  /** Posts a short message (a post: untrusted text only in text nodes). */
  private async post(
    record: IncidentRecord,
    paragraphs: Array<Array<Record<string, unknown>>>,
    event: string,
  ): Promise<void> {
    const locale = this.config.language === 'zh' ? 'zh_cn' : 'en_us'
    await this.client.sendMessage({
      receiveIdType: 'chat_id',
      receiveId: record.chatId,
      msgType: 'post',
      content: { [locale]: { title: '', content: paragraphs } },
      uuid: deriveUuid('msg', record.chatId, event),
    })
  }

  private personNodes(person: Person): Array<Record<string, unknown>> {
    if (person.openId && /^ou_[A-Za-z0-9]+$/.test(person.openId))
      return [{ tag: 'at', user_id: person.openId }]
    return [{ tag: 'text', text: safePlainText(truncate(person.name ?? this.t.unknownUser, 60)) }]
  }

  private changeParagraphs(change: Change, previous: Incident | undefined, incident: Incident) {
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

  // ---------------------------------------------------------------- members

  private async resolveMembers(ids: string[], op: Op) {
    const openIds: string[] = []
    const other: Array<{ id: string; type: 'union_id' | 'user_id' }> = []
    const emails: string[] = []
    const mobiles: string[] = []
    for (const raw of ids) {
      const id = raw.trim()
      if (/^ou_[A-Za-z0-9]+$/.test(id)) openIds.push(id)
      else if (/^on_[A-Za-z0-9]+$/.test(id)) other.push({ id, type: 'union_id' })
      else if (/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(id)) emails.push(id.toLowerCase())
      else if (/^\+?[0-9][0-9 -]{5,20}$/.test(id)) mobiles.push(id.replace(/[ -]/g, ''))
      else if (/^[A-Za-z0-9_-]{1,64}$/.test(id)) other.push({ id, type: 'user_id' })
      else op.failedMembers.push({ id, reason: 'not a Feishu id, email or mobile' })
    }
    const failed: Array<{ id: string; reason: string }> = []
    const fresh = (k: string) => {
      const hit = this.idCache.get(k)
      return hit && this.now() - hit.at < 6 * 3600_000 ? hit : undefined
    }
    const toLookUp = {
      emails: emails.filter((e) => !fresh(e)),
      mobiles: mobiles.filter((m) => !fresh(m)),
    }
    if (toLookUp.emails.length || toLookUp.mobiles.length) {
      try {
        const found = await this.client.batchGetId(toLookUp)
        for (const [k, v] of found) this.idCache.set(k, { openId: v, at: this.now() })
      } catch (error) {
        for (const id of [...toLookUp.emails, ...toLookUp.mobiles])
          failed.push({ id, reason: reasonOf(error) })
      }
    }
    for (const k of [...emails, ...mobiles]) {
      const hit = fresh(k)
      if (hit?.openId) openIds.push(hit.openId)
      else if (hit)
        failed.push({
          id: k,
          reason: 'no Feishu user with this email or mobile (or outside the app’s contact scope)',
        })
    }
    op.failedMembers.push(...failed)
    return { openIds: [...new Set(openIds)], other, failed: [...op.failedMembers] }
  }

  private async addMembers(
    record: IncidentRecord,
    ids: string[],
    type: 'open_id' | 'union_id' | 'user_id',
    op: Op,
  ): Promise<void> {
    if (!ids.length) return
    try {
      const res = await this.client.addMembers(record.chatId, ids, { memberIdType: type })
      const bad = new Set([...res.invalid_id_list, ...res.not_existed_id_list])
      for (const id of res.invalid_id_list)
        op.failedMembers.push({ id, reason: 'resigned, not activated or not visible to the app' })
      for (const id of res.not_existed_id_list)
        op.failedMembers.push({ id, reason: 'does not exist' })
      for (const id of res.pending_approval_id_list)
        op.warnings.push(`${id} is waiting for the chat owner's approval`)
      if (type === 'open_id')
        record.members = [...new Set([...record.members, ...ids.filter((i) => !bad.has(i))])]
      for (const f of op.failedMembers)
        if (!record.failedMembers.some((x) => x.id === f.id)) record.failedMembers.push(f)
    } catch (error) {
      for (const id of ids) {
        const failure = { id, reason: reasonOf(error) }
        op.failedMembers.push(failure)
        record.failedMembers.push(failure)
      }
    }
  }

  private async addOtherIdTypes(
    record: IncidentRecord,
    other: Array<{ id: string; type: 'union_id' | 'user_id' }>,
    op: Op,
  ) {
    for (const type of ['union_id', 'user_id'] as const) {
      await this.addMembers(
        record,
        other.filter((o) => o.type === type).map((o) => o.id),
        type,
        op,
      )
    }
  }

  /** The card keeps its old pictures until new ones are uploaded. */
  private async uploadImages(record: IncidentRecord, incident: Incident, op: Op): Promise<void> {
    if (!this.fetchImage) {
      record.imageKeys = []
      record.imageUrls = [...incident.images]
      return
    }
    const keys: string[] = []
    for (const url of incident.images) {
      try {
        const image = await this.fetchImage(url)
        keys.push(await this.client.uploadImage(image.bytes, { contentType: image.contentType }))
      } catch (error) {
        op.warnings.push(`image ${url} not shown: ${(error as Error).message}`)
      }
    }
    // Nothing new uploaded: keep the old pictures, and try again on the next update.
    if (keys.length === 0 && record.imageKeys.length && incident.images.length) return
    record.imageKeys = keys
    record.imageUrls = [...incident.images]
  }

  // ------------------------------------------------------- finding records

  private async keyHashFor(ref: IncidentRef): Promise<string | undefined> {
    if ('keyHash' in ref) return ref.keyHash
    if ('key' in ref) return hashKey(ref.key)
    const known = await this.store.findByChat(ref.chatId)
    if (known) return known.keyHash
    try {
      const chat = await this.client.getChat(ref.chatId)
      const record = this.fromMarker({
        chat_id: ref.chatId,
        name: chat.name ?? '',
        description: chat.description ?? '',
      })
      if (!record) return undefined
      if (!(await this.store.get(record.keyHash))) await this.store.put(record)
      return record.keyHash
    } catch (error) {
      // Not a chat of this bot: not a war room. Anything else (network, credentials) is the answer.
      if (error instanceof FeishuError && NOT_OUR_CHAT_CODES.has(error.code)) return undefined
      throw error
    }
  }

  private async lookup(keyHash: string): Promise<IncidentRecord | undefined> {
    if (this.storeIsAuthoritative && !this.synced) {
      if (await this.store.isEmpty()) await this.syncFromFeishu()
      this.synced = true
    }
    const stored = await this.store.get(keyHash)
    if (stored || this.storeIsAuthoritative) return stored
    return this.discover(keyHash)
  }

  /** Finds the newest chat whose marker names this key (no store: the GitHub Action). */
  private async discover(keyHash: string): Promise<IncidentRecord | undefined> {
    let found: IncidentRecord | undefined
    for await (const chat of this.client.listChats()) {
      const record = this.fromMarker(chat)
      if (record?.keyHash === keyHash) found = record
    }
    if (found) await this.store.put(found)
    return found
  }

  /** Rebuilds a lost or new store from the marker chats the bot is in. */
  async syncFromFeishu(): Promise<number> {
    const newest = new Map<string, IncidentRecord>()
    for await (const chat of this.client.listChats()) {
      const record = this.fromMarker(chat)
      if (record) newest.set(record.keyHash, record)
    }
    for (const record of newest.values()) await this.store.put(record)
    if (newest.size)
      this.logger.info('rebuilt incident records from Feishu chats', { count: newest.size })
    return newest.size
  }

  private fromMarker(
    chat: Pick<ChatSummary, 'chat_id' | 'name' | 'description'>,
  ): IncidentRecord | undefined {
    const m = MARKER.exec(chat.description ?? '')
    if (!m) return undefined
    const status = m[2] as 'open' | 'resolved'
    let name = chat.name ?? ''
    if (status === 'resolved' && name.startsWith(this.config.resolvedPrefix))
      name = name.slice(this.config.resolvedPrefix.length)
    const openedAt = Number(m[3]) * 1000
    return {
      keyHash: m[1]!,
      key: '',
      chatId: chat.chat_id,
      chatName: name,
      status,
      openedAt,
      // When it was resolved is not in the marker: unknown, not "at once".
      members: [],
      invited: [],
      failedMembers: [],
      imageKeys: [],
      imageUrls: [],
      seenEvents: [],
      events: [],
      version: 0,
    }
  }
}

interface Change {
  newFiring: Incident['items']
  resolved: Incident['items']
  severityRaised: boolean
}

function describeChange(previous: Incident | undefined, next: Incident): Change {
  if (!previous) return { newFiring: [], resolved: [], severityRaised: false }
  const before = new Map(previous.items.map((i) => [i.id, i.status]))
  return {
    newFiring: next.items.filter((i) => i.status === 'firing' && before.get(i.id) !== 'firing'),
    resolved: next.items.filter((i) => i.status === 'resolved' && before.get(i.id) === 'firing'),
    severityRaised: SEVERITY_RANK[next.severity] > SEVERITY_RANK[previous.severity],
  }
}

/**
 * A resolution whose alerts all started before this chat's episode began is
 * a late copy for an earlier episode (an HA peer, a retry): it must not close
 * the current one.
 */
function isStaleResolution(record: IncidentRecord, incident: Incident): boolean {
  if (record.status !== 'open' || incident.items.length === 0) return false
  return incident.items.every(
    (i) => i.startedAt !== undefined && Date.parse(i.startedAt) + 1000 < record.openedAt,
  )
}

function summarizeChange(change: Change): string {
  const parts = []
  if (change.newFiring.length) parts.push(`${change.newFiring.length} firing`)
  if (change.resolved.length) parts.push(`${change.resolved.length} resolved`)
  if (change.severityRaised) parts.push('severity raised')
  return parts.join(', ') || 'card updated'
}

/** A resolved notification may list only the resolved alerts; keep what else the card knew. */
/**
 * What the card shows after a resolution: everything the incident had, with
 * what the resolving report adds. A bare "resolved" (a key and a title) must
 * not wipe the severity, links, fields or responders.
 */
function mergeResolved(
  previous: Incident | undefined,
  resolved: Incident,
  named: Severity | undefined,
): Incident {
  // A chat found by its marker: only its name tells what severity it was opened with.
  if (!previous) return named ? { ...resolved, severity: named } : resolved
  const items = new Map<string, Incident['items'][number]>(
    previous.items.map((i) => [i.id, { ...i, status: 'resolved' as const }]),
  )
  for (const item of resolved.items) items.set(item.id, item)
  const pick = <T>(now: T[], before: T[]) => (now.length ? now : before)
  return {
    ...previous,
    status: 'resolved',
    items: [...items.values()],
    fields: pick(resolved.fields, previous.fields),
    links: pick(resolved.links, previous.links),
    images: pick(resolved.images, previous.images),
    labels: Object.keys(resolved.labels).length ? resolved.labels : previous.labels,
    ...(resolved.summary ? { summary: resolved.summary } : {}),
    ...(resolved.resolvedAt ? { resolvedAt: resolved.resolvedAt } : {}),
    ...(resolved.resolution ? { resolution: resolved.resolution } : {}),
    ...(resolved.event ? { event: resolved.event } : {}),
  }
}

/** The severity a chat name shows by its priority tag ("🔥 [P0] …"), if any. */
function severityInName(name: string): Severity | undefined {
  const priority = /\[(P[0-3])\]/.exec(name)?.[1]
  const found = Object.entries(SEVERITY_STYLE).find(([, style]) => style.priority === priority)
  return found?.[0] as Severity | undefined
}

function reasonOf(error: unknown): string {
  if (error instanceof FeishuError)
    return `Feishu code ${error.code}${error.hint ? `: ${error.hint}` : ''}`
  return (error as Error).message
}

function sha(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

/** Feishu uuids are at most 50 characters: a prefix and 40 hex digits. */
export function deriveUuid(...parts: string[]): string {
  return `wr${sha(parts.join('|')).slice(0, 40)}`
}
