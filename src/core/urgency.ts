import type { SharedQuota } from '../feishu/ratelimit.js'
import type { IncidentRecord } from '../store/store.js'
import type { Attention } from './attention.js'
import type { Messages } from './messages.js'
import { type Core, errorMessage, type Op } from './model.js'
import { SlidingLog } from './sliding-log.js'

type Kind = 'app' | 'sms' | 'phone'

/**
 * Who may be buzzed, and how often. Urgent notices go only to members the
 * configuration names (the incident's `pageable`, set by routing; a webhook
 * sender's own members are invited, never buzzed), and are capped per
 * incident per hour (its reopenings count: a flapping alert cannot phone
 * anyone at every flap) and, for SMS and phone, which spend the tenant's paid
 * quota, per hour in all. Counted in this process; several replicas each
 * keep their own count (SECURITY.md).
 */
export class Urgency {
  private readonly log = new SlidingLog(3600_000)
  private readonly budgetLog = new SlidingLog(86_400_000)

  constructor(
    private readonly core: Core,
    private readonly messages: Messages,
    /** Who is buzzed gets the chat pinned to the top of their list until someone answers. */
    readonly attention: Attention,
    /** The store's count across replicas, for the budget (absent: counted here). */
    private readonly shared?: SharedQuota,
  ) {}

  /**
   * A critical incident's pageable members are buzzed (加急, in the app) about
   * the card once per episode, also when the episode's first attempt failed
   * before it (the retry comes through here again); a held-back notice is
   * said in the chat.
   */
  async page(record: IncidentRecord, op: Op): Promise<void> {
    const critical = record.incident?.severity === 'critical'
    if (!critical || !this.core.config.urgentOnCritical || record.paged || !record.cardMessageId)
      return
    const targets = this.pageable(record)
    if (!targets.length) return
    record.paged = this.core.now()
    const held = await this.take(record, 'app')
    if (held) {
      await this.messages.post(
        record,
        [[{ tag: 'text', text: this.messages.t.urgentHeld(held) }]],
        `held:${record.paged}`,
      )
      return
    }
    await this.sendApp(record, targets, op)
  }

  /**
   * An in-app urgent notice for the card, and the chat time-sensitive for
   * those it reached: a failure or an undelivered id is a warning, never a
   * failed operation.
   */
  async sendApp(record: IncidentRecord, targets: string[], op: Op): Promise<void> {
    if (!record.cardMessageId) return
    try {
      const invalid = await this.core.client.urgentApp(record.cardMessageId, targets)
      if (invalid.length) op.warnings.push(`urgent notice not delivered to ${invalid.join(', ')}`)
      await this.attention.mark(
        record,
        targets.filter((id) => !invalid.includes(id)),
        op,
      )
    } catch (error) {
      op.warnings.push(`urgent notice failed: ${errorMessage(error)}`)
    }
  }

  /** The members of the chat who may be buzzed. */
  pageable(record: IncidentRecord): string[] {
    const allowed = record.pageable
    // Records from before `pageable` existed: their members were all the config's or the Action's.
    if (!allowed) return record.members
    return record.members.filter((id) => allowed.includes(id))
  }

  /**
   * Takes one notice of this kind for the incident; the cap's name when it is
   * held back. The budget (warroom.urgent_budget) is counted in the shared
   * store across replicas when there is one (PostgreSQL), else here.
   */
  async take(record: IncidentRecord, kind: Kind): Promise<string | undefined> {
    const local = this.takeLocal(record, kind)
    if (local) return local
    const budget = this.core.config.urgentBudget
    if (!budget) return undefined
    const perHour = kind === 'phone' ? budget.phonePerHour : kind === 'sms' ? budget.smsPerHour : 0
    if (perHour && !(await this.spend(`urgent:${kind}`, perHour, 3600_000)))
      return `warroom.urgent_budget.${kind}_per_hour: ${perHour}`
    const perIncident = budget.perIncident
    if (
      perIncident &&
      !(await this.spend(`urgent:incident:${record.keyHash}`, perIncident, 86_400_000))
    )
      return `warroom.urgent_budget.per_incident: ${perIncident}`
    return undefined
  }

  /** One from a budget, across replicas (a shared store's count) or in this process. */
  private async spend(bucket: string, limit: number, windowMs: number): Promise<boolean> {
    if (this.shared) {
      try {
        const taken = await this.shared.take(bucket, [{ limit, spanMs: windowMs }])
        return 'slot' in taken
      } catch {
        // The count cannot be asked (a database restart): hold paid calls back rather than overspend.
        return false
      }
    }
    const log = this.budgetLog.entries(`${windowMs}:${bucket}`, this.core.now())
    if (log.length >= limit) return false
    log.push(this.core.now())
    return true
  }

  private takeLocal(record: IncidentRecord, kind: Kind): string | undefined {
    const caps = this.core.config.urgentCaps
    if (!caps) return undefined
    const now = this.core.now()
    const incident = this.log.entries(`incident:${record.keyHash}`, now)
    // The configured policy always runs whole: its steps and the critical buzz are within the cap.
    const limit = Math.max(caps.perIncidentPerHour, (record.escalation?.steps.length ?? 0) + 1)
    if (incident.length >= limit) return `urgent.per_incident_per_hour: ${caps.perIncidentPerHour}`
    const paid = kind === 'app' ? undefined : this.log.entries('paid', now)
    if (paid && paid.length >= caps.paidPerHour) return `urgent.paid_per_hour: ${caps.paidPerHour}`
    incident.push(now)
    paid?.push(now)
    return undefined
  }
}
