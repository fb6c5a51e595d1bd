import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main } from '../../src/cli/main.js'
import type { FeishuSandbox } from '../../src/sandbox/server.js'

/** A CLI's output, collected. */
export function io() {
  const out: string[] = []
  const err: string[] = []
  return { out, err, io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) } }
}

/** The CLI's environment for a sandbox; notify state in a folder of its own, never the home directory. */
export const envFor = (s: FeishuSandbox) => ({
  FEISHU_APP_ID: s.appId,
  FEISHU_APP_SECRET: s.appSecret,
  FEISHU_DOMAIN: s.url,
  XDG_STATE_HOME: mkdtempSync(join(tmpdir(), 'warroom-state-')),
})

/**
 * `warroom serve` in this process (main() with a stop signal): its URL once it
 * listens, and stop() that ends it and returns its exit code.
 */
export async function serveInProcess(
  env: NodeJS.ProcessEnv,
  options: { args?: string[]; io?: { out: (t: string) => void; err: (t: string) => void } } = {},
) {
  let stopNow!: () => void
  const stopSignal = new Promise<void>((r) => {
    stopNow = r
  })
  let listening!: (info: { url: string; sandboxUrl?: string }) => void
  const ready = new Promise<{ url: string; sandboxUrl?: string }>((r) => {
    listening = r
  })
  const quiet = { out: () => {}, err: () => {} }
  const served = main(options.args ?? ['serve', '--port', '0'], env, {
    ...(options.io ?? quiet),
    stopSignal,
    onListening: listening,
  })
  const info = await Promise.race([
    ready,
    served.then((code) => {
      throw new Error(`warroom serve exited with ${code} before listening`)
    }),
  ])
  return {
    ...info,
    stop: () => {
      stopNow()
      return served
    },
  }
}
