import { execFileSync, spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { request } from 'undici'
import { expect } from 'vitest'
import { afterThisTest } from './cleanup.js'
import { freePort, tempDir } from './helpers.js'
import { TOKEN } from './receiver.js'

/** The real Prometheus Alertmanager (Debian's prometheus-alertmanager, installed by .ci/run). */
export const ALERTMANAGER = ['prometheus-alertmanager', 'alertmanager'].find((name) => {
  try {
    execFileSync(name, ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})
if (!ALERTMANAGER && process.env.CI)
  throw new Error('prometheus-alertmanager is not installed: .ci/run must install it')

/** The route and receiver of a test: one group per alertname and team, quick intervals. */
export function webhookConfig(receiverUrl: string): string {
  return `route:
  receiver: warroom
  group_by: [alertname, team]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: warroom
    webhook_configs:
      - url: ${receiverUrl}/alertmanager
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: ${TOKEN}
`
}

export interface RunningAlertmanager {
  url: string
  clusterPort: number
  /** Writes a new configuration and has Alertmanager reload it (POST /-/reload). */
  reload(config: string): Promise<void>
  log: () => string
  postAlerts(alerts: unknown[]): Promise<void>
}

/**
 * Starts an Alertmanager (ended after the test, by pid). With `cluster`, it
 * listens for peers on its cluster port and joins `peers`.
 */
export async function startAlertmanager(
  config: string,
  cluster?: { port: number; peers: number[]; peerTimeout?: string },
): Promise<RunningAlertmanager> {
  const dir = await tempDir()
  const port = await freePort()
  const configFile = join(dir, 'alertmanager.yml')
  await writeFile(configFile, config)
  const clusterArgs = cluster
    ? [
        `--cluster.listen-address=127.0.0.1:${cluster.port}`,
        `--cluster.advertise-address=127.0.0.1:${cluster.port}`,
        ...cluster.peers.map((p) => `--cluster.peer=127.0.0.1:${p}`),
        '--cluster.gossip-interval=100ms',
        '--cluster.pushpull-interval=1s',
        // How long the second peer waits for the first's notification to show in the gossip
        // before sending it itself (default 15 s).
        `--cluster.peer-timeout=${cluster.peerTimeout ?? '15s'}`,
        '--cluster.settle-timeout=2s',
      ]
    : ['--cluster.listen-address=']
  const am = spawn(
    ALERTMANAGER!,
    [
      `--config.file=${configFile}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      ...clusterArgs,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  afterThisTest(() => {
    if (am.exitCode === null) am.kill('SIGTERM')
  })
  let log = ''
  am.stderr!.on('data', (d: Buffer) => {
    log += d.toString()
  })
  const url = `http://127.0.0.1:${port}`
  const readyEnd = Date.now() + 20_000
  for (;;) {
    try {
      const r = await request(`${url}/-/ready`)
      await r.body.dump()
      if (r.statusCode === 200) break
    } catch {
      // not listening yet
    }
    if (Date.now() > readyEnd) throw new Error(`Alertmanager did not start:\n${log}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    url,
    clusterPort: cluster?.port ?? 0,
    log: () => log,
    async reload(next) {
      await writeFile(configFile, next)
      const r = await request(`${url}/-/reload`, { method: 'POST' })
      expect(r.statusCode, `${await r.body.text()}\n${log}`).toBe(200)
    },
    async postAlerts(alerts) {
      const r = await request(`${url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alerts),
      })
      expect(r.statusCode, await r.body.text()).toBe(200)
    },
  }
}
