import { createHash } from 'node:crypto'
import { mkdir, readdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Change } from '../model/change.js'
import type { Incident, Person, Severity } from '../model/incident.js'
import type { PlannedStep } from '../model/window.js'
import { errorMessage } from '../util/errors.js'
import { SeenIds } from '../util/seen-ids.js'
import { type ChangeLog, fileChanges, LocalChangeLog } from './changes.js'
import { fileJobs, takeLock, writeAtomically } from './files.js'
import { type JobQueue, LocalJobQueue } from './jobs.js'

/** One entry of an incident's own history (the timeline merges it with the chat's). */
export interface IncidentEvent {
  type: 'opened' | 'updated' | 'acknowledged' | 'resolved' | 'reopened'
  at: number
  by?: Person
  detail?: string
}

/** What the product remembers about one incident and its chat. */
export interface StormEntry {
  n: number
  keyHash: string
  key: string
  title: string
  severity: Severity
  status: 'firing' | 'resolved'
  at: number
  /** Its own war room, once split out (/split, the card's button). */
  chatId?: string
}

export interface IncidentRecord {
  /** sha256 of the incident key (hex, 32 chars): the store's key and the chat marker's. */
  keyHash: string
  /** The key itself; empty when the record was rebuilt from a chat's marker. */
  key: string
  chatId: string
  /** The chat's name without the resolved prefix. */
  chatName: string
  /** The title the chat was named after; later titles change the card, not the name. */
  openTitle?: string
  /** A severity a person set (/sev): later notifications from the source do not undo it. */
  manualSeverity?: Severity
  cardMessageId?: string
  status: 'open' | 'resolved'
  openedAt: number
  resolvedAt?: number
  ack?: { by: Person; at: number }
  resolvedBy?: Person
  /** Status updates (/update), the latest last; `next` when the next one is due. */
  updates?: Array<{ by: Person; at: number; text: string; next?: number }>
  /** The incident's message in the stakeholder feed (broadcast_chat), whose thread follows it. */
  broadcast?: { chatId: string; messageId: string }
  /** Who leads the response (/lead, the card's Take command), since when. */
  lead?: { by: Person; at: number }
  /** The episode's post-mortem document, once created (written before it is filled: one per episode). */
  postmortem?: {
    documentId: string
    url: string
    openedAt: number
    filled?: boolean
    shared?: boolean
    /** The chat tab opening it: its id, or 'refused' (named in the chat once). */
    tab?: string
  }
  /** A storm room: the incidents that joined it instead of a room of their own, numbered from 1. */
  storm?: { route: string; entries: StormEntry[] }
  /** An incident in a storm room: that room's keyHash (its chatId is the storm room's). */
  stormOf?: string
  /** Follow-ups held while messages were backlogged (a storm): posted merged, by a job or before the resolution. */
  pendingFollowUps?: Array<{ at: number; paragraphs: Array<Array<Record<string, unknown>>> }>
  /** When the war room was dissolved (review.dissolve_after). */
  dissolvedAt?: number
  /** Follow-ups (/followup): the Feishu tasks made for them. */
  followUps?: Array<{
    guid: string
    text: string
    owner: Person
    at: number
    due?: number
    url?: string
  }>
  /** Key moments for the review (📌 reactions, /note), oldest first. */
  /** `by` marked it; `author` wrote the marked message (a 📌 on someone else's words). */
  moments?: Array<{ at: number; by: Person; text: string; messageId?: string; author?: Person }>
  /** What fixed it (a person's note, or the source's resolution), for the next time it fires. */
  resolutionNote?: string
  /** The resolvedAt whose review summary rode in the resolution message (a storm's backlog). */
  summaryPostedAt?: number
  /** The earlier episode of this key, when it resolved within the look-back: shown on the card. */
  lastTime?: {
    openedAt: number
    resolvedAt: number
    chatId: string
    note?: string
    postmortemUrl?: string
    /** Set when it was another incident of the same family (its title). */
    title?: string
  }
  /** The changes (deploys) of the window before it opened that touch it, newest first. */
  changes?: Change[]
  /** open_ids for whom the chat is marked time-sensitive (即时提醒) now. */
  timeSensitive?: string[]
  /** The incident's video meeting (warroom.bridge, /bridge); `released` once given back. */
  bridge?: {
    reserveId: string
    url: string
    appLink?: string
    meetingNo?: string
    owner: string
    at: number
    endsAt: number
    released?: number
    /** The meeting held in it, learnt at release, and its notes document if Feishu answered one. */
    meetingId?: string
    notesToken?: string
  }
  /** Who holds each further role (warroom.roles, /role), since when. */
  roles?: Record<string, { by: Person; at: number }>
  /** open_ids in the chat that the card mentions. */
  members: string[]
  /** When this episode's critical buzz went out (once per episode, also when its first attempt failed). */
  paged?: number
  /** open_ids the configuration names (routes, schedules): the only ones buzzed. Absent: all members. */
  pageable?: string[]
  /** Member ids as given (emails, ids) that were invited or tried. */
  invited: string[]
  failedMembers: Array<{ id: string; reason: string }>
  imageKeys: string[]
  /** The image URLs those keys came from. */
  imageUrls: string[]
  /** The latest incident as reported (absent for rebuilt records until the next report). */
  incident?: Incident
  /** Hash of the last card sent or patched: an identical one is not sent again. */
  /** The card is sent but its top notice and pin not yet tried (a crash between): the next change does them. */
  headerPending?: boolean
  cardHash?: string
  /** Events already announced, so a repeat is not announced twice. */
  seenEvents: string[]
  previousChatId?: string
  /** The silence `/silence` created in Alertmanager, while it stands. */
  silence?: { id: string; endsAt: number; url: string }
  /** The escalation of the current episode: its steps, when they started counting, those fired. */
  escalation?: {
    startedAt: number
    /** The policy's steps as planned (repeats flattened; `until`, `when` as configured). */
    steps: PlannedStep[]
    fired: number[]
    /** When the last step fired: steps caught up after a gap are spaced from it. */
    lastFiredAt?: number
  }
  events: IncidentEvent[]
  /** Bumped on every write; lets a store detect lost updates. */
  version: number
}

