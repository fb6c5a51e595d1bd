import type { FeishuClient } from '../feishu/client.js'
import { countCalls, withPriority } from '../feishu/transport.js'
import type { Person } from '../model/incident.js'
import { type Incident, type IncidentInput, parseIncident } from '../model/incident.js'
import { safePlainText, truncate } from '../render/text.js'
import { type Figures, type TimelineOutput, writeTimeline } from '../render/timeline.js'
import { hashKey, type IncidentRecord, type IncidentStore, MemoryStore } from '../store/store.js'
import { type Logger, silentLogger } from '../util/log.js'
import { KeyedMutex } from '../util/mutex.js'
import { type NewChatBudget, OpenRefused } from './admission.js'
import { Cards } from './cards.js'
import { Discovery } from './discovery.js'
import { isStaleResolution, mergeResolved, newEpisode } from './episodes.js'
import {
  ESCALATE,
  type EscalationJob,
  Escalations,
  NOTE,
  type NoteJob,
  type ReminderJob,
} from './escalation.js'
import { Members } from './members.js'
import { Messages, type Paragraphs, severityInName, summarizeChange } from './messages.js'
import {
  type Core,
  DEFAULT_CONFIG,
  deriveUuid,
  type IncidentRef,
  MAX_EVENTS,
  newOp,
  type Op,
  resultOf,
  type WarRoomAction,
  type WarRoomConfig,
  type WarRoomDeps,
  type WarRoomResult,
  WrittenRecords,
} from './model.js'
import { review } from './review.js'
import { Silencing } from './silencing.js'
import { Urgency } from './urgency.js'

export * from './model.js'

/**
 * The core's lifecycle: makes Feishu reflect an incident. One chat per
 * incident key, its members invited, one pinned card kept current, follow-ups
 * when something people must see changed, and a green card plus a
 * `[已解决] ` rename at the end. Work for one key is serialised; uuids derived
 * from the key keep retries and duplicate deliveries from doubling anything.
 * Members, chat texts, the card and finding records are each their own module.
 */
export class WarRoom {
  readonly config: WarRoomConfig
  private readonly client: FeishuClient
  private readonly store: IncidentStore
  private readonly logger: Logger
  private readonly now: () => number
  private readonly onRecord: ((record: IncidentRecord) => void) | undefined
  private readonly mutex = new KeyedMutex()
  private readonly written = new WrittenRecords()
  /** Version of each record this process wrote, for the receiver's repeat fast path. */
  private readonly versions = new Map<string, number>()
  private readonly members: Members
  private readonly messages: Messages
  private readonly cards: Cards
  private readonly discovery: Discovery
  private readonly budget: NewChatBudget | undefined
  private readonly escalations: Escalations
  private readonly silencing: Silencing
  private readonly urgency: Urgency

  constructor(deps: WarRoomDeps) {
    this.client = deps.client
    this.store = deps.store ?? new MemoryStore()
    this.config = { ...DEFAULT_CONFIG, ...deps.config }
    this.logger = deps.logger ?? silentLogger
    this.now = deps.now ?? Date.now
    this.onRecord = deps.onRecord
    this.budget = deps.budget
    const core: Core = {
      client: this.client,
      config: this.config,
      logger: this.logger,
      now: this.now,
    }
    this.members = new Members(core)
    this.messages = new Messages(core)
    this.urgency = new Urgency(core, this.messages)
    this.cards = new Cards(core, deps.fetchImage, (record) => this.save(record))
    this.discovery = new Discovery(core, this.store, deps.store !== undefined && !deps.storeIsCache)
    this.escalations = new Escalations(
      core,
      this.store.jobs,
      this.members,
      this.messages,
      this.cards,
      this.urgency,
      (record) => this.save(record),
    )
    this.silencing = new Silencing(core, this.messages)
  }

  private get t() {
    return this.messages.t
  }

  /** Opens, updates or resolves the war room for an incident, by its status. */
  async handle(input: Incident | IncidentInput): Promise<WarRoomResult> {
    const incident = parseIncident(input)
    const keyHash = hashKey(incident.key)
    // A critical incident's calls go ahead of other incidents' in the pacer's queues.
    const critical = incident.severity === 'critical'
    return this.run(incident.key, keyHash, critical ? 1 : 0, async (op) => {
      const record = await this.discovery.lookup(keyHash)
      if (incident.status === 'resolved') {
        if (!record) return this.none(incident.key, 'no open war room for this key')
        if (isStaleResolution(record, incident))
          return this.none(incident.key, 'a late resolution of an earlier episode', record, op)
        return this.resolveRecord(record, op, { incident })
      }
      if (record?.status === 'open') return this.update(record, incident, op)
      const resolvedAt = record?.resolvedAt ?? 0
      if (
        record &&
        this.config.reopenWindowMs > 0 &&
        this.now() - resolvedAt <= this.config.reopenWindowMs
      )
        return this.reopen(record, incident, op)
      const wait = this.budget?.admit(incident)
      if (wait !== undefined) throw new OpenRefused(wait)
      return this.open(incident, keyHash, op, record)
    })
  }

