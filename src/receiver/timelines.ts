import type { IncomingMessage, ServerResponse } from 'node:http'
import type { WarRoom, WarRoomResult } from '../core/warroom.js'
import type { TimelineArchive } from '../render/timeline.js'
import type { Job, JobQueue } from '../store/jobs.js'
import { hashKey, type IncidentRecord } from '../store/store.js'
import { errorMessage } from '../util/errors.js'
import { HttpError } from '../util/http.js'
import type { Logger } from '../util/log.js'

export interface TimelinesOptions {
  warroom: WarRoom
  logger: Logger
  archive: TimelineArchive
  /** Several replicas: reviews go through the shared queue, done once by whoever claims them. */
  jobs?: JobQueue
  /** How often a replica looks for reviews to do (ms). */
  pollMs?: number
}

const REVIEW = 'review'
/** A resolved war room to dissolve once review.dissolve_after has passed (src/core/postmortem.ts). */
export const DISSOLVE = 'dissolve'
/** Reviews a replica does at once: background work, behind incidents' own calls. */
const CONCURRENCY = 4

const LIVE_CACHE_MS = 30_000

/**
 * Post-incident timelines: written after every resolution (by the source or
 * by a person) to the archive, with a review summary posted in the chat, and
 * served at GET /incidents/<key>/timeline.
 */
export class Timelines {
  /** Reviews being written; the receiver's close() waits for them. */
  private readonly background = new Set<Promise<void>>()
  private timer: NodeJS.Timeout | undefined
  private polling: Promise<void> | undefined
  private stopped = false

  constructor(private readonly options: TimelinesOptions) {}

  /**
   * After a restart. Alone: writes the timeline (and posts the summary) of
   * incidents resolved in the last 50 minutes that have none; the summary's
   * uuid (kept by Feishu for an hour) keeps it from going out twice. With a
   * shared queue: the same, as jobs (unfinished ones are claimed again anyway).
   */
  async recover(records: IncidentRecord[], now: number): Promise<number> {
    let resumed = 0
    for (const r of records) {
      if (r.status !== 'resolved' || r.resolvedAt === undefined) continue
      if (now - r.resolvedAt > 50 * 60_000) continue
      if (await this.options.archive.has(r.keyHash)) continue
      this.afterResolution({
        action: 'resolved',
        key: r.key,
        chatId: r.chatId,
        failedMembers: [],
        feishuCalls: 0,
        warnings: [],
      })
      resumed++
    }
    return resumed
  }

  /** With a shared queue: starts looking for reviews to do. */
  start(): void {
    if (!this.options.jobs || this.timer) return
    this.timer = setInterval(() => this.poll(), this.options.pollMs ?? 1000)
    this.timer.unref()
  }

  /** Stops taking reviews and waits for the ones under way. */
  async idle(): Promise<void> {
    this.stopped = true
    if (this.timer) clearInterval(this.timer)
    await this.polling
    while (this.background.size) await Promise.all([...this.background])
  }

  /** After a resolution, in the background: the timeline to the archive and the summary message. */
  afterResolution(result: WarRoomResult): void {
    // An incident resolved inside a storm room: the room's review comes when the room resolves.
    if (result.action !== 'resolved' || !result.chatId || result.storm) return
    const chatId = result.chatId
    const { jobs } = this.options
    this.track(
      (async () => {
        const record = await this.options.warroom.find({ chatId })
        const keyHash = record?.keyHash ?? hashKey(result.key)
        if (!jobs) return this.review(keyHash, chatId, result.key)
        await jobs.schedule({
          id: `${REVIEW}:${keyHash}:${record?.resolvedAt ?? 0}`,
          kind: REVIEW,
          keyHash,
          dueAt: Date.now(),
          data: { chatId, key: result.key },
        })
        this.poll()
      })().catch((error) =>
        this.options.logger.warn('could not schedule the review', {
          key: result.key,
          error: errorMessage(error),
        }),
      ),
    )
  }

  private track(task: Promise<void>): void {
    this.background.add(task)
    void task.finally(() => this.background.delete(task))
  }

