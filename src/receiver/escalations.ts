import { CARD_SYNC } from '../core/cards.js'
import { ESCALATE, type EscalationJob, NOTE, REMIND, type ReminderJob } from '../core/escalation.js'
import { FOLLOW_UPS } from '../core/messages.js'
import { ACK_EXPIRES } from '../core/policy.js'
import { LEAD_DUE } from '../core/roles.js'
import { STORM_SYNC } from '../core/storms.js'
import { UPDATE_DUE } from '../core/updates.js'
import type { WarRoom, WarRoomResult } from '../core/warroom.js'
import type { Job, JobQueue } from '../store/jobs.js'
import { errorMessage } from '../util/errors.js'
import type { Logger } from '../util/log.js'

/** Jobs under way at once, per kind: enough for a storm's steps, bounded for memory. */
const IN_FLIGHT = {
  [ESCALATE]: 64,
  [REMIND]: 16,
  [NOTE]: 16,
  [UPDATE_DUE]: 16,
  [LEAD_DUE]: 16,
  [ACK_EXPIRES]: 16,
  'heartbeat-due': 4,
  dissolve: 4,
  [FOLLOW_UPS]: 32,
  [STORM_SYNC]: 8,
  [CARD_SYNC]: 8,
} as const

/**
 * Runs escalation steps, reminders and steps' chat lines when their time
 * comes: claims due jobs from the store's queue (once across replicas) and
 * hands each to the war room, which acts unless someone acknowledged or it
 * resolved meanwhile. Each kind has its own slots and each job its own
 * course: a slow one (a chat post waiting for the message quota) never holds
 * back the next incident's urgent call.
 */
export class EscalationRunner {
  private timer: NodeJS.Timeout | undefined
  private polling = false
  private readonly inFlight = new Map<string, Set<Promise<void>>>()

  constructor(
    private readonly options: {
      warroom: WarRoom
      jobs: JobQueue
      logger: Logger
      pollMs?: number
      /** Told of each job's result (a resolution's review follows). */
      onResult?: (result: WarRoomResult) => void
      /** Kinds run by someone else than the war room (heartbeats). */
      handlers?: Record<string, (job: Job) => Promise<void>>
    },
  ) {}

  start(): void {
    if (this.timer) return
    this.timer = setInterval(() => this.poll(), this.options.pollMs ?? 250)
    this.timer.unref()
  }

  /** Stops claiming and waits for the jobs under way. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    while (this.polling) await new Promise((r) => setTimeout(r, 10))
    await Promise.all([...this.inFlight.values()].flatMap((set) => [...set]))
  }

  private poll(): void {
    if (this.polling) return
    this.polling = true
    void this.claimDue().finally(() => {
      this.polling = false
    })
  }

  private async claimDue(): Promise<void> {
    const { jobs, logger } = this.options
    for (const [kind, max] of Object.entries(IN_FLIGHT)) {
      const running = this.inFlight.get(kind) ?? new Set()
      this.inFlight.set(kind, running)
      const room = max - running.size
      if (room <= 0) continue
      let claimed: Awaited<ReturnType<JobQueue['claim']>>
      try {
        claimed = await jobs.claim(kind, room)
      } catch (error) {
        logger.warn('could not claim escalation jobs', { kind, error: errorMessage(error) })
        continue
      }
      for (const job of claimed) {
        const work = this.run(job).finally(() => running.delete(work))
        running.add(work)
      }
    }
  }

  private async run(job: Awaited<ReturnType<JobQueue['claim']>>[number]): Promise<void> {
    const { jobs, warroom, logger } = this.options
    try {
      const own = this.options.handlers?.[job.kind]
      if (own) {
        await own(job)
        await jobs.complete(job.id)
        return
      }
      const data = job.data as unknown as EscalationJob | ReminderJob
      const result = await warroom.escalate(job.keyHash, job.kind, data)
      this.options.onResult?.(result)
      if (result.action !== 'none' && job.kind !== NOTE)
        logger.info(job.kind === REMIND ? 'reminded' : 'escalated', {
          key: result.key,
          chatId: result.chatId,
          id: job.id,
        })
      await jobs.complete(job.id)
    } catch (error) {
      // Before the step was marked fired (a Feishu or database failure): try again shortly.
      logger.warn('escalation job failed', { id: job.id, error: errorMessage(error) })
      if (job.attempts >= 5) await jobs.complete(job.id).catch(() => {})
      else await jobs.retry(job.id, Date.now() + 10_000, errorMessage(error)).catch(() => {})
    }
  }
}
