import { FeishuError } from '../feishu/errors.js'
import { formatDuration, formatTime } from '../i18n/index.js'
import { expandOnCall } from '../model/oncall.js'
import type { JobQueue } from '../store/jobs.js'
import type { IncidentRecord } from '../store/store.js'
import type { Cards } from './cards.js'
import type { Members } from './members.js'
import type { Messages } from './messages.js'
import { type Core, errorMessage, type Op, reasonOf } from './model.js'
import { ACK_EXPIRES, type AckExpiryJob, type Policy } from './policy.js'
import { LEAD_DUE, type LeadDueJob, type Roles } from './roles.js'
import { type StatusUpdates, UPDATE_DUE, type UpdateDueJob } from './updates.js'
import type { Urgency } from './urgency.js'

export const ESCALATE = 'escalate'
export const REMIND = 'remind'
/** A fired step's chat line and card update, after its call. */
export const NOTE = 'escalate-note'

/** A reminder's job: which acknowledgement it follows, and which reminder it is. */
export interface ReminderJob {
  ackAt: number
  n: number
}

/** What an escalation job carries: which step of which episode. */
export interface EscalationJob {
  step: number
  startedAt: number
  /** A retry after a definite failure (0 or absent: the first try). */
  attempt?: number
}

/** What a note job carries: which step, and whom it buzzed. */
export interface NoteJob extends EscalationJob {
  targets: string[]
}

/** A step more than this late was missed (downtime, a clock jump): it is caught up, spaced. */
const CATCH_UP_AFTER_MS = 30_000
/** Steps caught up after a gap are at least this far apart (not app, SMS and phone in 30 ms). */
const CATCH_UP_GAP_MS = 60_000

/** When a step whose urgent call failed definitely is tried again. */
const RETRY_AFTER_MS = [30_000, 120_000, 300_000]

/**
 * Making sure a person takes the incident: while it is open and nobody
 * acknowledged it, each step of its route's escalation fires once, at its
 * time, as a job in the store (so it survives a restart and fires in one
 * replica only): the people it names are invited when not in the chat yet
 * (Feishu buzzes only members), then get an urgent notice of the card, of
 * the step's kind (in the app, SMS, phone). An acknowledgement or a
 * resolution cancels what is left.
 */
export class Escalations {
  constructor(
    private readonly core: Core,
    private readonly jobs: JobQueue,
    private readonly members: Members,
    private readonly messages: Messages,
    private readonly cards: Cards,
    private readonly urgency: Urgency,
    private readonly save: (record: IncidentRecord) => Promise<void>,
    private readonly updates: StatusUpdates,
    private readonly roles: Roles,
    private readonly policy: Policy,
  ) {}

  /** Other parts' job kinds (a storm room's sync), run under the record's lock like the rest. */
  readonly kinds = new Map<string, (record: IncidentRecord, op: Op) => Promise<boolean>>()

  /** Runs a due job of any kind (a step, a reminder, a step's note); false when it no longer applies. */
  async act(record: IncidentRecord, kind: string, job: unknown, op: Op): Promise<boolean> {
    const other = this.kinds.get(kind)
    if (other) return other(record, op)
    // A step's note: the card shows the next step (the line was posted outside the lock).
    if (kind === NOTE) await this.cards.refresh(record, op)
    else if (kind === LEAD_DUE) {
      if (!this.roles.leadDue(record, job as LeadDueJob)) return false
      await this.roles.remindLead(record)
    } else if (kind === UPDATE_DUE) {
      if (!this.updates.due(record, job as UpdateDueJob)) return false
      await this.updates.remind(record, job as UpdateDueJob)
    } else if (kind === ACK_EXPIRES) {
      const replan = async () => {
        await this.plan(record)
        await this.cards.refresh(record, op)
      }
      return this.policy.checkExpiry(record, job as AckExpiryJob, op, replan)
    } else if (kind === REMIND) {
      if (!this.reminderDue(record, job as ReminderJob)) return false
      await this.remind(record, job as ReminderJob)
    } else {
      if (!this.due(record, job as EscalationJob)) return false
      await this.fire(record, job as EscalationJob, op)
    }
    return true
  }

