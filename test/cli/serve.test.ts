/**
 * A production `warroom serve` (credentials given) does not load the sandbox:
 * the modules the process loads are recorded by a module hook.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../../src/cli/main.js'
import { serveInProcess } from '../support/cli.js'
import { freePort, sandbox, tempDir } from '../support/helpers.js'
import { post, TOKEN } from '../support/receiver.js'

async function loadedBy(args: string[], env: Record<string, string>): Promise<string[]> {
  const dir = await tempDir()
  const record = join(dir, 'loaded.txt')
  const child = spawn(
    process.execPath,
    ['--import', './test/fixtures/record-imports.mjs', 'lib/src/cli/index.js', 'serve', ...args],
    {
      env: { PATH: process.env.PATH ?? '', RECORD_IMPORTS: record, XDG_STATE_HOME: dir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let output = ''
  child.stdout!.on('data', (d) => {
    output += d
  })
  child.stderr!.on('data', (d) => {
    output += d
  })
  try {
    const deadline = Date.now() + 20_000
    while (!/listening on|Watch the sandbox/.test(output)) {
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`warroom serve did not come up:\n${output}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  } finally {
    if (child.exitCode === null) {
      child.kill('SIGTERM')
      await new Promise((r) => child.once('exit', r))
    }
  }
  return readFileSync(record, 'utf8')
    .split('\n')
    .filter((u) => u.includes('/lib/src/'))
    .map((u) => u.slice(u.indexOf('/lib/src/') + 1))
}

describe('the sandbox off the production path', () => {
  it('is not loaded by warroom serve with credentials, and is by warroom serve --sandbox', {
    timeout: 60_000,
  }, async () => {
    const s = await sandbox()
    const dataDir = await tempDir()
    const production = await loadedBy(['--port', String(await freePort())], {
      FEISHU_APP_ID: s.appId,
      FEISHU_APP_SECRET: s.appSecret,
      FEISHU_DOMAIN: s.url,
      WARROOM_DATA_DIR: dataDir,
    })
    expect(production).toContain('lib/src/receiver/server.js')
    expect(production.filter((m) => /sandbox/.test(m))).toEqual([])
    const tried = await loadedBy(['--sandbox', '--port', String(await freePort())], {})
    expect(tried).toContain('lib/src/sandbox/server.js')
    expect(tried).toContain('lib/src/cli/sandbox-mode.js')
  })
})

describe('the log level', () => {
  it('WARROOM_LOG_LEVEL=debug shows the Feishu client’s retries with the incident’s key; info does not', async () => {
    const s = await sandbox()
    const run = async (level: string) => {
      const lines: string[] = []
      const served = await serveInProcess(
        {
          PATH: process.env.PATH ?? '',
          FEISHU_APP_ID: s.appId,
          FEISHU_APP_SECRET: s.appSecret,
          FEISHU_DOMAIN: s.url,
          WARROOM_DATA_DIR: await tempDir(),
          WARROOM_LOG_LEVEL: level,
          WARROOM_WEBHOOK_TOKEN: TOKEN,
        },
        { io: { out: () => {}, err: (t) => lines.push(t) } },
      )
      try {
        s.faults.add({ kind: 'status', status: 503, endpoint: 'createChat', times: 1 })
        const res = await post(`${served.url}/incidents`, { key: `log:${level}`, title: 'T' })
        expect(res.status).toBe(200)
      } finally {
        await served.stop()
      }
      return lines.map((l) => JSON.parse(l) as Record<string, unknown>)
    }
    const debug = await run('debug')
    expect(debug.find((l) => l.message === 'feishu call will be retried')).toMatchObject({
      level: 'debug',
    })
    expect(debug.find((l) => l.message === 'incident work done')).toMatchObject({
      key: 'log:debug',
    })
    const info = await run('info')
    expect(info.some((l) => l.level === 'debug')).toBe(false)
    expect(info.some((l) => l.message === 'webhook handled')).toBe(true)
    // A level that is none names what is wrong.
    const said: string[] = []
    expect(
      await main(
        ['check'],
        { WARROOM_LOG_LEVEL: 'loud' },
        { out: () => {}, err: (t) => said.push(t) },
      ),
    ).toBe(2)
    expect(said.join()).toContain(
      'WARROOM_LOG_LEVEL (server.log_level): Invalid option: expected one of "debug"|"info"|"warn"|"error"',
    )
  })
})
