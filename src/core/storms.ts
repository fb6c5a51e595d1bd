import { type Incident, type Person, SEVERITY_RANK, type Severity } from '../model/incident.js'
import { safePlainText, truncate } from '../render/text.js'
import type { JobQueue } from '../store/jobs.js'
import { hashKey, type IncidentRecord, type StormEntry } from '../store/store.js'
import type { Cards } from './cards.js'
import type { Discovery } from './discovery.js'
import type { Flow } from './flow.js'
import type { Messages } from './messages.js'
import type { Core, Op, WarRoomResult } from './model.js'
import type { Records } from './records.js'

/** The job that brings a storm room's card up to date (at most one a second). */
export const STORM_SYNC = 'storm-sync'

/**
 * Storm rooms (intake.storm_rooms): when the new-chat budget is spent, a
 * non-critical incident joins its route's storm room instead of being
 * refused. The room is a war room of its own (one per route and storm)
 * whose card lists the incidents in it; each keeps its own record (key,
 * events, resolution) with `stormOf` pointing at the room. Whatever changes
 * an incident in a room holds the room's lock (taken inside the incident's,
 * never the other way round), so the room and its incidents change together.
 */
export class Storms {
  constructor(
    private readonly core: Core,
    private readonly records: Records,
    private readonly discovery: Discovery,
    private readonly flow: Flow,
    private readonly cards: Cards,
    private readonly messages: Messages,
    private readonly jobs: JobQueue,
  ) {}

  /** The budget is spent: the incident joins (or opens) its route's storm room. */
  join(incident: Incident, keyHash: string, op: Op, previous?: IncidentRecord) {
    const stormKey = `storm:${incident.source}:${incident.route ?? 'default'}`
    const stormHash = hashKey(stormKey)
    return this.records.locked(stormHash, async () => {
      const found = await this.discovery.lookup(stormHash)
      const open = found?.status === 'open' && found.storm ? found : undefined
      const entries = [...(open?.storm?.entries ?? [])]
      const now = this.core.now()
      const entry: StormEntry = {
        n: (entries[entries.length - 1]?.n ?? 0) + 1,
        keyHash,
        key: incident.key,
        title: truncate(incident.title, 200),
        severity: incident.severity,
        status: 'firing',
        at: now,
      }
      entries.push(entry)
      let storm: IncidentRecord
      if (open) {
        // The room's card and line follow within a second, for every incident that joined meanwhile.
        open.storm = { route: open.storm!.route, entries }
        await this.records.save(open)
        await this.later(open)
        storm = open
      } else {
        const room = this.incidentOf(stormKey, incident, entries)
        await this.flow.open(room, stormHash, op, found)
        storm = (await this.discovery.lookup(stormHash))!
        storm.storm = { route: incident.route ?? 'default', entries }
        await this.cards.refresh(storm, op) // its split buttons
        await this.records.save(storm)
      }
      const member: IncidentRecord = {
        keyHash,
        key: incident.key,
        chatId: storm.chatId,
        chatName: storm.chatName,
        openTitle: incident.title,
        status: 'open',
        openedAt: now,
        members: [],
        invited: [],
        failedMembers: [],
        imageKeys: [],
        imageUrls: [],
        incident,
        seenEvents: incident.event ? [incident.event] : [],
        events: [{ type: 'opened', at: now, detail: `in the storm room (#${entry.n})` }],
        version: previous?.version ?? 0,
        stormOf: stormHash,
      }
      await this.records.save(member)
      return { ...this.records.result('opened', member, op), storm: stormKey }
    })
  }

  /**
   * A notification for an incident in a storm room: its record and its line
   * on the room's card; the room resolves when none of its incidents is open.
   * Undefined when it left the room meanwhile (split out): the caller's flow applies.
   */
  async update(member: IncidentRecord | undefined, incident: Incident, op: Op) {
    if (!member?.stormOf || member.status !== 'open') return undefined
    return this.records.locked(member.stormOf, async (): Promise<WarRoomResult | undefined> => {
      const fresh = await this.discovery.lookup(member.keyHash)
      const storm = fresh?.stormOf ? await this.discovery.lookup(fresh.stormOf) : undefined
      const entry = storm?.storm?.entries.find((e) => e.keyHash === member.keyHash)
      if (!fresh || !storm || !entry || fresh.status !== 'open') return undefined
      const resolved = incident.status === 'resolved'
      const now = this.core.now()
      const changed =
        resolved ||
        entry.title !== truncate(incident.title, 200) ||
        entry.severity !== incident.severity
      fresh.incident = incident
      if (incident.event) fresh.seenEvents = [...fresh.seenEvents, incident.event].slice(-50)
      if (resolved) this.resolveMember(fresh, entry, now)
      entry.title = truncate(incident.title, 200)
      entry.severity = incident.severity
      if (changed) fresh.events.push({ type: 'updated', at: now, detail: 'in the storm room' })
      await this.records.save(fresh)
      // Raised to critical: a room of its own at once, as a critical incident always has.
      if (!resolved && incident.severity === 'critical') {
        await this.split(storm, entry.n, op)
        await this.records.save(storm)
        return this.records.result('updated', (await this.discovery.lookup(fresh.keyHash))!, op)
      }
      if (changed) {
        await this.records.save(storm)
        await this.later(storm)
      }
      const action = resolved ? 'resolved' : changed ? 'updated' : 'none'
      return { ...this.records.result(action, fresh, op), storm: storm.key }
    })
  }

