import type { Incident, Severity } from '../model/incident.js'
import type { IncidentRecord } from '../store/store.js'

/**
 * A resolution whose alerts all started before this chat's episode began is
 * a late copy for an earlier episode (an HA peer, a retry): it must not close
 * the current one.
 */
export function isStaleResolution(record: IncidentRecord, incident: Incident): boolean {
  if (record.status !== 'open' || incident.items.length === 0) return false
  return incident.items.every(
    (i) => i.startedAt !== undefined && Date.parse(i.startedAt) + 1000 < record.openedAt,
  )
}

/** A resolved notification may list only the resolved alerts; keep what else the card knew. */
/**
 * What the card shows after a resolution: everything the incident had, with
 * what the resolving report adds. A bare "resolved" (a key and a title) must
 * not wipe the severity, links, fields or responders.
 */
export function mergeResolved(
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

/** The record of a new episode: its chat, as opened now. */
export function newEpisode(e: {
  keyHash: string
  incident: Incident
  chatId: string
  chatName: string
  openedAt: number
  now: number
  members: string[]
  pageable: string[]
  failed: Array<{ id: string; reason: string }>
  previous?: IncidentRecord
  /** How far back the earlier episode is shown on the card ("last time this fired"). */
  lastTimeWithinMs?: number
  /** The last resolved incident of its family (route and alert name), when its key has none. */
  similar?: IncidentRecord | undefined
}): IncidentRecord {
  const within = (r: IncidentRecord | undefined) =>
    r?.resolvedAt !== undefined && e.now - r.resolvedAt <= (e.lastTimeWithinMs ?? 0)
  const earlier = within(e.previous) ? e.previous : within(e.similar) ? e.similar : undefined
  return {
    keyHash: e.keyHash,
    key: e.incident.key,
    chatId: e.chatId,
    chatName: e.chatName,
    openTitle: e.incident.title,
    status: 'open',
    openedAt: e.openedAt,
    members: e.members,
    pageable: e.pageable,
    invited: [...e.incident.members],
    failedMembers: [...e.failed],
    imageKeys: [],
    imageUrls: [],
    incident: e.incident,
    seenEvents: e.incident.event ? [e.incident.event] : [],
    events: [{ type: 'opened', at: e.now, detail: e.incident.title }],
    // A new episode of a stored incident writes over its record: from the version it has.
    version: e.previous?.version ?? 0,
    ...(e.previous ? { previousChatId: e.previous.chatId } : {}),
    ...(earlier ? { lastTime: lastTimeOf(earlier, earlier !== e.previous) } : {}),
  }
}

/** What the card says of an earlier resolution: when, how long, what fixed it, its chat and document. */
function lastTimeOf(r: IncidentRecord, similar: boolean): NonNullable<IncidentRecord['lastTime']> {
  const pm = r.postmortem?.openedAt === r.openedAt ? r.postmortem : undefined
  return {
    openedAt: r.openedAt,
    resolvedAt: r.resolvedAt ?? r.openedAt,
    chatId: r.chatId,
    ...(r.resolutionNote ? { note: r.resolutionNote } : {}),
    ...(pm ? { postmortemUrl: pm.url } : {}),
    ...(similar ? { title: r.openTitle ?? r.incident?.title ?? r.chatName } : {}),
  }
}
