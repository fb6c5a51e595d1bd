import { formatDuration } from '../i18n/index.js'
import { matchingChanges } from '../model/change.js'
import type { Incident, Person } from '../model/incident.js'
import { safePlainText, truncate } from '../render/text.js'
import type { ChangeLog } from '../store/changes.js'
import type { IncidentRecord, IncidentStore } from '../store/store.js'
import type { Bridges } from './bridge.js'
import type { Broadcast } from './broadcast.js'
import type { Cards } from './cards.js'
import type { Discovery } from './discovery.js'
import { mergeResolved, newEpisode } from './episodes.js'
import type { Escalations } from './escalation.js'
import type { HeldFollowUps } from './held.js'
import type { Members } from './members.js'
import { type Messages, severityInName, summarizeChange } from './messages.js'
import { type Core, deriveUuid, type Op, type WarRoomResult } from './model.js'
import type { Records } from './records.js'
import { summaryNow } from './review.js'
import type { Roles } from './roles.js'
import type { Urgency } from './urgency.js'

/** The parts an incident's episode goes through. */
export interface FlowParts {
  core: Core
  records: Records
  members: Members
  messages: Messages
  cards: Cards
  discovery: Discovery
  escalations: Escalations
  urgency: Urgency
  broadcast: Broadcast
  roles: Roles
  bridges: Bridges
  /** The store's change log (deploys), for the card's recent changes. */
  changes: ChangeLog
  /** The store's resolved incidents, for "last time this fired". */
  history: Pick<IncidentStore, 'lastResolved'>
  /** Follow-ups held while messages are backlogged. */
  held: HeldFollowUps
}

/**
 * An incident's episode as its source reports it: the chat opened (one per
 * key; the uuids make a retry return the same chat), updated when what people
 * must see changed, reopened within the window, and resolved (green card,
 * renamed chat, the resolution line). Runs inside the record's lock.
 */
export class Flow {
  private readonly core: Core
  private readonly records: Records
  private readonly members: Members
  private readonly messages: Messages
  private readonly cards: Cards
  private readonly discovery: Discovery
  private readonly escalations: Escalations
  private readonly urgency: Urgency
  private readonly broadcast: Broadcast
  private readonly roles: Roles
  private readonly bridges: Bridges
  private readonly changes: ChangeLog
  private readonly history: Pick<IncidentStore, 'lastResolved'>
  private readonly held: HeldFollowUps

  constructor(parts: FlowParts) {
    this.core = parts.core
    this.records = parts.records
    this.members = parts.members
    this.messages = parts.messages
    this.cards = parts.cards
    this.discovery = parts.discovery
    this.escalations = parts.escalations
    this.urgency = parts.urgency
    this.broadcast = parts.broadcast
    this.roles = parts.roles
    this.bridges = parts.bridges
    this.changes = parts.changes
    this.history = parts.history
    this.held = parts.held
  }

