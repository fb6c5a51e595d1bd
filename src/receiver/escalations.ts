import { ESCALATE, type EscalationJob, REMIND, type ReminderJob } from '../core/escalation.js'
import type { WarRoom } from '../core/warroom.js'
import { errorMessage } from '../errors.js'
import type { JobQueue } from '../jobs.js'
import type { Logger } from '../log.js'

/**
 * Runs escalation steps and reminders when their time comes: claims due jobs from the
 * store's queue (once across replicas) and hands each to the war room, which
 * fires it unless someone acknowledged or it resolved meanwhile.
 */
export class EscalationRunner {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined

  constructor(
    private readonly options: { warroom: WarRoom; jobs: JobQueue; logger: Logger; pollMs?: number },
  ) {}

  start(): void {
    if (this.timer) return
    this.timer = setInterval(() => this.poll(), this.options.pollMs ?? 500)
    this.timer.unref()
  }

  /** Stops claiming and waits for the steps under way. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    await this.running
  }

  private poll(): void {
    if (this.running) return
    this.running = this.runDue().finally(() => {
      this.running = undefined
    })
  }

  private async runDue(): Promise<void> {
    const { jobs, warroom, logger } = this.options
    let claimed: Awaited<ReturnType<JobQueue['claim']>>
    try {
      claimed = [...(await jobs.claim(ESCALATE, 20)), ...(await jobs.claim(REMIND, 20))]
    } catch (error) {
      logger.warn('could not claim escalation steps', { error: errorMessage(error) })
      return
    }
    await Promise.all(
      claimed.map(async (job) => {
        try {
          const data = job.data as unknown as EscalationJob | ReminderJob
          const result = await warroom.escalate(job.keyHash, job.kind, data)
          if (result.action !== 'none')
            logger.info(job.kind === REMIND ? 'reminded' : 'escalated', {
              key: result.key,
              chatId: result.chatId,
              id: job.id,
            })
          await jobs.complete(job.id)
        } catch (error) {
          // Before the step was marked fired (a Feishu or database failure): try again shortly.
          logger.warn('escalation step failed', { id: job.id, error: errorMessage(error) })
          if (job.attempts >= 5) await jobs.complete(job.id).catch(() => {})
          else await jobs.retry(job.id, Date.now() + 10_000, errorMessage(error)).catch(() => {})
        }
      }),
    )
  }
}
