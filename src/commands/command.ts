/**
 * What a chat command or card button is (one file each in this folder, listed
 * in index.ts): its words in both languages, who may run it, its /help line,
 * its card button and toast, and what it does through the war room's
 * operations. Modelled on grafana/oncall's Slack scenario steps.
 */
import type { Language } from '../i18n/index.js'
import type { Person, Severity } from '../model/incident.js'
import type { IncidentRef, WarRoomResult } from '../model/result.js'

/** The war room's operations a command may use (the core's WarRoom provides them). */
export interface Room {
  acknowledge(ref: IncidentRef, by: Person): Promise<WarRoomResult>
  resolveBy(ref: IncidentRef, by: Person, note?: string): Promise<WarRoomResult>
  silence(ref: IncidentRef, by: Person, durationMs: number, note?: string): Promise<WarRoomResult>
  unsilence(ref: IncidentRef, by: Person): Promise<WarRoomResult>
  setSeverity(ref: IncidentRef, by: Person, severity: Severity): Promise<WarRoomResult>
  retitle(ref: IncidentRef, by: Person, title: string): Promise<WarRoomResult>
  postUpdate(ref: IncidentRef, by: Person, text: string): Promise<WarRoomResult>
  bring(
    ref: IncidentRef,
    by: Person,
    ids: string[],
    how: { page: boolean; note?: string },
  ): Promise<WarRoomResult>
  /** Makes `lead` (by default `by`) the incident's lead (a chat manager; the previous lead stays a member). */
  takeLead(ref: IncidentRef, by: Person, lead?: Person): Promise<WarRoomResult>
  /** What fixed it (the resolution note), for the review and the next firing. */
  noteFix(ref: IncidentRef, by: Person, text: string): Promise<WarRoomResult>
  /** A follow-up: a Feishu task for its owner, listed in the review. */
  addFollowUp(
    ref: IncidentRef,
    by: Person,
    item: { text: string; owner: Person; due?: number; messageId?: string },
  ): Promise<WarRoomResult>
  /** Writes the episode's post-mortem document (once) and links it. */
  postmortem(ref: IncidentRef, by: Person): Promise<WarRoomResult>
  /** Marks a key moment for the review (`/note`, a 📌 reaction). */
  markMoment(
    ref: IncidentRef,
    by: Person,
    moment: { text: string; messageId?: string },
  ): Promise<WarRoomResult>
  /** Reserves (once) the incident's video meeting and posts it. */
  openBridge(ref: IncidentRef, by: Person): Promise<WarRoomResult>
  /** In a storm room: incident n gets a war room of its own. */
  split(ref: IncidentRef, by: Person, n: number): Promise<WarRoomResult>
  /** Gives a configured role (`warroom.roles`) to `person` (by default `by`). */
  assignRole(ref: IncidentRef, by: Person, role: string, person?: Person): Promise<WarRoomResult>
  /** Posts the status as a reply to the message; the record's key, if it is a war room. */
  status(ref: IncidentRef, messageId: string): Promise<{ key: string } | undefined>
  find(ref: IncidentRef): Promise<{ key: string } | undefined>
  reply(messageId: string, text: string, chatId?: string): Promise<unknown>
}

export interface CommandContext {
  room: Room
  ref: IncidentRef
  by: Person
  /** The chat message it came in (replies go under it); absent for a card button. */
  messageId?: string
  language: Language
  /** Every command, for /help. */
  commands: ReadonlyArray<ChatCommand>
}

/** What the card knows when it decides which buttons to show. */
export interface ButtonState {
  resolved: boolean
  acknowledged: boolean
  /** Someone leads the response. */
  led: boolean
  /** `/silence` can reach an Alertmanager for this incident. */
  canSilence: boolean
  silenced: boolean
  /** A video bridge may be started from the card (warroom.bridge: auto or button) and is not open. */
  canBridge: boolean
  /** A storm room's open incidents that get a button each. */
  storm?: Array<{ n: number; title: string }>
}

export type Args = Record<string, unknown>

export interface ChatCommand<A extends Args = Args> {
  /** What the card's button sends as `op`, and the command's name in logs and metrics. */
  name: string
  /** The words that call it, in both languages (`ack`, `确认`); matched whole, case-insensitive. */
  words: readonly string[]
  /** Who may run it: `member` (of the war room; the core's operations refuse anyone else) or `anyone`. */
  who: 'member' | 'anyone'
  /** Its line in /help. */
  usage: Record<Language, string>
  /** Reads what follows the word (`1h rolling back`). */
  parse?(rest: string): A
  run(ctx: CommandContext, args: A): Promise<WarRoomResult>
  /** A button on the card, where `show` says so. */
  button?: {
    text: Record<Language, string>
    type: 'primary' | 'danger' | 'default'
    /** Where it goes among the card's buttons (lower first). */
    order: number
    show(state: ButtonState): boolean
    confirm?: Record<Language, { title: string; text: string }>
    /** Sent back with the click besides op and the incident (kept small: Feishu echoes it). */
    value?: Record<string, string>
    /** Several buttons instead of one (whatever `show` says): a label after the text and a value each. */
    each?(state: ButtonState): Array<{ label: string; value: Record<string, string> }>
    /** The click's value → the command's arguments. */
    args?(value: Record<string, unknown>): A
    /** The toast after it worked. */
    toast: Record<Language, string>
  }
}

/** A command as written in a file: `defineCommand({...})` keeps its argument type. */
export const defineCommand = <A extends Args>(command: ChatCommand<A>): ChatCommand =>
  command as unknown as ChatCommand

/** The answer of an operation that changes nothing (help, status). */
export const nothing = (key = '', reason?: string): WarRoomResult => ({
  action: 'none',
  key,
  failedMembers: [],
  feishuCalls: 0,
  warnings: [],
  ...(reason ? { reason } : {}),
})

/** 30s, 10m, 2h, 1d → ms; NaN when it is not a duration. */
export function parseDuration(text: string): number {
  const m = /^(\d{1,6})(s|m|h|d)$/i.exec(text.trim())
  if (!m) return Number.NaN
  return (
    Number(m[1]) * { s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 }[m[2]!.toLowerCase() as 's']
  )
}

/** A note after a command: up to 1000 characters, absent when empty. */
export function noteOf(rest: string): { note?: string } {
  const note = rest.trim().slice(0, 1000)
  return note ? { note } : {}
}