  /** A new episode: the route's steps, counted from now, each a job. */
  async plan(record: IncidentRecord): Promise<void> {
    const labels = record.incident?.labels ?? {}
    const steps = this.core.config.escalationFor?.(labels) ?? []
    if (!steps.length) {
      delete record.escalation
      return
    }
    const startedAt = this.core.now()
    record.escalation = {
      startedAt,
      steps: [...steps].sort((a, b) => a.after - b.after),
      fired: [],
    }
    for (const [step, s] of record.escalation.steps.entries())
      await this.jobs.schedule({
        id: `${ESCALATE}:${record.keyHash}:${startedAt}:${step}`,
        kind: ESCALATE,
        keyHash: record.keyHash,
        dueAt: startedAt + s.after,
        data: { step, startedAt } satisfies EscalationJob as unknown as Record<string, unknown>,
      })
  }

  /**
   * An open episode whose first attempt failed after its chat existed (a card
   * send, a crash) comes back through an update: the buzz and the plan it did
   * not get are made up for, once. Returns whether anything changed.
   */
  async makeUp(record: IncidentRecord, op: Op): Promise<boolean> {
    if (record.status !== 'open' || record.ack) return false
    const before = `${record.paged}|${!!record.escalation}`
    await this.urgency.page(record, op)
    if (!record.escalation) await this.plan(record)
    return before !== `${record.paged}|${!!record.escalation}`
  }

  /**
   * Someone acknowledged, or it resolved: the steps left will not fire (an
   * acknowledgement leaves the `until: resolve` ones, which `due` lets through).
   */
  async cancel(record: IncidentRecord): Promise<void> {
    const resolved = record.status === 'resolved'
    const untilResolve = record.escalation?.steps.some((s) => s.until === 'resolve')
    if (record.escalation && (resolved || !untilResolve))
      await this.jobs.cancel(record.keyHash, ESCALATE)
    if (resolved) {
      await this.jobs.cancel(record.keyHash, REMIND)
      await this.jobs.cancel(record.keyHash, ACK_EXPIRES)
    }
  }

  /** An acknowledgement: the steps it stops, its reminders, and when it would expire. */
  async acknowledged(record: IncidentRecord): Promise<void> {
    await this.cancel(record)
    await this.scheduleReminder(record)
    await this.policy.scheduleExpiry(record)
  }

  /** After an acknowledgement: the n-th status nudge, one interval later (none when off). */
  async scheduleReminder(record: IncidentRecord, n = 1): Promise<void> {
    const every = this.core.config.remindEveryMs ?? 0
    if (!every || !record.ack) return
    const ackAt = record.ack.at
    await this.jobs.schedule({
      id: `${REMIND}:${record.keyHash}:${ackAt}:${n}`,
      kind: REMIND,
      keyHash: record.keyHash,
      dueAt: ackAt + n * every,
      data: { ackAt, n } satisfies ReminderJob as unknown as Record<string, unknown>,
    })
  }

  /** A reminder is due while the same acknowledgement stands and the incident is open. */
  reminderDue(record: IncidentRecord | undefined, job: ReminderJob): boolean {
    return !!record && record.status === 'open' && record.ack?.at === job.ackAt
  }

  /** Posts the nudge (mentioning who acknowledged) and schedules the next. */
  async remind(record: IncidentRecord, job: ReminderJob): Promise<void> {
    const t = this.messages.t
    const since = this.core.now() - job.ackAt
    // After downtime or a clock jump, the nudges missed are one nudge, not a burst.
    const every = this.core.config.remindEveryMs ?? 0
    const n = every > 0 ? Math.max(job.n, Math.floor(since / every)) : job.n
    await this.messages.post(
      record,
      [
        [
          { tag: 'text', text: t.reminderParts[0] },
          ...this.messages.personNodes(record.ack!.by),
          {
            tag: 'text',
            text: t.reminderParts[1](formatDuration(since, this.core.config.language)),
          },
        ],
      ],
      `remind:${job.ackAt}:${n}`,
    )
    await this.scheduleReminder(record, n + 1)
  }