/**
 * Where records live. One receiver uses FileStore; several share PostgreSQL
 * (src/postgres/). The GitHub Action keeps no state and finds chats through
 * their description marker instead.
 */
export interface IncidentStore {
  /** True when other processes write to the same store: what this one remembers is not the truth. */
  readonly shared: boolean
  get(keyHash: string): Promise<IncidentRecord | undefined>
  findByChat(chatId: string): Promise<IncidentRecord | undefined>
  /**
   * Writes a record. A shared store writes only over the version before it
   * (compare-and-set) and throws StaleRecordError otherwise; a record of
   * version 0 (rebuilt from a chat marker) is written only where none is.
   */
  put(record: IncidentRecord): Promise<void>
  /** Open records and those resolved since `resolvedSince` (all of them without it). */
  list(options?: { resolvedSince?: number }): Promise<IncidentRecord[]>
  /** The latest record of an incident family (route and alert name) resolved since `since`. */
  lastResolved(family: string, since: number): Promise<IncidentRecord | undefined>
  /** True when the store holds nothing yet (a first start, or a lost data directory). */
  isEmpty(): Promise<boolean>
  /** A record's version without reading the record: the receiver's repeat fast path. */
  version(keyHash: string): Promise<number | undefined>
  /** Runs `work` holding the incident's lock in every process that shares the store. */
  withLock<T>(keyHash: string, work: () => Promise<T>): Promise<T>
  /** True the first time an id (a Feishu event, a click) is claimed in any process sharing the store. */
  claimOnce(id: string): Promise<boolean>
  /** Gives a claimed id back (its work failed): the same click may be tried again. */
  unclaim(id: string): Promise<void>
  /** Timers and background work (escalation steps), claimed once across the processes sharing it. */
  readonly jobs: JobQueue
  /** Changes (deploys, config pushes) reported by change events, shared like the records. */
  readonly changes: ChangeLog
  /** Releases what the store holds (a lock, connections). */
  close?(): Promise<void>
}

/** A shared store refused a write made from an outdated record (another process wrote first). */
export class StaleRecordError extends Error {
  override readonly name = 'StaleRecordError'
}

/** The store cannot be reached or is busy: the work may succeed when retried. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError'
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 32)
}

const clone = <T>(value: T): T => structuredClone(value)

export class MemoryStore implements IncidentStore {
  readonly shared = false
  jobs: JobQueue = new LocalJobQueue()
  changes: ChangeLog = new LocalChangeLog()
  protected readonly records = new Map<string, IncidentRecord>()
  protected readonly byChat = new Map<string, string>()
  /** Each family's latest resolved record: one entry per family, not per record. */
  private readonly families = new Map<string, { keyHash: string; resolvedAt: number }>()
  private readonly seen = new SeenIds()

  async version(keyHash: string) {
    return this.records.get(keyHash)?.version
  }

  /** One process: the war room's own mutex already serialises an incident's work. */
  withLock<T>(_keyHash: string, work: () => Promise<T>): Promise<T> {
    return work()
  }

  async claimOnce(id: string) {
    return !this.seen.check(id)
  }

  async unclaim(id: string) {
    this.seen.forget(id)
  }

  async get(keyHash: string) {
    const r = this.records.get(keyHash)
    return r && clone(r)
  }

  async findByChat(chatId: string) {
    const keyHash = this.byChat.get(chatId)
    return keyHash ? this.get(keyHash) : undefined
  }

  async put(record: IncidentRecord) {
    this.remember(clone(record))
  }

  async list(_options?: { resolvedSince?: number }) {
    return [...this.records.values()].map(clone)
  }

  async isEmpty() {
    return this.records.size === 0
  }

  async lastResolved(family: string, since: number) {
    const last = this.families.get(family)
    if (!last || last.resolvedAt < since) return undefined
    const record = await this.get(last.keyHash)
    // Reopened since (a new episode of that key): its earlier resolution is no longer on record.
    return record?.status === 'resolved' && record.incident?.family === family ? record : undefined
  }

  protected remember(record: IncidentRecord): void {
    this.records.set(record.keyHash, record)
    // An incident in a storm room shares the room's chat: the chat is the room's record.
    if (!record.stormOf) this.byChat.set(record.chatId, record.keyHash)
    this.indexFamily(record)
  }

  protected indexFamily(record: IncidentRecord): void {
    const family = record.incident?.family
    if (!family || record.status !== 'resolved' || record.resolvedAt === undefined) return
    const known = this.families.get(family)
    if (!known || known.resolvedAt <= record.resolvedAt)
      this.families.set(family, { keyHash: record.keyHash, resolvedAt: record.resolvedAt })
  }
}

