// Benchmark 2 and 5a: an alert storm against the receiver (its own process) and
// the sandbox with Feishu's documented rate limits on.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Pool } from 'undici'
import { startSandbox } from '../lib/src/sandbox/server.js'
import { freePort, peakRssMiB, startServe } from './lib.mjs'

const TOKEN = 'bench-webhook-token'
const ZERO = '0001-01-01T00:00:00Z'

function alert(g, i, status = 'firing') {
  const labels = { alertname: `Storm${g}`, team: `t${g}`, instance: `i${i}`, severity: 'warning' }
  return {
    status,
    labels,
    annotations: { summary: `storm ${g}` },
    startsAt: '2026-11-25T09:00:00Z',
    endsAt: status === 'resolved' ? '2026-11-25T09:30:00Z' : ZERO,
    generatorURL: `http://prometheus.example/graph?g=${g}&i=${i}`,
    fingerprint: `${g.toString(16).padStart(8, '0')}${i.toString(16).padStart(8, '0')}`,
  }
}

function body(g, alerts) {
  return {
    version: '4',
    groupKey: `{}/{team="t${g}"}:{alertname="Storm${g}"}`,
    truncatedAlerts: 0,
    status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    receiver: 'warroom',
    groupLabels: { alertname: `Storm${g}`, team: `t${g}` },
    commonLabels: { alertname: `Storm${g}`, team: `t${g}`, severity: 'warning' },
    commonAnnotations: { summary: `storm ${g}` },
    externalURL: 'http://alertmanager.example:9093',
    alerts,
  }
}

/** Ten notifications per group: firing grows, repeats, one alert resolves; even groups end resolved. */
function story(g) {
  const a = (i, s) => alert(g, i, s)
  const n = [
    body(g, [a(1)]),
    body(g, [a(1), a(2)]),
    body(g, [a(1), a(2)]),
    body(g, [a(1), a(2), a(3)]),
    body(g, [a(1), a(2), a(3)]),
    body(g, [a(1, 'resolved'), a(2), a(3)]),
    body(g, [a(2), a(3)]),
    body(g, [a(2), a(3)]),
    body(g, [a(2), a(3)]),
  ]
  n.push(g % 2 === 0 ? body(g, [a(2, 'resolved'), a(3, 'resolved')]) : body(g, [a(2), a(3)]))
  return n
}