  /** Whether a job still applies: the same episode, open, unacknowledged, the step not fired. */
  due(record: IncidentRecord | undefined, job: EscalationJob): boolean {
    const esc = record?.escalation
    return (
      !!record &&
      !!esc &&
      record.status === 'open' &&
      (!record.ack || esc.steps[job.step]?.until === 'resolve') &&
      esc.startedAt === job.startedAt &&
      !esc.fired.includes(job.step) &&
      !!esc.steps[job.step]
    )
  }

  /**
   * The chat is told the truth about a step whose call failed. A definite
   * failure (Feishu refused it, or a rate limit: nothing was sent) is tried
   * again later; a failure that may have reached Feishu (a timeout, a 5xx) is
   * not, as a missing call is preferred to a double one.
   */
  private async failed(record: IncidentRecord, job: EscalationJob, kind: string, error: unknown) {
    const attempt = job.attempt ?? 0
    const definite = error instanceof FeishuError && (error.isRateLimit || !error.isTransient)
    const retryAt =
      definite && attempt < RETRY_AFTER_MS.length
        ? this.core.now() + RETRY_AFTER_MS[attempt]!
        : undefined
    const esc = record.escalation!
    if (retryAt !== undefined) {
      esc.fired = esc.fired.filter((s) => s !== job.step)
      await this.jobs.schedule({
        id: `${ESCALATE}:${record.keyHash}:${job.startedAt}:${job.step}:retry${attempt + 1}`,
        kind: ESCALATE,
        keyHash: record.keyHash,
        dueAt: retryAt,
        data: { ...job, attempt: attempt + 1 } satisfies EscalationJob as unknown as Record<
          string,
          unknown
        >,
      })
    }
    await this.save(record)
    const why = reasonOf(error)
    const when =
      retryAt === undefined
        ? undefined
        : formatTime(retryAt, this.core.config.timeZone, this.core.config.language, this.core.now())
    await this.messages.post(
      record,
      [[{ tag: 'text', text: this.messages.t.escalationFailed(job.step + 1, kind, why, when) }]],
      `escalate-failed:${job.startedAt}:${job.step}:${attempt}`,
    )
  }

