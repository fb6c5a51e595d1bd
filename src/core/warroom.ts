import { COMMANDS } from '../commands/index.js'
import type { FeishuClient } from '../feishu/client.js'
import { withPriority } from '../feishu/transport.js'
import type { Person, Severity } from '../model/incident.js'
import { type Incident, type IncidentInput, parseIncident } from '../model/incident.js'
import { type Figures, type TimelineOutput, writeTimeline } from '../render/timeline.js'
import { hashKey, type IncidentRecord, type IncidentStore, MemoryStore } from '../store/store.js'
import { type Logger, silentLogger } from '../util/log.js'
import { type NewChatBudget, OpenRefused } from './admission.js'
import { isStaleResolution } from './episodes.js'
import { ESCALATE, type EscalationJob, NOTE, type NoteJob, type ReminderJob } from './escalation.js'
import type { FollowUpInput } from './followups.js'
import { DEFAULT_CONFIG } from './from-config.js'
import type { Paragraphs } from './messages.js'
import type { Core, IncidentRef, Op, WarRoomConfig, WarRoomDeps, WarRoomResult } from './model.js'
import { assemble, type Parts } from './parts.js'
import { Records } from './records.js'
import { review } from './review.js'

export * from './model.js'

/**
 * The core's public operations: makes Feishu reflect an incident (one chat per key, one pinned
 * card kept current, a green card and a `[已解决] ` rename at the end) and runs what people do
 * in it. Work for one key is serialised; its parts (core/parts.ts) do the rest.
 */
export class WarRoom {
  readonly config: WarRoomConfig
  private readonly client: FeishuClient
  private readonly store: IncidentStore
  private readonly logger: Logger
  private readonly now: () => number
  private readonly records: Records
  /** Its parts, each one concern (core/parts.ts). */
  private readonly p: Parts
  private readonly budget: NewChatBudget | undefined

  constructor(deps: WarRoomDeps) {
    this.client = deps.client
    this.store = deps.store ?? new MemoryStore()
    this.config = { ...DEFAULT_CONFIG, ...deps.config }
    this.logger = deps.logger ?? silentLogger
    this.now = deps.now ?? Date.now
    this.budget = deps.budget
    this.records = new Records(this.client, this.store, this.logger, deps.onRecord)
    const core: Core = {
      client: this.client,
      config: this.config,
      logger: this.logger,
      now: this.now,
      commands: deps.commands ?? COMMANDS,
    }
    this.p = assemble(core, deps, this.store, this.records)
  }

  private get t() {
    return this.p.messages.t
  }

  /** Opens, updates or resolves the war room for an incident, by its status. */
  async handle(input: Incident | IncidentInput): Promise<WarRoomResult> {
    const incident = parseIncident(input)
    const keyHash = hashKey(incident.key)
    // A critical incident's calls go ahead of other incidents' in the pacer's queues.
    const critical = incident.severity === 'critical'
    return this.records.run(incident.key, keyHash, critical ? 1 : 0, async (op) => {
      const record = await this.p.discovery.lookup(keyHash)
      // In a storm room: the room's lock and card (undefined when it is not, or no longer).
      const stormed = await this.p.storms.update(record, incident, op)
      if (stormed) return stormed
      if (incident.status === 'resolved') {
        if (!record) return this.records.none(incident.key, 'no open war room for this key')
        if (isStaleResolution(record, incident))
          return this.records.none(
            incident.key,
            'a late resolution of an earlier episode',
            record,
            op,
          )
        return this.p.flow.resolve(record, op, { incident })
      }
      if (record?.status === 'open') return this.p.flow.update(record, incident, op)
      const resolvedAt = record?.resolvedAt ?? 0
      if (
        record &&
        !record.stormOf &&
        this.config.reopenWindowMs > 0 &&
        this.now() - resolvedAt <= this.config.reopenWindowMs
      )
        return this.p.flow.reopen(record, incident, op)
      const wait = this.budget?.admit(incident)
      // Spent: a storm room gathers the rest of the route's (a critical incident is refused, to retry).
      if (wait !== undefined && this.config.stormRooms && incident.severity !== 'critical')
        return this.p.storms.join(incident, keyHash, op, record)
      if (wait !== undefined) throw new OpenRefused(wait)
      return this.p.flow.open(incident, keyHash, op, record)
    })
  }