  /** Claims due reviews from the shared queue, at most CONCURRENCY at a time. */
  private poll(): void {
    const jobs = this.options.jobs
    if (!jobs || this.polling || this.stopped) return
    const room = CONCURRENCY - this.background.size
    if (room <= 0) return
    this.polling = (async () => {
      try {
        for (const job of await jobs.claim(REVIEW, room)) this.track(this.runJob(jobs, job))
      } catch (error) {
        this.options.logger.warn('could not claim reviews', { error: errorMessage(error) })
      } finally {
        this.polling = undefined
      }
    })()
  }

  private async runJob(jobs: JobQueue, job: Job): Promise<void> {
    const { chatId, key } = job.data as { chatId: string; key: string }
    try {
      await this.review(job.keyHash, chatId, key, true)
      await jobs.complete(job.id)
    } catch (error) {
      const message = errorMessage(error)
      if (job.attempts >= 5) {
        this.options.logger.warn('gave up on a review', { key, error: message })
        await jobs.complete(job.id).catch(() => {})
      } else await jobs.retry(job.id, Date.now() + 30_000 * job.attempts, message).catch(() => {})
    }
    this.poll()
  }

  /** Writes the timeline and posts the summary; throws only when asked to (a job is retried). */
  private async review(keyHash: string, chatId: string, key: string, rethrow = false) {
    const write = await this.options.archive.open(keyHash)
    try {
      const { warning } = await this.options.warroom.summarize({ chatId }, write.outputs)
      if (warning) {
        this.options.logger.warn(warning, { key })
        await write.abort()
      } else {
        await write.commit()
        await this.scheduleDissolve(keyHash, chatId)
      }
    } catch (error) {
      await write.abort()
      this.options.logger.warn('could not write the timeline', { key, error: errorMessage(error) })
      if (rethrow) throw error
    }
  }

  /** review.dissolve_after: the chat is dissolved that long after its timeline is saved, never before. */
  private async scheduleDissolve(keyHash: string, chatId: string): Promise<void> {
    const after = this.options.warroom.config.review?.dissolveAfterMs ?? 0
    const record = after ? await this.options.warroom.find({ chatId }) : undefined
    if (record?.status !== 'resolved' || record.resolvedAt === undefined) return
    await this.options.warroom.jobs().schedule({
      id: `${DISSOLVE}:${keyHash}:${record.resolvedAt}`,
      kind: DISSOLVE,
      keyHash,
      dueAt: Date.now() + after,
      data: { chatId, resolvedAt: record.resolvedAt },
    })
  }

  /** GET /incidents/<key or key hash>/timeline: Markdown, or JSON with Accept: application/json. */
  async serve(req: IncomingMessage, res: ServerResponse, key: string): Promise<void> {
    const json = /application\/json/i.test(req.headers.accept ?? '')
    const keyHash = /^[0-9a-f]{32}$/.test(key) ? key : hashKey(key)
    const type = json ? 'application/json; charset=utf-8' : 'text/markdown; charset=utf-8'
    const stored = await this.options.archive.read(keyHash, json ? 'json' : 'markdown')
    if (stored !== undefined) {
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' })
      if (typeof stored === 'string') res.end(stored)
      else stored.pipe(res)
      return
    }
    const record = await this.options.warroom.find({ keyHash })
    if (!record) throw new HttpError(404, `no incident with key ${key.slice(0, 200)}`)
    // Not resolved yet (or written before a restart lost it): built live from Feishu's history,
    // once for all the readers of the next half minute (each build reads the whole history).
    const id = `${keyHash}:${json ? 'json' : 'md'}`
    let entry = this.live.get(id)
    if (!entry || Date.now() - entry.at > LIVE_CACHE_MS) {
      const parts: string[] = []
      const text = this.options.warroom
        .timeline({ keyHash }, [
          { format: json ? 'json' : 'markdown', sink: { write: (c) => void parts.push(c) } },
        ])
        .then(() => parts.join(''))
      entry = { at: Date.now(), text }
      this.live.set(id, entry)
      if (this.live.size > 50) this.live.delete(this.live.keys().next().value!)
      text.catch(() => this.live.delete(id))
    }
    let text: string
    try {
      text = await entry.text
    } catch (error) {
      this.options.logger.warn('timeline failed', { key, error: errorMessage(error) })
      throw new HttpError(502, 'the timeline could not be read from Feishu')
    }
    res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' })
    res.end(text)
  }

  /** Live timelines of open incidents, shared by concurrent readers for LIVE_CACHE_MS. */
  private readonly live = new Map<string, { at: number; text: Promise<string> }>()
}