  /** Fires one step: invites whom it names, buzzes them, says so in the chat. */
  async fire(record: IncidentRecord, job: EscalationJob, op: Op): Promise<string[]> {
    const esc = record.escalation!
    const step = esc.steps[job.step]!
    const now = this.core.now()
    // A retry after a failed call keeps its own time; only steps missed in a gap are spaced.
    const late = !job.attempt && now - (esc.startedAt + step.after) > CATCH_UP_AFTER_MS
    if (late && esc.lastFiredAt !== undefined && now - esc.lastFiredAt < CATCH_UP_GAP_MS) {
      const dueAt = esc.lastFiredAt + CATCH_UP_GAP_MS
      await this.jobs.schedule({
        id: `${ESCALATE}:${record.keyHash}:${job.startedAt}:${job.step}:at${dueAt}`,
        kind: ESCALATE,
        keyHash: record.keyHash,
        dueAt,
        data: job as unknown as Record<string, unknown>,
      })
      return []
    }
    // Outside its window (when:): the step waits for the window's next start.
    const open = this.policy.windowed(step.when, now)
    if (open === undefined || open > now + 1000) return this.wait(record, job, open)
    const named = expandOnCall(
      await this.policy.expandManagers(record, [...step.to, ...step.invite], op),
      this.core.config.schedules ?? {},
      this.core.now(),
    )
    // A step that names nobody buzzes the responders the configuration names, never a sender's.
    let targets = this.urgency.pageable(record)
    if (named.length) {
      const resolved = await this.members.resolve(named, op)
      for (const f of resolved.failed)
        if (!record.failedMembers.some((x) => x.id === f.id)) record.failedMembers.push(f)
      const missing = resolved.openIds.filter((id) => !record.members.includes(id))
      await this.members.add(record, missing, 'open_id', op)
      targets = resolved.openIds.filter((id) => record.members.includes(id))
    }
    // Saved as fired before the call: the urgent API has no idempotency key, so a crash between
    // the two loses this step's call rather than making it twice (a retried job finds it fired).
    const held = targets.length ? await this.urgency.take(record, step.urgent) : undefined
    esc.fired = [...esc.fired, job.step]
    esc.lastFiredAt = now
    record.events.push({
      type: 'updated',
      at: now,
      detail: `escalation step ${job.step + 1}: ${step.urgent} ${held ? `held back (${held})` : `to ${targets.length} people`}`,
    })
    await this.save(record)
    if (held) {
      await this.messages.post(
        record,
        [[{ tag: 'text', text: this.messages.t.urgentHeld(held) }]],
        `held:${job.startedAt}:${job.step}`,
      )
      return []
    }
    const t = this.messages.t
    const kind = t.urgentKinds[step.urgent]
    if (record.cardMessageId && targets.length) {
      try {
        const invalid = await this.core.client.urgent(step.urgent, record.cardMessageId, targets)
        if (invalid.length) op.warnings.push(`urgent notice not delivered to ${invalid.join(', ')}`)
        const reached = targets.filter((id) => !invalid.includes(id))
        await this.urgency.attention.mark(record, reached, op)
      } catch (error) {
        op.warnings.push(`escalation step ${job.step + 1} failed: ${errorMessage(error)}`)
        await this.failed(record, job, kind, error)
        return []
      }
    }
    // The chat line and the card come after, as a job of their own: in a storm the message quota
    // is full, and the next incidents' calls must not wait behind this one's post.
    await this.jobs.schedule({
      id: `${NOTE}:${record.keyHash}:${job.startedAt}:${job.step}`,
      kind: NOTE,
      keyHash: record.keyHash,
      dueAt: this.core.now(),
      data: { ...job, targets } satisfies NoteJob as unknown as Record<string, unknown>,
    })
    return targets
  }

  /** A step outside its window: the same job at the window's start, said once; never: skipped. */
  private async wait(record: IncidentRecord, job: EscalationJob, at: number | undefined) {
    const esc = record.escalation!
    if (at === undefined) {
      esc.fired = [...esc.fired, job.step]
      record.events.push({
        type: 'updated',
        at: this.core.now(),
        detail: `escalation step ${job.step + 1}: no window within a year, skipped`,
      })
      await this.save(record)
      return []
    }
    await this.jobs.schedule({
      id: `${ESCALATE}:${record.keyHash}:${job.startedAt}:${job.step}:win${at}`,
      kind: ESCALATE,
      keyHash: record.keyHash,
      dueAt: at,
      data: job as unknown as Record<string, unknown>,
    })
    const { timeZone, language } = this.core.config
    await this.messages.post(
      record,
      [
        [
          {
            tag: 'text',
            text: this.messages.t.windowWait(
              job.step + 1,
              formatTime(at, timeZone, language, this.core.now()),
            ),
          },
        ],
      ],
      `window:${job.startedAt}:${job.step}`,
    )
    return []
  }

  /**
   * Says in the chat who a fired step buzzed. Run outside the incident's lock:
   * in a storm it waits for the message quota, and the incident's next step
   * must not wait for it (the post's uuid makes a repeat harmless).
   */
  async notePost(record: IncidentRecord, job: NoteJob): Promise<void> {
    const step = record.escalation?.steps[job.step]
    if (!step) return
    const t = this.messages.t
    await this.messages.post(
      record,
      [
        [
          { tag: 'text', text: t.escalated(job.step + 1, t.urgentKinds[step.urgent]) },
          ...job.targets.flatMap((openId) => this.messages.personNodes({ openId })),
        ],
      ],
      `escalate:${job.startedAt}:${job.step}`,
    )
  }
}
