import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FeishuSandbox } from '../src/sandbox/server.js'

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
