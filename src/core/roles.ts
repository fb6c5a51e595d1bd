import { FeishuError } from '../feishu/errors.js'
import { formatDuration } from '../i18n/index.js'
import type { Person } from '../model/incident.js'
import type { JobQueue } from '../store/jobs.js'
import type { IncidentRecord } from '../store/store.js'
import type { Messages } from './messages.js'
import { type Core, type Op, reasonOf } from './model.js'

export const LEAD_DUE = 'lead-due'

/** A reminder that nobody leads the episode opened at `openedAt`. */
export interface LeadDueJob {
  openedAt: number
}

/**
 * Incident roles: the lead, who runs the response, and the further roles the
 * config lists (comms, scribe). The lead is made a manager of the chat (only
 * the owner, the bot, may; the previous lead goes back to being a member);
 * every role is shown on the card and announced in the chat.
 */
export class Roles {
  constructor(
    private readonly core: Core,
    private readonly messages: Messages,
    private readonly jobs: JobQueue,
  ) {}

  /** A new episode: a reminder if nobody leads it by `warroom.lead_reminder` (0: none). */
  async planLeadReminder(record: IncidentRecord): Promise<void> {
    const after = this.core.config.leadReminderMs ?? 0
    if (!after) return
    await this.jobs.schedule({
      id: `${LEAD_DUE}:${record.keyHash}:${record.openedAt}`,
      kind: LEAD_DUE,
      keyHash: record.keyHash,
      dueAt: this.core.now() + after,
      data: { openedAt: record.openedAt } satisfies LeadDueJob as unknown as Record<
        string,
        unknown
      >,
    })
  }

  /** Due while the same episode is open and nobody leads it. */
  leadDue(record: IncidentRecord | undefined, job: LeadDueJob): boolean {
    return !!record && record.status === 'open' && !record.lead && record.openedAt === job.openedAt
  }

  async remindLead(record: IncidentRecord): Promise<void> {
    const since = formatDuration(this.core.now() - record.openedAt, this.core.config.language)
    await this.messages.post(
      record,
      [[{ tag: 'text', text: this.messages.t.noLead(since) }]],
      `lead-due:${record.openedAt}`,
    )
  }

  /** Makes `by` the lead; a reason when there is nothing to do. */
  async takeLead(record: IncidentRecord, by: Person, op: Op): Promise<string | undefined> {
    const t = this.messages.t
    const previous = record.lead?.by
    if (previous && by.openId && previous.openId === by.openId) return t.alreadyLead
    const now = this.core.now()
    record.lead = { by, at: now }
    record.events.push({ type: 'updated', at: now, by, detail: 'took the lead' })
    const unmanaged = await this.managers(record, by, previous, op)
    const line = this.handoff(t.leadParts, by, previous)
    if (unmanaged) line.push({ tag: 'text', text: t.managerScope(unmanaged) })
    await this.messages.post(record, [line], `lead:${now}`)
    return undefined
  }

  /** The name people see for a role (warroom.roles): the language's word for known ones. */
  roleLabel(role: string): string {
    return this.messages.t.roleNames[role] ?? role
  }

  /** `/role <name> [@someone]`: a configured role to `person`; a reason when there is nothing to do. */
  async assign(
    record: IncidentRecord,
    role: string,
    person: Person,
    by: Person,
  ): Promise<string | undefined> {
    const t = this.messages.t
    const roles = this.core.config.roles ?? []
    if (!roles.includes(role))
      return t.unknownRole(role, roles.map((r) => `${r}（${this.roleLabel(r)}）`).join('、'))
    const label = this.roleLabel(role)
    const previous = record.roles?.[role]?.by
    if (previous && person.openId && previous.openId === person.openId) return t.alreadyRole(label)
    const now = this.core.now()
    record.roles = { ...record.roles, [role]: { by: person, at: now } }
    record.events.push({
      type: 'updated',
      at: now,
      by,
      detail: `role ${role}: ${person.openId ?? '?'}`,
    })
    await this.messages.post(
      record,
      [this.handoff(t.roleParts(label), person, previous)],
      `role:${role}:${now}`,
    )
    return undefined
  }

  /** "👤 @X 担任…（接替 @Y）": who holds it now, and whom they took over from. */
  private handoff(
    [before, after]: readonly [string, string],
    to: Person,
    from: Person | undefined,
  ): Array<Record<string, unknown>> {
    const t = this.messages.t
    const line: Array<Record<string, unknown>> = [
      { tag: 'text', text: before },
      ...this.messages.personNodes(to),
      { tag: 'text', text: after },
    ]
    if (from)
      line.push({ tag: 'text', text: t.leadAfter }, ...this.messages.personNodes(from), {
        tag: 'text',
        text: t.leadAfterEnd,
      })
    return line
  }

  /** Managers follow the lead. A refusal (a scope, a limit) is a plain note, never a failed command. */
  private async managers(
    record: IncidentRecord,
    lead: Person,
    previous: Person | undefined,
    op: Op,
  ): Promise<string | undefined> {
    if (!lead.openId) return undefined
    try {
      await this.core.client.setManagers(record.chatId, 'add', [lead.openId])
      if (previous?.openId && previous.openId !== lead.openId)
        await this.core.client.setManagers(record.chatId, 'delete', [previous.openId])
      return undefined
    } catch (error) {
      if (!(error instanceof FeishuError) || error.isTransient) throw error
      const why = reasonOf(error)
      op.warnings.push(`the lead was not made a chat manager: ${why}`)
      return why
    }
  }
}
