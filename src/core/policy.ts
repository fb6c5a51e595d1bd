import { MANAGER } from '../config/escalation.js'
import { FeishuError } from '../feishu/errors.js'
import { formatDuration } from '../i18n/index.js'
import { nextInWindow, type When } from '../model/window.js'
import type { JobQueue } from '../store/jobs.js'
import type { IncidentRecord } from '../store/store.js'
import type { Messages } from './messages.js'
import { type Core, type Op, reasonOf } from './model.js'
import type { Urgency } from './urgency.js'

export const ACK_EXPIRES = 'ack-expires'

/** Which acknowledgement an expiry check follows. */
export interface AckExpiryJob {
  ackAt: number
}

/**
 * The deeper parts of an escalation policy: `manager` in a step (the
 * responders' managers, from the contact API), `when:` windows, and
 * acknowledgements that expire (`warroom.ack_expires`).
 */
export class Policy {
  constructor(
    private readonly core: Core,
    private readonly messages: Messages,
    private readonly jobs: JobQueue,
    private readonly urgency: Urgency,
  ) {}

  /** A step's entries with `manager` replaced by the managers of the configured responders. */
  async expandManagers(record: IncidentRecord, entries: string[], op: Op): Promise<string[]> {
    if (!entries.includes(MANAGER)) return entries
    const rest = entries.filter((e) => e !== MANAGER)
    const managers = new Set<string>()
    for (const id of this.urgency.pageable(record)) {
      try {
        const leader = await this.core.client.attention.leaderOf(id)
        if (leader && leader !== id) managers.add(leader)
      } catch (error) {
        if (!(error instanceof FeishuError) || error.isTransient) throw error
        op.warnings.push(`no manager found for ${id}: ${reasonOf(error)}`)
        if (!record.seenEvents.includes('managers-refused')) {
          record.seenEvents = [...record.seenEvents, 'managers-refused'].slice(-50)
          await this.messages.post(
            record,
            [[{ tag: 'text', text: this.messages.t.managersRefused(reasonOf(error)) }]],
            'managers-refused',
          )
        }
        break
      }
    }
    return [...rest, ...managers]
  }

  /** When a step due now may fire: now, later (its window opens then), or never (no window in a year). */
  windowed(when: When | undefined, now: number): number | undefined {
    return when ? nextInWindow(now, when) : now
  }

  /** After an acknowledgement: a check when it would expire (none when ack_expires is off). */
  async scheduleExpiry(record: IncidentRecord, from = record.ack?.at): Promise<void> {
    const after = this.core.config.ackExpiresMs ?? 0
    if (!after || !record.ack || from === undefined) return
    await this.jobs.schedule({
      id: `${ACK_EXPIRES}:${record.keyHash}:${record.ack.at}:${from}`,
      kind: ACK_EXPIRES,
      keyHash: record.keyHash,
      dueAt: from + after,
      data: { ackAt: record.ack.at } satisfies AckExpiryJob as unknown as Record<string, unknown>,
    })
  }

  /**
   * The check's time came: a status update since the acknowledgement keeps it
   * alive (checked again one period after the latest); none, and it expires:
   * the acknowledger is buzzed again and the policy starts over (`replan`).
   */
  async checkExpiry(
    record: IncidentRecord,
    job: AckExpiryJob,
    op: Op,
    replan: () => Promise<void>,
  ): Promise<boolean> {
    const ack = record.ack
    if (record.status !== 'open' || !ack || ack.at !== job.ackAt) return false
    const after = this.core.config.ackExpiresMs ?? 0
    const latest = (record.updates ?? []).filter((u) => u.at >= ack.at).at(-1)
    if (latest && latest.at + after > this.core.now()) {
      await this.scheduleExpiry(record, latest.at)
      return false
    }
    const t = this.messages.t
    delete record.ack
    record.events.push({ type: 'updated', at: this.core.now(), detail: 'acknowledgement expired' })
    const since = formatDuration(
      this.core.now() - (latest?.at ?? ack.at),
      this.core.config.language,
    )
    await this.messages.post(
      record,
      [
        [
          { tag: 'text', text: t.ackExpiredParts[0] },
          ...this.messages.personNodes(ack.by),
          { tag: 'text', text: t.ackExpiredParts[1](since) },
        ],
      ],
      `ack-expired:${ack.at}`,
    )
    if (ack.by.openId) {
      const held = await this.urgency.take(record, 'app')
      if (held) op.warnings.push(`re-page held: ${held}`)
      else await this.urgency.sendApp(record, [ack.by.openId], op)
    }
    await replan()
    return true
  }
}
