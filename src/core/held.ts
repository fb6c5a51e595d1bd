import type { JobQueue } from '../store/jobs.js'
import type { IncidentRecord } from '../store/store.js'
import { FOLLOW_UPS, type Messages } from './messages.js'
import type { Core } from './model.js'

/** How long a held follow-up waits for others to merge with (a storm's changes come a second apart). */
const HOLD_MS = 3000
/** The longest a follow-up is held while the backlog lasts. */
const HOLD_MAX_MS = 10_000

/**
 * Follow-ups held while Feishu's message quota is backlogged (Messages holds
 * them on the record): a job posts them merged three seconds after the first,
 * or a second later again while the backlog lasts, ten seconds at most.
 */
export class HeldFollowUps {
  constructor(
    private readonly core: Core,
    private readonly messages: Messages,
    private readonly jobs: JobQueue,
  ) {}

  /** The first held follow-up of a batch schedules its job (scheduling it again is a no-op). */
  async hold(record: IncidentRecord): Promise<void> {
    const first = record.pendingFollowUps?.[0]
    if (first) await this.schedule(record, first.at, first.at + HOLD_MS)
  }

  /** The FOLLOW_UPS job: posted merged, or held another second; false when nothing was posted. */
  async run(record: IncidentRecord): Promise<boolean> {
    const first = record.pendingFollowUps?.[0]
    if (!first) return false
    const posted = await this.messages.flushPending(record, first.at + HOLD_MAX_MS)
    if (posted !== 'later') return posted
    await this.schedule(record, first.at, this.core.now() + 1000)
    return false
  }

  private schedule(record: IncidentRecord, first: number, dueAt: number) {
    return this.jobs.schedule({
      id: `${FOLLOW_UPS}:${record.keyHash}:${first}:${dueAt}`,
      kind: FOLLOW_UPS,
      keyHash: record.keyHash,
      dueAt,
      data: {},
    })
  }
}