/**
 * One JSON file per incident under `<dir>/incidents/`, written atomically
 * (temporary file, fsync, rename), so a crash leaves either the old or the new
 * record, never half of one. Open incidents are kept in memory; resolved ones are
 * read from their file when needed.
 */
export class FileStore extends MemoryStore {
  private lock: { path: string; stop: () => Promise<void> } | undefined
  /** Resolved records, on disk only. */
  private readonly resolved = new Set<string>()

  private constructor(private readonly dir: string) {
    super()
  }

  /**
   * Opens the store in `dataDir`. With `lock`, refuses a data directory
   * another live process holds (two receivers on one directory diverge); a
   * lock left by a killed process is taken over.
   */
  static async open(dataDir: string, options: { lock?: boolean } = {}): Promise<FileStore> {
    const dir = join(dataDir, 'incidents')
    await mkdir(dir, { recursive: true })
    const store = new FileStore(dir)
    if (options.lock) store.lock = await takeLock(join(dataDir, 'warroom.lock'))
    store.jobs = await fileJobs(dataDir)
    store.changes = await fileChanges(dataDir)
    for (const name of await readdir(dir)) {
      const path = join(dir, name)
      if (name.endsWith('.tmp')) {
        // A write that crashed before its rename: the previous file is intact.
        await rm(path, { force: true })
        continue
      }
      if (!name.endsWith('.json')) continue
      try {
        const record = JSON.parse(await readFile(path, 'utf8')) as IncidentRecord
        if (record && typeof record.keyHash === 'string' && typeof record.chatId === 'string')
          store.remember(record)
      } catch (error) {
        throw new Error(
          `Corrupt incident record ${path}: ${errorMessage(error)}. Move it away to continue.`,
        )
      }
    }
    return store
  }

  /** Releases the data directory's lock. */
  async close(): Promise<void> {
    if (!this.lock) return
    await this.lock.stop()
    await rm(this.lock.path, { force: true })
    this.lock = undefined
  }

  override async put(record: IncidentRecord): Promise<void> {
    if (!/^[0-9a-f]{32}$/.test(record.keyHash))
      throw new Error(`invalid record keyHash ${record.keyHash}`)
    await writeAtomically(join(this.dir, `${record.keyHash}.json`), JSON.stringify(record))
    await super.put(record)
  }

  /**
   * Resolved records leave memory: only their chat index stays, and the
   * record is read from its file when asked for (a timeline, a reopen).
   * Open incidents, the ones that change, stay in memory.
   */
  protected override remember(record: IncidentRecord): void {
    if (record.status !== 'resolved') {
      this.resolved.delete(record.keyHash)
      super.remember(record)
      return
    }
    this.records.delete(record.keyHash)
    this.resolved.add(record.keyHash)
    if (!record.stormOf) this.byChat.set(record.chatId, record.keyHash)
    this.indexFamily(record)
  }

  override async get(keyHash: string): Promise<IncidentRecord | undefined> {
    const inMemory = await super.get(keyHash)
    if (inMemory || !this.resolved.has(keyHash)) return inMemory
    return JSON.parse(await readFile(join(this.dir, `${keyHash}.json`), 'utf8')) as IncidentRecord
  }

  override async list(_options?: { resolvedSince?: number }): Promise<IncidentRecord[]> {
    const out = await super.list()
    for (const keyHash of this.resolved) {
      const record = await this.get(keyHash)
      if (record) out.push(record)
    }
    return out
  }

  override async isEmpty(): Promise<boolean> {
    return (await super.isEmpty()) && this.resolved.size === 0
  }

  /** Records held in memory (open incidents), for tests and metrics. */
  get inMemory(): number {
    return this.records.size
  }
}

/** Bytes the file store wrote (records, jobs, the lock), for the metric. */
export { type ChangeLog, LocalChangeLog } from './changes.js'
export { fileStoreWrites, StoreLockedError } from './files.js'