  /** A person resolved a war room; a storm room's incidents still in it resolve with it. */
  async resolve(storm: IncidentRecord, op: Op, how: { by: Person; note?: string | undefined }) {
    if (!storm.storm || storm.status !== 'open') return this.flow.resolve(storm, op, how)
    const now = this.core.now()
    for (const entry of storm.storm!.entries) {
      if (entry.status !== 'firing' || entry.chatId) continue
      const member = await this.discovery.lookup(entry.keyHash)
      if (member?.stormOf) {
        this.resolveMember(member, entry, now, how.by)
        await this.records.save(member)
      } else entry.status = 'resolved'
    }
    storm.incident = this.incidentOf(storm.key, storm.incident!, storm.storm!.entries)
    return this.flow.resolve(storm, op, how)
  }

  /** `/split <n>`, the card's button: the storm room's incident n gets a war room of its own. */
  async split(storm: IncidentRecord, n: number, op: Op): Promise<string | undefined> {
    const t = this.messages.t
    if (!storm.storm) return t.stormNotAStorm
    const entry = storm.storm.entries.find((e) => e.n === n)
    if (entry?.status !== 'firing' || entry.chatId) return t.stormNoSuch(n)
    const member = await this.discovery.lookup(entry.keyHash)
    if (!member?.stormOf || !member.incident) return t.stormNoSuch(n)
    const opened = await this.flow.open(member.incident, member.keyHash, op, member)
    entry.chatId = opened.chatId!
    await this.messages.post(
      storm,
      [
        [
          { tag: 'text', text: t.stormSplit(n, safePlainText(entry.title)) },
          { tag: 'a', text: t.stormOpen, href: this.core.client.chatLink(entry.chatId) },
        ],
      ],
      `split:${storm.openedAt}:${n}`,
    )
    // Nothing left in the room: it resolves in its job, whose result brings the review.
    const room = this.incidentOf(storm.key, storm.incident!, storm.storm.entries)
    if (room.status === 'resolved') await this.later(storm)
    else await this.flow.update(storm, room, op)
    return undefined
  }

  /** The STORM_SYNC job: the room's card and line brought to its incidents' state; false when resolved. */
  async synced(storm: IncidentRecord, op: Op): Promise<boolean> {
    if (!storm.storm || storm.status !== 'open') return false
    await this.sync(storm, storm.incident!, op)
    return true
  }

  /** The room's card and follow-ups brought to its incidents' state; resolved when none is left. */
  private async sync(storm: IncidentRecord, latest: Incident, op: Op) {
    const room = this.incidentOf(storm.key, latest, storm.storm!.entries)
    if (room.status === 'resolved') await this.flow.resolve(storm, op, { incident: room })
    else await this.flow.update(storm, room, op)
  }

  /** One sync a second at most: a storm room's card takes 5 patches a second, its incidents come faster. */
  private async later(storm: IncidentRecord) {
    const second = Math.floor(this.core.now() / 1000) + 1
    await this.jobs.schedule({
      id: `${STORM_SYNC}:${storm.keyHash}:${second}`,
      kind: STORM_SYNC,
      keyHash: storm.keyHash,
      dueAt: second * 1000,
      data: {},
    })
  }

  private resolveMember(member: IncidentRecord, entry: StormEntry, at: number, by?: Person) {
    entry.status = 'resolved'
    member.status = 'resolved'
    member.resolvedAt = at
    if (by) member.resolvedBy = by
    member.events.push({ type: 'resolved', at, ...(by ? { by } : {}), detail: 'in the storm room' })
  }

  /** The room as an incident: its incidents as items, counts by severity, the worst open one's severity. */
  private incidentOf(key: string, latest: Incident, entries: StormEntry[]): Incident {
    const t = this.messages.t
    const inRoom = entries.filter((e) => !e.chatId)
    const open = inRoom.filter((e) => e.status === 'firing')
    const counts = new Map<Severity, number>()
    for (const e of open) counts.set(e.severity, (counts.get(e.severity) ?? 0) + 1)
    const worst = [...counts.keys()].sort((a, b) => SEVERITY_RANK[b] - SEVERITY_RANK[a])[0]
    const route = latest.route ?? 'default'
    return {
      key,
      title: t.stormTitle(route),
      status: open.length ? 'firing' : 'resolved',
      severity: worst ?? 'warning',
      summary: t.stormSummary(open.length, entries.length),
      source: latest.source,
      fields: [...counts].map(([severity, count]) => ({
        name: t.severityNames[severity],
        value: String(count),
      })),
      items: entries
        .slice(-1000)
        .reverse()
        .map((e) => ({
          id: String(e.n),
          title: `#${e.n} ${e.title}${e.chatId ? t.stormMoved : ''}`,
          status: e.status === 'firing' && !e.chatId ? 'firing' : 'resolved',
          labels: {},
          startedAt: new Date(e.at).toISOString(),
          ...(e.chatId ? { url: this.core.client.chatLink(e.chatId) } : {}),
        })),
      links: [],
      members: latest.members,
      ...(latest.pageable ? { pageable: latest.pageable } : {}),
      images: [],
      labels: {},
      route,
    }
  }
}