  async open(
    incident: Incident,
    keyHash: string,
    op: Op,
    previous?: IncidentRecord,
  ): Promise<WarRoomResult> {
    const now = this.core.now()
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
      lastTimeWithinMs: this.core.config.lastTimeWithinMs ?? 0,
      similar: await this.similar(incident, keyHash, now),
    })
    const changes = await this.recentChanges(incident, openedAt)
    if (changes) record.changes = changes
    await this.records.save(record) // before anything else can fail: a retry finds the chat
    await this.members.addRest(record, pending, members.other, op)
    await this.cards.uploadImages(record, incident, op)
    await this.cards.send(record, op)
    await this.broadcast.opened(record, op)
    await this.urgency.page(record, op)
    await this.bridges.auto(record, op)
    await this.escalations.plan(record)
    await this.roles.planLeadReminder(record)
    await this.cards.refresh(record, op) // with the next escalation step, if any
    await this.records.save(record)
    return this.records.result('opened', record, op)
  }

  async update(record: IncidentRecord, input: Incident, op: Op): Promise<WarRoomResult> {
    const previous = record.incident
    // A severity a person set holds: the source reports what it sees, the responders judge impact.
    const manual = record.manualSeverity
    const incident = manual
      ? { ...input, severity: manual, labels: { ...input.labels, severity: manual } }
      : input
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
      await this.core.client.updateChat(record.chatId, { name })
      record.chatName = name
    }
    if (incident.images.join('\n') !== record.imageUrls.join('\n'))
      await this.cards.uploadImages(record, incident, op)
    const cardChanged = await this.cards.refresh(record, op)
    const madeUp = await this.escalations.makeUp(record, op)
    // An episode whose first attempt failed before its bridge (bridge: auto) gets it now, once.
    const bridged = !record.bridge
    await this.bridges.auto(record, op)

    const {
      change,
      announced: announce,
      deferred,
    } = await this.messages.announceChange(record, previous, incident, eventIsNew)
    if (deferred) await this.held.hold(record)
    if (incident.event && eventIsNew)
      record.seenEvents = [...record.seenEvents, incident.event].slice(-50)
    const changed = cardChanged || announce || added > 0
    if (changed)
      record.events.push({ type: 'updated', at: this.core.now(), detail: summarizeChange(change) })
    if (changed || eventIsNew || madeUp || (bridged && record.bridge))
      await this.records.save(record)
    return changed
      ? this.records.result('updated', record, op)
      : this.records.none(record.key, 'nothing changed', record, op)
  }

  async reopen(record: IncidentRecord, incident: Incident, op: Op): Promise<WarRoomResult> {
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
    record.events.push({ type: 'reopened', at: this.core.now(), detail: incident.title })
    await this.escalations.plan(record)
    await this.core.client.updateChat(record.chatId, {
      name: record.chatName,
      description: this.discovery.description(record.keyHash, 'open', record.openedAt),
    })
    await this.cards.refresh(record, op)
    await this.urgency.page(record, op)
    await this.bridges.auto(record, op)
    await this.messages.post(
      record,
      [[{ tag: 'text', text: this.messages.t.reopened }]],
      `reopen:${record.events.length}`,
    )
    if (incident.event) record.seenEvents = [...record.seenEvents, incident.event].slice(-50)
    await this.records.save(record)
    return { ...this.records.result('opened', record, op), reopened: true }
  }

  /** What changed shortly before an incident opened, touching what it touches (a failed read: none). */
  /** The family's last resolution (route and alert name), another key's; none when unreadable. */
  private async similar(incident: Incident, keyHash: string, now: number) {
    const within = this.core.config.lastTimeWithinMs ?? 0
    if (!incident.family || !within) return undefined
    const found = await this.history
      .lastResolved(incident.family, now - within)
      .catch(() => undefined)
    return found?.keyHash === keyHash ? undefined : found
  }

  private async recentChanges(incident: Incident, openedAt: number) {
    const window = this.core.config.changesWindowMs ?? 0
    if (!window) return undefined
    const all = await this.changes.since(openedAt - window).catch(() => [])
    const found = matchingChanges(all, incident.labels, this.core.config.changesMatch ?? [])
    return found.length ? found : undefined
  }

  /** A line from the source in the open chat (the Action's "cancelled"), once per event. */
  async notice(record: IncidentRecord, text: string, event: string | undefined, op: Op) {
    if (event && record.seenEvents.includes(event))
      return this.records.none(record.key, 'already reported', record, op)
    await this.messages.post(
      record,
      [[{ tag: 'text', text: safePlainText(truncate(text, 2000)) }]],
      event ?? `notice:${text}`,
    )
    if (event) record.seenEvents = [...record.seenEvents, event].slice(-50)
    record.events.push({ type: 'updated', at: this.core.now(), detail: text })
    await this.records.save(record)
    return this.records.result('updated', record, op)
  }

  /** Someone (a person, or the source by its name) acknowledged: the steps stop, everyone is told. */
  async acknowledge(record: IncidentRecord, by: Person, op: Op): Promise<WarRoomResult> {
    if (record.status !== 'open')
      return this.records.none(record.key, 'the incident is already resolved', record)
    if (record.ack) return this.records.none(record.key, 'already acknowledged', record)
    record.ack = { by, at: this.core.now() }
    record.events.push({ type: 'acknowledged', at: record.ack.at, by })
    await this.escalations.acknowledged(record)
    await this.urgency.attention.clear(record, op)
    await this.cards.refresh(record, op)
    const [before, after] = this.messages.t.ackParts
    const line = [{ tag: 'text', text: before }, ...this.messages.personNodes(by)]
    await this.messages.post(record, [[...line, { tag: 'text', text: after }]], 'ack')
    await this.records.save(record)
    return this.records.result('acknowledged', record, op)
  }

  async resolve(
    record: IncidentRecord,
    op: Op,
    how: { incident?: Incident; by?: Person; note?: string | undefined },
  ): Promise<WarRoomResult> {
    if (record.status === 'resolved')
      return this.records.none(record.key, 'already resolved', record, op)
    const now = this.core.now()
    const resolvedAt = how.incident?.resolvedAt
      ? Math.min(Date.parse(how.incident.resolvedAt), now)
      : now
    record.status = 'resolved'
    record.resolvedAt = Math.max(resolvedAt, record.openedAt)
    await this.escalations.cancel(record)
    if (how.by) record.resolvedBy = how.by
    const fixed = how.note ?? how.incident?.resolution
    if (fixed) record.resolutionNote = fixed.slice(0, 500)
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
    // Nobody needs the chat at the top of their list, nor the meeting, any more.
    await this.urgency.attention.clear(record, op)
    await this.bridges.release(record, op)
    // Follow-ups still held (a storm's backlog) ride after the resolution's headline: one message.
    const paragraphs = [
      ...this.messages.resolution(record, how.by, how.note ?? how.incident?.resolution),
      ...this.messages.takePending(record),
    ]
    // So does the review summary while messages are backlogged (the review then posts none).
    const { client, config } = this.core
    const summary = this.messages.backlogged(record.chatId)
      ? await summaryNow(client, this.messages, config, record)
      : undefined
    if (summary) paragraphs.push([{ tag: 'text', text: summary }])
    // Keyed by the episode, not the time: a retried resolution without resolvedAt posts once.
    const episode = record.events.filter((e) => e.type === 'reopened').length
    // The card and name, and the message, go out side by side through their own quotas: in a
    // storm the card waits behind others' patches, and the resolution message need not wait for it.
    await settled([
      (async () => {
        await this.cards.refresh(record, op)
        await this.core.client.updateChat(record.chatId, {
          name: this.messages.resolvedName(record.chatName),
          description: this.discovery.description(record.keyHash, 'resolved', record.openedAt),
        })
      })(),
      this.messages.post(record, paragraphs, `resolved:${record.openedAt}:${episode}`),
    ])
    if (summary) record.summaryPostedAt = record.resolvedAt
    await this.broadcast.note(
      record,
      this.messages.t.feedResolved(
        formatDuration(record.resolvedAt - record.openedAt, this.core.config.language),
      ),
      `resolved:${record.openedAt}:${episode}`,
      op,
    )
    await this.records.save(record)
    return this.records.result('resolved', record, op)
  }
}

/** Waits for every one of them, then throws the first failure (none is left running behind a retry). */
async function settled(work: Array<Promise<unknown>>): Promise<void> {
  const failed = (await Promise.allSettled(work)).find((r) => r.status === 'rejected')
  if (failed) throw (failed as PromiseRejectedResult).reason
}