  /** A person acknowledged the incident (a chat command or the card's button). */
  acknowledge(ref: IncidentRef, by: Person): Promise<WarRoomResult> {
    return this.asMember(ref, by, (record, op) => this.p.flow.acknowledge(record, by, op))
  }

  /** The source acknowledged (PagerDuty's `acknowledge`): as a /ack, in the source's name. */
  sourceAcknowledge(key: string, source: string): Promise<WarRoomResult> {
    const keyHash = hashKey(key)
    return this.records.run(key, keyHash, 0, async (op) => {
      const record = await this.p.discovery.lookup(keyHash)
      if (!record) return this.records.none(key, 'no open war room for this key')
      return this.p.flow.acknowledge(record, { name: source }, op)
    })
  }

  /** `/silence`: the group silenced in Alertmanager for a while, members only. */
  silence(ref: IncidentRef, by: Person, durationMs: number, note?: string) {
    return this.act(ref, by, false, (record) =>
      this.p.silencing.silence(record, by, durationMs, note),
    )
  }

  /** `/unsilence`: the silence ends now, members only. */
  unsilence(ref: IncidentRef, by: Person) {
    return this.act(ref, by, false, (record) => this.p.silencing.unsilence(record, by))
  }

  /** `/lead`, the card's Take command: `lead` (by default `by`) leads the response, members only. */
  takeLead(ref: IncidentRef, by: Person, lead: Person = by): Promise<WarRoomResult> {
    return this.act(ref, by, true, async (record, op) => {
      const refused =
        (await this.outsider(record, by, lead)) ?? (await this.p.roles.takeLead(record, lead, op))
      if (!refused) await this.p.attention.clear(record, op)
      return refused
    })
  }

  /** `/role <name> [@someone]`: a configured role (comms, scribe) to a member, members only. */
  assignRole(ref: IncidentRef, by: Person, role: string, person: Person = by) {
    return this.act(
      ref,
      by,
      true,
      async (record) =>
        (await this.outsider(record, by, person)) ?? this.p.roles.assign(record, role, person, by),
    )
  }

  /** `/bridge`, the card's Start a call: the incident's video meeting, reserved once; members only. */
  openBridge = (ref: IncidentRef, by: Person) =>
    this.act(ref, by, true, (record, op) => this.p.bridges.open(record, by, op))

  /** A key moment for the review (a 📌 reaction, `/note`), members only. */
  markMoment = (
    ref: IncidentRef,
    by: Person,
    moment: { text: string; messageId?: string; author?: Person },
  ) => this.act(ref, by, false, (record, op) => this.p.moments.mark(record, by, moment, op))

  /** `/fixed <what>`: what fixed it, for the review and the next firing; members only. */
  noteFix = (ref: IncidentRef, by: Person, text: string) =>
    this.act(ref, by, false, (record) => this.p.moments.fix(record, by, text))

  /** `/followup <text> [@owner] [due]`: a Feishu task for its owner (a member), listed in the review. */
  addFollowUp(ref: IncidentRef, by: Person, item: FollowUpInput) {
    return this.act(
      ref,
      by,
      false,
      async (record, op) =>
        (await this.outsider(record, by, item.owner)) ?? this.p.followUps.add(record, by, item, op),
    )
  }

  /** The chat and text of a message (a 📌 reaction's event names the message only). */
  messageOf = (messageId: string) => this.p.moments.lookup(messageId)

  /** Someone wrote in the war room: the chat is no longer time-sensitive for them. */
  async answered(ref: IncidentRef, by: Person): Promise<void> {
    const record = by.openId ? await this.find(ref) : undefined
    if (!record?.timeSensitive?.includes(by.openId!)) return
    await this.asMember(ref, by, async (fresh, op) => {
      if (!(await this.p.attention.clear(fresh, op, [by.openId!])))
        return this.records.none(fresh.key, 'not time-sensitive for them', fresh, op)
      await this.records.save(fresh)
      return this.records.result('updated', fresh, op)
    })
  }

  /** `/sev`: a person sets the severity, members only, while open. */
  setSeverity(ref: IncidentRef, by: Person, severity: Severity): Promise<WarRoomResult> {
    return this.act(ref, by, true, async (record, op) => {
      const refused = await this.p.triage.setSeverity(record, by, severity, op)
      if (!refused) await this.p.bridges.auto(record, op)
      return refused
    })
  }

