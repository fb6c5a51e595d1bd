import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { request } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { freePort, sandbox, tempDir, view } from './helpers.js'
import { startReceiver, TOKEN } from './receiver-helpers.js'

// The real Prometheus Alertmanager (Debian's prometheus-alertmanager, installed by .ci/run).
const BINARY = ['prometheus-alertmanager', 'alertmanager'].find((name) => {
  try {
    execFileSync(name, ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})
if (!BINARY && process.env.CI)
  throw new Error('prometheus-alertmanager is not installed: .ci/run must install it')

let am: ChildProcess | undefined
afterEach(() => {
  am?.kill('SIGTERM')
  am = undefined
})

async function until<T>(what: string, check: () => T | undefined | false, ms = 20_000): Promise<T> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    const value = check()
    if (value) return value
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`timed out waiting for ${what}`)
}

describe.skipIf(!BINARY)('the real Alertmanager sending to the receiver', () => {
  it('opens a routed war room, updates the card when an alert joins, and resolves with a green card and a rename', {
    timeout: 60_000,
  }, async () => {
    const s = await sandbox()
    const [alice, bob] = [...s.state.users.values()]
    const { url } = await startReceiver(s, {
      config: {
        routes: [{ match: { team: 'payments' }, members: ['alice@example.com', bob!.open_id] }],
      },
    })
    const dir = await tempDir()
    const port = await freePort()
    const configFile = join(dir, 'alertmanager.yml')
    await writeFile(
      configFile,
      `route:
  receiver: warroom
  group_by: [alertname, team]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: warroom
    webhook_configs:
      - url: ${url}/alertmanager
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: ${TOKEN}
`,
    )
    am = spawn(
      BINARY!,
      [
        `--config.file=${configFile}`,
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    )
    let amLog = ''
    am.stderr!.on('data', (d: Buffer) => {
      amLog += d.toString()
    })
    const amUrl = `http://127.0.0.1:${port}`
    const readyEnd = Date.now() + 15_000
    for (;;) {
      try {
        const r = await request(`${amUrl}/-/ready`)
        await r.body.dump()
        if (r.statusCode === 200) break
      } catch {
        // not listening yet
      }
      if (Date.now() > readyEnd) throw new Error(`Alertmanager did not start:\n${amLog}`)
      await new Promise((r) => setTimeout(r, 100))
    }

    const startsAt = new Date().toISOString()
    const alertBody = (instance: string, endsAt?: string) => ({
      labels: { alertname: 'HighErrorRate', team: 'payments', severity: 'critical', instance },
      annotations: {
        summary: 'Checkout 5xx above 5%',
        description: `instance ${instance} is failing`,
      },
      startsAt,
      ...(endsAt ? { endsAt } : {}),
      generatorURL: `http://prometheus.acme.example/graph?i=${instance}`,
    })
    const postAlerts = async (alerts: unknown[]) => {
      const r = await request(`${amUrl}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alerts),
      })
      expect(r.statusCode, await r.body.text()).toBe(200)
    }

    await postAlerts([alertBody('checkout-1')])
    const chat = await until('a war room', () =>
      [...s.state.chats.values()].find((c) => c.description.includes('[warroom:')),
    )
    // The chat exists before its card is posted and pinned: wait for the whole opening.
    await until('the pinned card', () => view(s, chat.chat_id).pinned.length === 1)
    let v = view(s, chat.chat_id)
    expect(v.name).toBe('🔥 [P0] Checkout 5xx above 5%')
    expect(v.members.sort()).toEqual([alice!.open_id, bob!.open_id].sort())
    expect(v.cards).toHaveLength(1)
    expect(v.pinned).toEqual([v.cards[0]!.message_id])

    await postAlerts([alertBody('checkout-2')])
    await until('the card to show the second alert', () =>
      view(s, chat.chat_id).cardRead.includes('instance=checkout-2'),
    )
    v = view(s, chat.chat_id)
    expect(v.cards).toHaveLength(1)
    expect(s.state.messages.get(v.cards[0]!.message_id)!.patches).toBeGreaterThanOrEqual(1)

    const past = new Date(Date.now() - 1000).toISOString()
    await postAlerts([alertBody('checkout-1', past), alertBody('checkout-2', past)])
    await until('the chat to be renamed resolved', () =>
      view(s, chat.chat_id).name.startsWith('[已解决] '),
    )
    v = view(s, chat.chat_id)
    expect(v.name).toBe('[已解决] [P0] Checkout 5xx above 5%')
    expect(v.card.header.template).toBe('green')
    expect(v.posts.some((p) => p.includes('事件已解决'))).toBe(true)
    expect(
      [...s.state.chats.values()].filter((c) => c.description.includes('[warroom:')),
    ).toHaveLength(1)
  })
})