  /** A person acknowledged the incident (a chat command or the card's button). */
  acknowledge(ref: IncidentRef, by: Person): Promise<WarRoomResult> {
    return this.asMember(ref, by, async (record, op) => {
      if (record.status !== 'open')
        return this.none(record.key, 'the incident is already resolved', record)
      if (record.ack) return this.none(record.key, 'already acknowledged', record)
      record.ack = { by, at: this.now() }
      record.events.push({ type: 'acknowledged', at: record.ack.at, by })
      await this.escalations.cancel(record)
      await this.escalations.scheduleReminder(record)
      await this.cards.refresh(record, op)
      const [before, after] = this.t.ackParts
      const line = [{ tag: 'text', text: before }, ...this.messages.personNodes(by)]
      await this.messages.post(record, [[...line, { tag: 'text', text: after }]], 'ack')
      await this.save(record)
      return this.result('acknowledged', record, op)
    })
  }

  /** `/silence` (a duration) or `/unsilence` (none): the group's silence in Alertmanager, members only. */
  silence(ref: IncidentRef, by: Person, durationMs?: number, note?: string) {
    return this.asMember(ref, by, async (record, op) => {
      const refused =
        durationMs === undefined
          ? await this.silencing.unsilence(record, by)
          : await this.silencing.silence(record, by, durationMs, note)
      if (refused) return this.none(record.key, refused, record, op)
      await this.cards.refresh(record, op)
      await this.save(record)
      return this.result('updated', record, op)
    })
  }

  /** A person resolved the incident, with an optional note. */
  resolveBy(ref: IncidentRef, by: Person, note?: string): Promise<WarRoomResult> {
    return this.asMember(ref, by, (record, op) => this.resolveRecord(record, op, { by, note }))
  }

  /** Work a person does on an incident: only in a war room, and only as one of its members. */
  private async asMember(
    ref: IncidentRef,
    by: Person,
    work: (record: IncidentRecord, op: Op) => Promise<WarRoomResult>,
  ): Promise<WarRoomResult> {
    const keyHash = await this.discovery.keyHashFor(ref)
    if (!keyHash) return this.none('', this.t.notAWarRoom)
    return this.run('', keyHash, 0, async (op) => {
      const record = await this.discovery.lookup(keyHash)
      if (!record) return this.none('', 'unknown incident')
      if (!(await this.members.isMember(record, by)))
        return this.none(record.key, this.t.notAMember, record)
      return work(record, op)
    })
  }

