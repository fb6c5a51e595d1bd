import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { join } from 'node:path'
import type { WarRoom, WarRoomResult } from '../core/warroom.js'
import { errorMessage } from '../errors.js'
import type { Logger } from '../log.js'
import { hashKey, type IncidentRecord } from '../store.js'
import type { TimelineSink } from '../timeline.js'
import { HttpError } from './http.js'

/**
 * Post-incident timelines kept by the receiver: written after every
 * resolution (by the source or by a person) under <data_dir>/timelines/, and
 * served at GET /incidents/<key>/timeline.
 */
export class Timelines {
  /** Timelines being written; the receiver's close() waits for them. */
  private readonly background = new Set<Promise<void>>()

  constructor(private readonly options: { warroom: WarRoom; logger: Logger; dataDir: string }) {}

  /**
   * After a crash: drops half-written files, and writes the timeline (and
   * posts the review summary) of incidents resolved in the last 50 minutes
   * that have none. The summary's uuid (kept by Feishu for an hour) keeps it
   * from being posted twice if it had gone out before the crash.
   */
  async recover(records: IncidentRecord[], now: number): Promise<number> {
    const dir = this.dir()
    await mkdir(dir, { recursive: true })
    for (const name of await readdir(dir))
      if (name.endsWith('.tmp')) await rm(join(dir, name), { force: true })
    let resumed = 0
    for (const r of records) {
      if (r.status !== 'resolved' || r.resolvedAt === undefined) continue
      if (now - r.resolvedAt > 50 * 60_000) continue
      if (
        await stat(join(dir, `${r.keyHash}.md`)).then(
          () => true,
          () => false,
        )
      )
        continue
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

  /** Resolves when every timeline being written is done. */
  async idle(): Promise<void> {
    await Promise.all([...this.background])
  }

  private dir(): string {
    return join(this.options.dataDir, 'timelines')
  }

  /**
   * After a resolution, in the background: the timeline to the data
   * directory (Markdown and JSON, written atomically) and the summary message.
   */
  afterResolution(result: WarRoomResult): void {
    if (result.action !== 'resolved' || !result.chatId) return
    const { warroom, logger } = this.options
    const task = (async () => {
      const dir = this.dir()
      await mkdir(dir, { recursive: true })
      const keyHash =
        (await warroom.find({ chatId: result.chatId! }))?.keyHash ?? hashKey(result.key)
      const files = (['md', 'json'] as const).map((ext) => {
        const path = join(dir, `${keyHash}.${ext}`)
        return {
          path,
          tmp: `${path}.${process.pid}.tmp`,
          format: ext === 'md' ? ('markdown' as const) : ('json' as const),
        }
      })
      const streams = files.map((f) => createWriteStream(f.tmp))
      const outputs = files.map((f, i) => ({ format: f.format, sink: streamSink(streams[i]!) }))
      try {
        const { warning } = await warroom.summarize({ chatId: result.chatId! }, outputs)
        await Promise.all(
          streams.map(
            (s) => new Promise<void>((r, j) => s.end((e?: Error | null) => (e ? j(e) : r()))),
          ),
        )
        if (warning) {
          logger.warn(warning, { key: result.key })
          for (const f of files) await rm(f.tmp, { force: true })
        } else for (const f of files) await rename(f.tmp, f.path)
      } catch (error) {
        for (const s of streams) s.destroy()
        logger.warn('could not write the timeline', {
          key: result.key,
          error: errorMessage(error),
        })
      }
    })()
    this.background.add(task)
    void task.finally(() => this.background.delete(task))
  }

  /** GET /incidents/<key or key hash>/timeline: Markdown, or JSON with Accept: application/json. */
  async serve(req: IncomingMessage, res: ServerResponse, key: string): Promise<void> {
    const json = /application\/json/i.test(req.headers.accept ?? '')
    const keyHash = /^[0-9a-f]{32}$/.test(key) ? key : hashKey(key)
    const type = json ? 'application/json; charset=utf-8' : 'text/markdown; charset=utf-8'
    const file = join(this.dir(), `${keyHash}.${json ? 'json' : 'md'}`)
    if (
      await stat(file).then(
        (s) => s.isFile(),
        () => false,
      )
    ) {
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' })
      createReadStream(file).pipe(res)
      return
    }
    const record = await this.options.warroom.find({ keyHash })
    if (!record) throw new HttpError(404, `no incident with key ${key.slice(0, 200)}`)
    // Not resolved yet (or written before a restart lost it): build it live from Feishu, streaming.
    res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' })
    try {
      await this.options.warroom.timeline({ keyHash }, [
        { format: json ? 'json' : 'markdown', sink: streamSink(res) },
      ])
      res.end()
    } catch (error) {
      this.options.logger.warn('timeline failed', { key, error: errorMessage(error) })
      res.destroy()
    }
  }

  /** A text message in a group that is a command for us. */
}

/** A sink that respects back-pressure: waits for 'drain' when the buffer is full. */
function streamSink(stream: NodeJS.WritableStream): TimelineSink {
  return {
    write: (chunk) =>
      stream.write(chunk)
        ? undefined
        : new Promise<void>((resolve) => stream.once('drain', () => resolve())),
  }
}
