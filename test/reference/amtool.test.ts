/**
 * Every Alertmanager configuration in README.md, checked by the real
 * `amtool check-config` (Debian's prometheus-alertmanager, which .ci/run installs).
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { tempDir } from '../support/helpers.js'
import { codeBlocks } from './markdown.js'

const AMTOOL = (() => {
  try {
    execFileSync('amtool', ['--version'], { stdio: 'ignore' })
    return 'amtool'
  } catch {
    return undefined
  }
})()
if (!AMTOOL && process.env.CI) throw new Error('amtool is not installed: .ci/run must install it')

const configs = codeBlocks('README.md').filter(
  (b) => b.lang === 'yaml' && /\n\s*webhook_configs:/.test(b.text),
)

async function checkConfig(text: string): Promise<{ ok: boolean; output: string }> {
  const file = join(await tempDir(), 'alertmanager.yml')
  writeFileSync(file, text)
  const run = spawnSync(AMTOOL!, ['check-config', file], { encoding: 'utf8' })
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` }
}

describe.skipIf(!AMTOOL)('amtool check-config', () => {
  it('finds the README’s Alertmanager configuration', () => {
    expect(configs.length).toBeGreaterThanOrEqual(1)
  })

  for (const block of configs) {
    it(`accepts the README configuration at line ${block.line}, with send_resolved and grouping`, async () => {
      const { ok, output } = await checkConfig(block.text)
      expect(output).toMatch(/SUCCESS/)
      expect(ok).toBe(true)
      const config = parse(block.text) as {
        route: { group_by?: string[]; group_wait?: string; group_interval?: string }
        receivers: Array<{ webhook_configs?: Array<{ url: string; send_resolved?: boolean }> }>
      }
      expect(config.route.group_by?.length).toBeGreaterThan(0)
      expect(config.route.group_wait).toBeDefined()
      expect(config.route.group_interval).toBeDefined()
      const hooks = config.receivers.flatMap((r) => r.webhook_configs ?? [])
      // The incidents' hook with send_resolved, or a heartbeat's (the Watchdog's, which never resolves).
      expect(
        hooks.some(
          (h) =>
            (h.url.endsWith('/alertmanager') && h.send_resolved) ||
            /\/heartbeat\/[\w.-]+$/.test(h.url),
        ),
      ).toBe(true)
    })
  }

  it('accepts the README’s PagerDuty notifier configuration (pagerduty_configs with url)', async () => {
    const blocks = codeBlocks('README.md').filter(
      (b) => b.lang === 'yaml' && /\n\s*pagerduty_configs:/.test(b.text),
    )
    expect(blocks).toHaveLength(1)
    const { ok, output } = await checkConfig(blocks[0]!.text)
    expect(output).toMatch(/SUCCESS/)
    expect(ok).toBe(true)
    const config = parse(blocks[0]!.text) as {
      receivers: Array<{ pagerduty_configs?: Array<{ url: string; send_resolved?: boolean }> }>
    }
    const pd = config.receivers.flatMap((r) => r.pagerduty_configs ?? [])
    expect(pd.some((h) => h.url.endsWith('/v2/enqueue') && h.send_resolved)).toBe(true)
  })

  it('refuses a receivers-only snippet, as the README once had', async () => {
    const { ok, output } = await checkConfig(
      'receivers:\n  - name: w\n    webhook_configs:\n      - url: http://x/alertmanager\n',
    )
    expect(ok).toBe(false)
    expect(output).toMatch(/no routes provided/)
  })
})