  /** Posts a notice in the incident's open chat, if any; opens nothing (a cancelled run). */
  async notice(key: string, text: string, event?: string): Promise<WarRoomResult> {
    const keyHash = hashKey(key)
    return this.run(key, keyHash, 0, async (op) => {
      const record = await this.discovery.lookup(keyHash)
      if (record?.status !== 'open') return this.none(key, 'no open war room for this key')
      if (event && record.seenEvents.includes(event))
        return this.none(key, 'already reported', record, op)
      await this.messages.post(
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
  postTest = (chatId: string, text: string): Promise<void> => this.messages.postTest(chatId, text)

  /** The card as it stands now, for a card callback's answer. */
  async cardFor(ref: IncidentRef): Promise<Record<string, unknown> | undefined> {
    const record = await this.find(ref)
    return record ? this.cards.render(record) : undefined
  }

  /** Writes the incident's timeline (the whole chat history merged with its events) to the outputs. */
  async timeline(ref: IncidentRef, outputs: TimelineOutput[]): Promise<Figures | undefined> {
    const record = await this.find(ref)
    if (!record) return undefined
    return writeTimeline(this.client, record, outputs, {
      language: this.config.language,
      timeZone: this.config.timeZone,
      resolvedPrefix: this.config.resolvedPrefix,
    })
  }

  /** After a resolution: the timeline to the outputs, then the key figures in the chat. */
  async summarize(
    ref: IncidentRef,
    outputs: TimelineOutput[] = [],
  ): Promise<{ figures?: Figures; warning?: string }> {
    const record = await this.find(ref)
    if (!record) return { warning: 'unknown incident' }
    // Background work: its calls wait behind incidents' own.
    return withPriority(-1, () => review(this.client, this.messages, this.config, record, outputs))
  }

  /** Answers a person's message in the chat (command results). */
  reply = (id: string, text: string | Paragraphs, chatId?: string) =>
    this.messages.reply(id, text, chatId)

  /** /status: where the incident of this chat stands, as a reply to the asking message. */
  async status(ref: IncidentRef, messageId: string): Promise<IncidentRecord | undefined> {
    const record = await this.find(ref)
    await this.messages.reply(
      messageId,
      record ? this.messages.describe(record) : this.t.notAWarRoom,
      record?.chatId ?? ('chatId' in ref ? ref.chatId : undefined),
    )
    return record
  }

  /** The record behind a chat or key, for /status and the timeline. */
  async find(ref: IncidentRef): Promise<IncidentRecord | undefined> {
    const keyHash = await this.discovery.keyHashFor(ref)
    return keyHash ? this.discovery.lookup(keyHash) : undefined
  }

  /** The store's job queue (escalation steps), for the runner that claims them. */
  readonly jobs = () => this.store.jobs

  /** A job's time came (a step, a reminder, a step's note): done unless it no longer applies. */
  async escalate(keyHash: string, kind: string, job: EscalationJob | ReminderJob) {
    const priority = kind === ESCALATE ? 1 : kind === NOTE ? -1 : 0
    const noted = kind === NOTE ? await this.discovery.lookup(keyHash) : undefined
    if (noted) await withPriority(-1, () => this.escalations.notePost(noted, job as NoteJob))
    return this.run('', keyHash, priority, async (op) => {
      const record = await this.discovery.lookup(keyHash)
      if (!record || !(await this.escalations.act(record, kind, job, op)))
        return this.none(record?.key ?? '', 'no longer due', record, op)
      await this.save(record)
      return this.result('updated', record, op)
    })
  }

  /** True the first time an event or click id is seen by any process sharing the store. */
  claimOnce = (id: string): Promise<boolean> => this.store.claimOnce(id)
  unclaim = (id: string): Promise<void> => this.store.unclaim(id)

  /** Waits for in-flight work (graceful shutdown). */
  idle = (): Promise<void> => this.mutex.idle()

  private async open(
    incident: Incident,
    keyHash: string,
    op: Op,
    previous?: IncidentRecord,
  ): Promise<WarRoomResult> {
    const now = this.now()
    const openedAt = Math.min(incident.startedAt ? Date.parse(incident.startedAt) : now, now)
    const chatName = this.messages.chatName(incident)
    const members = await this.members.resolve(incident.members, op)
    // Same key and same predecessor: the same chat, however often this is retried.
    const uuid = deriveUuid('chat', keyHash, previous?.chatId ?? '-')
    const description = this.discovery.description(keyHash, 'open', openedAt)
    const { chatId, pending } = await this.members.createChat(
      { name: chatName, description },
      members.openIds,
      [uuid, deriveUuid('chat-bare', keyHash, previous?.chatId ?? '-')],
      () => this.discovery.findOpenChat(keyHash, previous?.chatId),
    )
    const record = newEpisode({
      keyHash,
      incident,
      chatId,
      chatName,
      openedAt,
      now,
      members: members.openIds.filter((id) => !pending.includes(id)),
      pageable: await this.members.openIdsOf(incident.pageable ?? incident.members),
      failed: members.failed,
      ...(previous ? { previous } : {}),
    })
    await this.save(record) // before anything else can fail: a retry finds the chat
    await this.members.addRest(record, pending, members.other, op)
    await this.cards.uploadImages(record, incident, op)
    await this.cards.send(record, op)
    await this.urgency.page(record, op)
    await this.escalations.plan(record)
    await this.cards.refresh(record, op) // with the next escalation step, if any
    await this.save(record)
    return this.result('opened', record, op)
  }

  private async update(record: IncidentRecord, incident: Incident, op: Op): Promise<WarRoomResult> {
    const previous = record.incident
    const eventIsNew = !incident.event || !record.seenEvents.includes(incident.event)
    const added = await this.members.inviteNew(record, incident.members, op)
    if (added || !record.pageable)
      record.pageable = await this.members.openIdsOf(incident.pageable ?? incident.members)
    record.incident = incident
    // The name follows the severity; the title it was opened with stays (a changing name is noise).
    // A chat found by its marker keeps the name it has: what it was opened with is unknown.
    if (record.openTitle === undefined && previous) record.openTitle = incident.title
    const name = this.messages.chatName({ ...incident, title: record.openTitle ?? incident.title })
    if (previous && name !== record.chatName) {
      await this.client.updateChat(record.chatId, { name })
      record.chatName = name
    }
    if (incident.images.join('\n') !== record.imageUrls.join('\n'))
      await this.cards.uploadImages(record, incident, op)
    const cardChanged = await this.cards.refresh(record, op)
    const madeUp = await this.escalations.makeUp(record, op)

    const { change, announced: announce } = await this.messages.announceChange(
      record,
      previous,
      incident,
      eventIsNew,
    )
    if (incident.event && eventIsNew)
      record.seenEvents = [...record.seenEvents, incident.event].slice(-50)
    const changed = cardChanged || announce || added > 0
    if (changed)
      record.events.push({ type: 'updated', at: this.now(), detail: summarizeChange(change) })
    if (changed || eventIsNew || madeUp) await this.save(record)
    return changed
      ? this.result('updated', record, op)
      : this.none(record.key, 'nothing changed', record, op)
  }

  private async reopen(record: IncidentRecord, incident: Incident, op: Op): Promise<WarRoomResult> {
    record.status = 'open'
    delete record.resolvedAt
    delete record.resolvedBy
    delete record.ack
    delete record.paged
    record.incident = incident
    record.chatName = this.messages.chatName({
      ...incident,
      title: record.openTitle ?? incident.title,
    })
    record.events.push({ type: 'reopened', at: this.now(), detail: incident.title })
    await this.escalations.plan(record)
    await this.client.updateChat(record.chatId, {
      name: record.chatName,
      description: this.discovery.description(record.keyHash, 'open', record.openedAt),
    })
    await this.cards.refresh(record, op)
    await this.urgency.page(record, op)
    await this.messages.post(
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
    how: { incident?: Incident; by?: Person; note?: string | undefined },
  ): Promise<WarRoomResult> {
    if (record.status === 'resolved') return this.none(record.key, 'already resolved', record, op)
    const now = this.now()
    const resolvedAt = how.incident?.resolvedAt
      ? Math.min(Date.parse(how.incident.resolvedAt), now)
      : now
    record.status = 'resolved'
    record.resolvedAt = Math.max(resolvedAt, record.openedAt)
    await this.escalations.cancel(record)
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
    await this.cards.refresh(record, op)
    await this.client.updateChat(record.chatId, {
      name: this.messages.resolvedName(record.chatName),
      description: this.discovery.description(record.keyHash, 'resolved', record.openedAt),
    })
    const paragraphs = this.messages.resolution(
      record,
      how.by,
      how.note ?? how.incident?.resolution,
    )
    // Keyed by the episode, not the time: a retried resolution without resolvedAt posts once.
    const episode = record.events.filter((e) => e.type === 'reopened').length
    await this.messages.post(record, paragraphs, `resolved:${record.openedAt}:${episode}`)
    await this.save(record)
    return this.result('resolved', record, op)
  }

  private async run(
    key: string,
    keyHash: string,
    priority: number,
    work: (op: Op) => Promise<WarRoomResult>,
  ): Promise<WarRoomResult> {
    const { result, calls } = await countCalls(() =>
      withPriority(priority, () =>
        // In-process first (cheap), then across the processes sharing the store.
        this.mutex.run(keyHash, () => this.store.withLock(keyHash, () => work(newOp()))),
      ),
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
    return resultOf(action, record, op, this.client.chatLink(record.chatId))
  }

  private none(key: string, reason: string, record?: IncidentRecord, op?: Op): WarRoomResult {
    const base = record
      ? this.result('none', record, op ?? newOp())
      : {
          action: 'none' as const,
          key,
          failedMembers: [],
          feishuCalls: 0,
          warnings: op?.warnings ?? [],
        }
    return { ...base, reason }
  }

  /** The record's version now (a repeat at the version it left needs no work): a shared store is asked. */
  recordVersion(keyHash: string): Promise<number | undefined> | number | undefined {
    return this.store.shared ? this.store.version(keyHash) : this.versions.get(keyHash)
  }

  private async save(record: IncidentRecord): Promise<void> {
    // A flapping alert must not grow its record without end: keep the start and the recent past.
    if (record.events.length > MAX_EVENTS)
      record.events = [...record.events.slice(0, 50), ...record.events.slice(-(MAX_EVENTS - 50))]
    if (this.written.unchanged(record)) return
    record.version++
    await this.store.put(record)
    this.written.wrote(record)
    this.versions.set(record.keyHash, record.version)
    this.onRecord?.(record)
  }

  /** Rebuilds a lost or new store from the marker chats the bot is in. */
  syncFromFeishu = (): Promise<number> => this.discovery.syncFromFeishu()
}
