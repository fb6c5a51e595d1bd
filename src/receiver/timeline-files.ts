import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { ArchiveWrite, TimelineArchive, TimelineSink } from '../render/timeline.js'

/**
 * Timelines as files under <data_dir>/timelines/: <key hash>.md and .json,
 * written to temporary files and renamed, so a reader never sees half of one.
 */
export class FileTimelines implements TimelineArchive {
  constructor(private readonly dir: string) {}

  /** After a crash: drops the half-written files. */
  async clean(): Promise<void> {
    await mkdir(this.dir, { recursive: true })
    for (const name of await readdir(this.dir))
      if (name.endsWith('.tmp')) await rm(join(this.dir, name), { force: true })
  }

  async has(keyHash: string): Promise<boolean> {
    return stat(join(this.dir, `${keyHash}.md`)).then(
      () => true,
      () => false,
    )
  }

  async open(keyHash: string): Promise<ArchiveWrite> {
    await mkdir(this.dir, { recursive: true })
    const files = (['md', 'json'] as const).map((ext) => {
      const path = join(this.dir, `${keyHash}.${ext}`)
      return {
        path,
        tmp: `${path}.${process.pid}.tmp`,
        format: ext === 'md' ? ('markdown' as const) : ('json' as const),
      }
    })
    const streams = files.map((f) => createWriteStream(f.tmp))
    const ended = () =>
      Promise.all(
        streams.map(
          (s) => new Promise<void>((r, j) => s.end((e?: Error | null) => (e ? j(e) : r()))),
        ),
      )
    return {
      outputs: files.map((f, i) => ({ format: f.format, sink: streamSink(streams[i]!) })),
      commit: async () => {
        await ended()
        for (const f of files) await rename(f.tmp, f.path)
      },
      abort: async () => {
        for (const s of streams) s.destroy()
        for (const f of files) await rm(f.tmp, { force: true })
      },
    }
  }

  async read(keyHash: string, format: 'markdown' | 'json') {
    const file = join(this.dir, `${keyHash}.${format === 'json' ? 'json' : 'md'}`)
    const isFile = await stat(file).then(
      (s) => s.isFile(),
      () => false,
    )
    return isFile ? createReadStream(file) : undefined
  }
}

/** A sink that respects back-pressure: waits for 'drain' when the buffer is full. */
export function streamSink(stream: NodeJS.WritableStream): TimelineSink {
  return {
    write: (chunk) =>
      stream.write(chunk)
        ? undefined
        : new Promise<void>((resolve) => stream.once('drain', () => resolve())),
  }
}