  /** `/title`: a person renames the incident (its chat and card), members only. */
  retitle = (ref: IncidentRef, by: Person, title: string) =>
    this.act(ref, by, false, (record) => this.p.triage.retitle(record, by, title))

  /** `/invite`, `/page`: more people in the war room (paged: an in-app urgent notice too), members only. */
  bring = (ref: IncidentRef, by: Person, ids: string[], how: { page: boolean; note?: string }) =>
    this.act(ref, by, false, (record, op) => this.p.paging.bring(record, by, ids, how, op))

  /** `/update`: a status update posted, kept on the card, the next one's reminder reset; members only. */
  postUpdate = (ref: IncidentRef, by: Person, text: string) =>
    this.act(ref, by, true, async (record, op) => {
      await this.p.updates.post(record, by, text, op)
      return undefined
    })

  /** A member's change (`open`: only while the incident is open); `work` answers why nothing was done. */
  private act(
    ref: IncidentRef,
    by: Person,
    open: boolean,
    work: (record: IncidentRecord, op: Op) => Promise<string | undefined>,
  ): Promise<WarRoomResult> {
    return this.asMember(ref, by, async (record, op) => {
      if (open && record.status !== 'open')
        return this.records.none(record.key, 'the incident is already resolved', record)
      return this.changed(record, op, await work(record, op))
    })
  }

  /** Someone else named by a member (a lead, a role, an owner) must be in the war room too. */
  private async outsider(record: IncidentRecord, by: Person, other: Person) {
    return other !== by &&
      other.openId !== by.openId &&
      !(await this.p.members.isMember(record, other))
      ? this.t.notAMember
      : undefined
  }

  /** After a person's change: the card and the record, or why nothing was done. */
  private async changed(record: IncidentRecord, op: Op, refused: string | undefined) {
    if (refused) return this.records.none(record.key, refused, record, op)
    await this.p.cards.refresh(record, op)
    await this.records.save(record)
    return this.records.result('updated', record, op)
  }

  /** A person resolved the incident, with an optional note. */
  resolveBy(ref: IncidentRef, by: Person, note?: string): Promise<WarRoomResult> {
    return this.asMember(ref, by, (record, op) => this.p.storms.resolve(record, op, { by, note }))
  }

  /** `/split <n>` in a storm room: its incident n gets a war room of its own, members only. */
  split = (ref: IncidentRef, by: Person, n: number) =>
    this.act(ref, by, true, (record, op) => this.p.storms.split(record, n, op))

  /** Work a person does on an incident: only in a war room, and only as one of its members. */
  private async asMember(
    ref: IncidentRef,
    by: Person,
    work: (record: IncidentRecord, op: Op) => Promise<WarRoomResult>,
  ): Promise<WarRoomResult> {
    const keyHash = await this.p.discovery.keyHashFor(ref)
    if (!keyHash) return this.records.none('', this.t.notAWarRoom)
    return this.records.run('', keyHash, 0, async (op) => {
      const record = await this.p.discovery.lookup(keyHash)
      if (!record) return this.records.none('', 'unknown incident')
      if (!(await this.p.members.isMember(record, by)))
        return this.records.none(record.key, this.t.notAMember, record)
      return work(record, op)
    })
  }

  /** Posts a notice in the incident's open chat, if any; opens nothing (a cancelled run). */
  async notice(key: string, text: string, event?: string): Promise<WarRoomResult> {
    const keyHash = hashKey(key)
    return this.records.run(key, keyHash, 0, async (op) => {
      const record = await this.p.discovery.lookup(keyHash)
      if (record?.status !== 'open') return this.records.none(key, 'no open war room for this key')
      return this.p.flow.notice(record, text, event, op)
    })
  }

  /** `/postmortem` (and `review.document: auto` after a resolution): the episode's document, members only. */
  async postmortem(ref: IncidentRef, by?: Person): Promise<WarRoomResult> {
    const work = async (record: IncidentRecord, op: Op) =>
      this.changed(record, op, await this.p.postmortems.write(record, op))
    return by ? this.asMember(ref, by, work) : this.internal(ref, work)
  }

