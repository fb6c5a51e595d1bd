import { createHash } from 'node:crypto'
import type { CommandTable } from '../commands/table.js'
import type { AlertmanagerTarget, EscalationStep } from '../config/config.js'
import type { FeishuClient } from '../feishu/client.js'
import { FeishuError } from '../feishu/errors.js'
import type { Language } from '../i18n/index.js'
import type { Schedule } from '../model/oncall.js'
import type { WarRoomAction, WarRoomResult } from '../model/result.js'
import type { ImageFetcher } from '../outbound/images.js'
import type { IncidentRecord, IncidentStore } from '../store/store.js'
import { errorMessage } from '../util/errors.js'
import type { Logger } from '../util/log.js'
import type { NewChatBudget } from './admission.js'

/**
 * The core's shared vocabulary: configuration, results, references to an
 * incident, and what every part of the core is given (the client, the
 * config, a logger, the clock). The other core modules import from here,
 * never from warroom.ts.
 */

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
  /** The escalation steps for an incident's labels (its route's); none without. */
  escalationFor?: (labels: Record<string, string>) => EscalationStep[]
  /** The Alertmanager `/silence` uses for an incident's labels (its route's, or the global one). */
  alertmanagerFor?: (labels: Record<string, string>) => AlertmanagerTarget | undefined
  /** After an acknowledgement, a status nudge this often while it stays open (0: never). */
  remindEveryMs?: number
  /** The stakeholder feed chat for an incident with these labels (broadcast_chat), if any. */
  broadcastFor?: (labels: Record<string, string>) => string | undefined
  /** A reminder when nobody leads an open incident after this long (0: none). */
  leadReminderMs?: number
  /** The video bridge mode for an incident's labels (warroom.bridge, a route's own). */
  bridgeFor?: (labels: Record<string, string>) => 'auto' | 'button' | 'off'
  /** Changes this long before an opening, sharing one of `changesMatch`'s labels, go on its card. */
  changesWindowMs?: number
  changesMatch?: string[]
  /** The post-mortem document: at each resolution, on /postmortem, or never; and its folder. */
  review?: { document: 'auto' | 'command' | 'off'; folderToken?: string; dissolveAfterMs?: number }
  /** A new episode shows the earlier one ("last time this fired") when it resolved within this. */
  lastTimeWithinMs?: number
  /** When the new-chat budget is spent, non-critical incidents join their route's storm room. */
  stormRooms?: boolean
  /** An acknowledgement with no status update for this long expires (0: never). */
  ackExpiresMs?: number
  /** Roles besides the lead that /role may hand out (warroom.roles). */
  roles?: string[]
  /** A status update is due this often for critical and error incidents (0: never). */
  updateEveryMs?: number
  /** On-call schedules that escalation steps may name as oncall:<name>. */
  schedules?: Record<string, Schedule>
  /** The longest silence a person may set (silence.max_duration). */
  maxSilenceMs?: number
  /** Caps on urgent notices counted across replicas (warroom.urgent_budget; 0: none). */
  urgentBudget?: { perIncident: number; phonePerHour: number; smsPerHour: number }
  /** Caps on urgent notices (config `urgent`); none without. */
  urgentCaps?: { perIncidentPerHour: number; paidPerHour: number }
}

/** Feishu chat names longer than this are refused or cut (UNVERIFIED limit; see the sandbox). */
export const CHAT_NAME_MAX = 60

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
  /** A budget of new war rooms per minute (the receiver's); none means no limit. */
  budget?: NewChatBudget
  /** The chat commands whose buttons the card shows (default: src/commands/index.ts). */
  commands?: CommandTable
  /** Called after every change to a record (metrics, the receiver's timeline). */
  onRecord?: (record: IncidentRecord) => void
}

/** Incident events kept per record (the timeline shows them). */
export type { IncidentRef, WarRoomAction, WarRoomResult } from '../model/result.js'

export const MAX_EVENTS = 500

/** What every part of the core works with. */
export interface Core {
  client: FeishuClient
  config: WarRoomConfig
  logger: Logger
  now: () => number
  /** The chat commands, for the card's buttons. */
  commands: CommandTable
}

/** Warnings and failed members gathered during one operation. */
export interface Op {
  warnings: string[]
  failedMembers: Array<{ id: string; reason: string }>
  /** People this operation put in a chat, of any id type. */
  invited?: number
  /** Set when an opened chat has no person in it. */
  empty?: boolean
}

export const newOp = (): Op => ({ warnings: [], failedMembers: [] })

/** The result of an operation on a record (its Feishu call count is filled in afterwards). */
export function resultOf(
  action: WarRoomAction,
  record: IncidentRecord,
  op: Op,
  chatUrl: string,
): WarRoomResult {
  return {
    action,
    key: record.key,
    chatId: record.chatId,
    chatUrl,
    ...(record.cardMessageId ? { cardMessageId: record.cardMessageId } : {}),
    failedMembers: op.failedMembers,
    feishuCalls: 0,
    warnings: op.warnings,
    version: record.version,
    ...(op.empty ? { empty: true } : {}),
  }
}

export function reasonOf(error: unknown): string {
  if (error instanceof FeishuError)
    return `Feishu code ${error.code}${error.hint ? `: ${error.hint}` : ''}`
  return errorMessage(error)
}

export function sha(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

/** Feishu uuids are at most 50 characters: a prefix and 40 hex digits. */
export function deriveUuid(...parts: string[]): string {
  return `wr${sha(parts.join('|')).slice(0, 40)}`
}

export { errorMessage }

/**
 * What this process wrote last of each record: one unchanged since (the same
 * content at the same version) is not written again; a storm's records are
 * saved at every step.
 */
export class WrittenRecords {
  private readonly last = new Map<string, { content: string; version: number }>()

  unchanged(record: IncidentRecord): boolean {
    const last = this.last.get(record.keyHash)
    return (
      last?.version === record.version &&
      last.content === sha(JSON.stringify({ ...record, version: 0 }))
    )
  }

  wrote(record: IncidentRecord): void {
    if (this.last.size > 10_000) this.last.delete(this.last.keys().next().value!)
    this.last.set(record.keyHash, {
      content: sha(JSON.stringify({ ...record, version: 0 })),
      version: record.version,
    })
  }
}