export async function storm({
  groups = 200,
  perGroup = 10,
  windowMs = 10_000,
  windows = 'sliding',
} = {}) {
  const sandbox = await startSandbox({ rateLimits: true, rateLimitWindows: windows })
  const dir = mkdtempSync(join(tmpdir(), 'warroom-storm-'))
  const port = await freePort()
  const config = join(dir, 'warroom.yml')
  writeFileSync(
    config,
    // The storm measures pacing, not the new-chat budget (intake), which would hold most groups back.
    `server:\n  data_dir: ${join(dir, 'data')}\n  max_connections_per_ip: 1024\nauth:\n  bearer_token: ${TOKEN}\nintake:\n  max_new_chats_per_minute: 100000\n  max_new_chats_per_source_per_minute: 100000\n`,
  )
  const receiver = await startServe(['--config', config, '--port', String(port)], {
    FEISHU_APP_ID: sandbox.appId,
    FEISHU_APP_SECRET: sandbox.appSecret,
    FEISHU_DOMAIN: sandbox.url,
  })
  const pool = new Pool(receiver.url, {
    connections: 256,
    headersTimeout: 120_000,
    bodyTimeout: 120_000,
  })
  const stats = { sent: 0, retries: 0, answers: {} }
  const deliver = async (payload) => {
    const text = JSON.stringify(payload)
    for (let attempt = 0; ; attempt++) {
      stats.sent++
      try {
        const res = await pool.request({
          path: '/alertmanager',
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
          body: text,
        })
        const answer = await res.body.json()
        const key = `${res.statusCode} ${answer.action ?? answer.error ?? ''}`
        stats.answers[key] = (stats.answers[key] ?? 0) + 1
        if (res.statusCode < 500) return answer
      } catch (error) {
        stats.answers[`error ${error.code}`] = (stats.answers[`error ${error.code}`] ?? 0) + 1
      }
      stats.retries++
      // Alertmanager's backoff: 0.5 s × 1.5 per attempt, ±50 %.
      await new Promise((r) => setTimeout(r, 500 * 1.5 ** attempt * (0.5 + Math.random())))
    }
  }
  const started = Date.now()
  const gap = windowMs / perGroup
  await Promise.all(
    Array.from({ length: groups }, async (_, g) => {
      // Spread the groups' first notifications over the first interval, then one per interval.
      await new Promise((r) => setTimeout(r, (g / groups) * gap))
      let next = Date.now()
      for (const payload of story(g).slice(0, perGroup)) {
        const wait = next - Date.now()
        if (wait > 0) await new Promise((r) => setTimeout(r, wait))
        next += gap
        await deliver(payload)
      }
    }),
  )
  const sentWithinMs = Date.now() - started
  // The summary messages are written after the resolutions, in the background: wait for them too.
  const expectedSummaries = Math.ceil(groups / 2)
  while (
    [...sandbox.state.messages.values()].filter((m) => m.content.includes('复盘摘要')).length <
    expectedSummaries
  ) {
    if (Date.now() - started > 300_000) break
    await new Promise((r) => setTimeout(r, 50))
  }
  const drainMs = Date.now() - started
  const rss = peakRssMiB(receiver.child.pid)

  // What Feishu shows afterwards.
  const chats = [...sandbox.state.chats.values()].filter((c) => c.description.includes('[warroom:'))
  let wrong = 0
  for (let g = 0; g < groups; g++) {
    const chat = chats.filter((c) => c.name.endsWith(`storm ${g}`))
    const cards = chat[0]
      ? sandbox.state.messagesIn(chat[0].chat_id).filter((m) => m.msg_type === 'interactive')
      : []
    const resolved = chat[0]?.name.startsWith('[已解决] ')
    if (chat.length !== 1 || cards.length !== 1 || resolved !== (g % 2 === 0 && perGroup >= 10))
      wrong++
  }
  // Lower bound: each API admits 50 calls per second. Counted over sliding windows, n calls need the first
  // and the last to be at least ceil(n/50) − 1 seconds apart; over fixed windows aligned to the second the
  // first may come at the end of its window and the last at the start of its own: ceil(n/50) − 2.
  const requested = {}
  for (const r of sandbox.requests) requested[r.endpoint] = (requested[r.endpoint] ?? 0) + 1
  const calls = countAccepted(sandbox)
  const boundSeconds = Math.max(
    ...Object.entries(calls)
      .filter(([e]) => e !== 'token')
      .map(([, n]) => Math.ceil(n / 50) - (windows === 'fixed' ? 2 : 1)),
  )
  const refusedByFeishu = sandbox.refusedByLimits
  const answered5xx = Object.entries(stats.answers)
    .filter(([k]) => /^5\d\d /.test(k))
    .reduce((n, [, v]) => n + v, 0)
  receiver.child.kill('SIGTERM')
  await pool.close()
  await sandbox.close()
  return {
    windows,
    refusedByFeishu,
    answered5xx,
    groups,
    notifications: groups * perGroup,
    sentWithinMs,
    drainMs,
    boundSeconds,
    calls,
    requested,
    chats: chats.length,
    wrong,
    stats,
    peakRssMiB: rss,
  }
}

/** Successful Open API calls per endpoint (the sandbox keeps each request; rate-limited ones are repeated). */
function countAccepted(sandbox) {
  const s = sandbox.state
  const cards = [...s.messages.values()].filter((m) => m.msg_type === 'interactive')
  return {
    createChat: [...s.chats.values()].filter((c) => c.description.includes('[warroom:')).length,
    sendMessage: [...s.messages.values()].filter((m) => m.sender.sender_type === 'app').length,
    patchMessage: cards.reduce((n, m) => n + m.patches, 0),
    updateChat: [...s.chats.values()].reduce((n, c) => n + Math.max(0, c.names.length - 1), 0),
    pinMessage: s.pins.size,
  }
}