  /** review.dissolve_after: the resolved war room dissolved once its review is saved. */
  archive = (ref: IncidentRef, resolvedAt: number) =>
    this.internal(ref, async (record, op) => {
      const refused = await this.p.postmortems.archive(record, resolvedAt, op)
      if (refused) return this.records.none(record.key, refused, record, op)
      await this.records.save(record)
      return this.records.result('updated', record, op)
    })

  /** The product's own work on an incident (no person: a review, an archive), behind its lock. */
  private async internal(
    ref: IncidentRef,
    work: (r: IncidentRecord, op: Op) => Promise<WarRoomResult>,
  ) {
    const keyHash = (await this.find(ref))?.keyHash
    if (!keyHash) return this.records.none('', this.t.notAWarRoom)
    return this.records.run('', keyHash, -1, async (op) =>
      work((await this.p.discovery.lookup(keyHash))!, op),
    )
  }

  /** Posts a line in any chat the bot is in (Grafana's test notifications). */
  postTest = (chatId: string, text: string): Promise<void> => this.p.messages.postTest(chatId, text)

  /** The card as it stands now, for a card callback's answer. */
  async cardFor(ref: IncidentRef): Promise<Record<string, unknown> | undefined> {
    const record = await this.find(ref)
    return record ? this.p.cards.render(record) : undefined
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
    // Background work: its calls wait behind incidents' own. Then the document, with review.document: auto.
    const done = await withPriority(-1, () =>
      review(this.client, this.p.messages, this.config, record, outputs),
    )
    if (this.config.review?.document === 'auto' && record.status === 'resolved')
      await this.postmortem(ref)
    return done
  }

  /** Answers a person's message in the chat (command results). */
  reply = (id: string, text: string | Paragraphs, chatId?: string) =>
    this.p.messages.reply(id, text, chatId)

  /** /status: where the incident of this chat stands, as a reply to the asking message. */
  async status(ref: IncidentRef, messageId: string): Promise<IncidentRecord | undefined> {
    const record = await this.find(ref)
    await this.p.messages.reply(
      messageId,
      record ? this.p.messages.describe(record) : this.t.notAWarRoom,
      record?.chatId ?? ('chatId' in ref ? ref.chatId : undefined),
    )
    return record
  }

  /** The record behind a chat or key, for /status and the timeline. */
  async find(ref: IncidentRef): Promise<IncidentRecord | undefined> {
    const keyHash = await this.p.discovery.keyHashFor(ref)
    return keyHash ? this.p.discovery.lookup(keyHash) : undefined
  }

  /** The store's job queue (escalation steps), for the runner that claims them. */
  readonly jobs = () => this.store.jobs
  /** The store's change log, for change events. */
  readonly changes = () => this.store.changes

  /** A job's time came (a step, a reminder, a step's note): done unless it no longer applies. */
  async escalate(keyHash: string, kind: string, job: EscalationJob | ReminderJob) {
    // Held follow-ups at 0, not -1: their job holds the incident's lock while it posts, and a resolution waits for it.
    const priority = kind === ESCALATE ? 1 : kind === NOTE ? -1 : 0
    const noted = kind === NOTE ? await this.p.discovery.lookup(keyHash) : undefined
    if (noted) await withPriority(-1, () => this.p.escalations.notePost(noted, job as NoteJob))
    return this.records.run('', keyHash, priority, async (op) => {
      const record = await this.p.discovery.lookup(keyHash)
      // A job may end it (a storm room's last incident): its review follows as after any resolution.
      const ends = record?.status === 'open' ? 'resolved' : 'updated'
      if (!record || !(await this.p.escalations.act(record, kind, job, op)))
        return this.records.none(record?.key ?? '', 'no longer due', record, op)
      await this.records.save(record)
      return this.records.result(record.status === 'resolved' ? ends : 'updated', record, op)
    })
  }

  /** True the first time an event or click id is seen by any process sharing the store. */
  claimOnce = (id: string): Promise<boolean> => this.store.claimOnce(id)
  unclaim = (id: string): Promise<void> => this.store.unclaim(id)

  /** Waits for in-flight work (graceful shutdown). */
  idle = (): Promise<void> => this.records.idle()

  /** The record's version now (a repeat at the version it left needs no work): a shared store is asked. */
  recordVersion = (keyHash: string) => this.records.recordVersion(keyHash)

  /** Rebuilds a lost or new store from the marker chats the bot is in. */
  syncFromFeishu = (): Promise<number> => this.p.discovery.syncFromFeishu()
}
