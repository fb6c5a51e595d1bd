// Benchmark 2 and 5a: an alert storm against the receiver (its own process) and
// the sandbox with Feishu's documented rate limits on.

import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Pool, request } from 'undici'
import { freePort, peakRssMiB, startServe } from './lib.mjs'

const TOKEN = 'bench-webhook-token'
const HERE = dirname(fileURLToPath(import.meta.url))
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

/**
 * `replicas` receivers (each its own `warroom serve`), on one PostgreSQL
 * (`database: { url, schema }`) when there are several; notifications go to
 * them round-robin. With `kill`, one replica is killed with SIGKILL once a
 * fifth of the storm is sent and started again 300 ms later; `fault` (an
 * async function) runs at that moment instead (a database restart).
 */
export async function storm({
  groups = 200,
  perGroup = 10,
  windowMs = 10_000,
  windows = 'sliding',
  replicas = 1,
  database,
  kill = false,
  fault,
  /** 'raised' (the storm measures pacing) or 'default' (intake.* as shipped: storm rooms). */
  budget = 'raised',
  /** Called with the sandbox's final state and the start time (diagnostics). */
  inspect,
} = {}) {
  const sandbox = await startSandboxProcess(windows)
  const dir = mkdtempSync(join(tmpdir(), 'warroom-storm-'))
  const config = join(dir, 'warroom.yml')
  writeFileSync(
    config,
    // The storm measures pacing, not the new-chat budget (intake), which would hold most groups back.
    `server:\n  data_dir: ${join(dir, 'data')}\n${
      database ? `  database_url: ${database.url}\n  database_schema: ${database.schema}\n` : ''
    }auth:\n  bearer_token: ${TOKEN}\n${
      budget === 'raised'
        ? 'intake:\n  max_new_chats_per_minute: 100000\n  max_new_chats_per_source_per_minute: 100000\n'
        : ''
    }`,
  )
  const env = {
    FEISHU_APP_ID: sandbox.appId,
    FEISHU_APP_SECRET: sandbox.appSecret,
    FEISHU_DOMAIN: sandbox.url,
  }
  const ports = await Promise.all(Array.from({ length: replicas }, () => freePort()))
  const start = (port) => startServe(['--config', config, '--port', String(port)], env)
  const launched = await Promise.allSettled(ports.map(start))
  const failed = launched.find((r) => r.status === 'rejected')
  if (failed) {
    // Ends what it started (the receivers that came up, the sandbox) before giving up.
    for (const r of launched) if (r.status === 'fulfilled') r.value.child.kill('SIGKILL')
    await sandbox.close()
    throw failed.reason
  }
  const receivers = launched.map((r) => r.value)
  const pools = ports.map(
    (port) =>
      new Pool(`http://127.0.0.1:${port}`, {
        connections: 256,
        headersTimeout: 120_000,
        bodyTimeout: 120_000,
      }),
  )
  const sent = { sent: 0, retries: 0, answers: {}, killed: 0 }
  /**
   * Per notification, from its first delivery to its answer: the receiver answers once the
   * card shows the change (Feishu accepted the card or its patch), so this bounds its time to
   * visible (a repeat changes nothing: visible at once, counted by its answer).
   */
  const visible = { all: [], first: [], last: [] }
  const stormed = new Set()
  const firstAt = new Map()
  const lastChangeAt = new Map()
  const lastAt = new Map()
  /** Every answered delivery (diagnostics, through `inspect`). */
  const deliveries = []
  let turn = 0
  const deliver = async (payload, g, i) => {
    const text = JSON.stringify(payload)
    const t0 = Date.now()
    if (i === 0) firstAt.set(g, t0)
    for (let attempt = 0; ; attempt++) {
      sent.sent++
      // Round-robin, as a load balancer would; a retry goes to the next replica.
      const pool = pools[turn++ % pools.length]
      try {
        const res = await pool.request({
          path: '/alertmanager',
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
          body: text,
        })
        const answer = await res.body.json()
        const key = `${res.statusCode} ${answer.action ?? answer.error ?? ''}`
        sent.answers[key] = (sent.answers[key] ?? 0) + 1
        if (res.statusCode < 500) {
          const ms = Date.now() - t0
          visible.all.push(ms)
          if (i === 0) visible.first.push(ms)
          if (i === perGroup - 1) {
            visible.last.push(ms)
            lastAt.set(g, t0)
          }
          if (answer.storm) stormed.add(g)
          if (answer.action && answer.action !== 'none') lastChangeAt.set(g, t0)
          deliveries.push({ g, i, t0, ms, action: answer.action })
          return answer
        }
      } catch (error) {
        sent.answers[`error ${error.code}`] = (sent.answers[`error ${error.code}`] ?? 0) + 1
      }
      sent.retries++
      // Alertmanager's backoff: 0.5 s × 1.5 per attempt, ±50 %.
      await new Promise((r) => setTimeout(r, 500 * 1.5 ** attempt * (0.5 + Math.random())))
    }
  }
  const started = Date.now()
  const gap = windowMs / perGroup
  let delivered = 0
  const killer =
    kill || fault
      ? (async () => {
          while (delivered < (groups * perGroup) / 5) await new Promise((r) => setTimeout(r, 5))
          if (fault) return fault()
          const victim = replicas - 1
          receivers[victim].child.kill('SIGKILL')
          sent.killed++
          await new Promise((r) => setTimeout(r, 300))
          receivers[victim] = await start(ports[victim])
        })()
      : Promise.resolve()
  await Promise.all(
    Array.from({ length: groups }, async (_, g) => {
      // Spread the groups' first notifications over the first interval, then one per interval.
      await new Promise((r) => setTimeout(r, (g / groups) * gap))
      let next = Date.now()
      for (const [i, payload] of story(g).slice(0, perGroup).entries()) {
        const wait = next - Date.now()
        if (wait > 0) await new Promise((r) => setTimeout(r, wait))
        next += gap
        await deliver(payload, g, i)
        delivered++
      }
    }),
  )
  await killer
  const sentWithinMs = Date.now() - started
  // The summary messages are written after the resolutions, in the background: wait for them too.
  // Resolved groups with rooms of their own get a summary each; a storm room one when it resolves.
  const ownResolved = Array.from({ length: groups }, (_, g) => g).filter(
    (g) => g % 2 === 0 && !stormed.has(g),
  ).length
  const expectedSummaries = perGroup >= 10 ? ownResolved : 0
  const summaries = async () =>
    (await sandbox.state()).messages.filter((m) => JSON.stringify(m.content).includes('复盘摘要'))
      .length
  while ((await summaries()) < expectedSummaries) {
    if (Date.now() - started > 300_000) break
    await new Promise((r) => setTimeout(r, 250))
  }
  // Then until nothing has changed in Feishu for a second: the last patches and renames too.
  const lastChange = (state) =>
    Math.max(
      ...state.messages.map((m) => Number(m.create_time)),
      ...state.messages.flatMap((m) => (m.history ?? []).map((v) => v.at)),
    )
  let state = await sandbox.state()
  for (let seen = lastChange(state); Date.now() - seen < 1000; seen = lastChange(state)) {
    await new Promise((r) => setTimeout(r, 500))
    state = await sandbox.state()
  }
  // A little longer: a summary posted twice would show now.
  if (replicas > 1) await new Promise((r) => setTimeout(r, 2500))
  const rss = peakRssMiB(receivers[0].child.pid)

  // What Feishu shows afterwards. Times are the sandbox's, as it took each call (not when the bench looked).
  if (replicas > 1) state = await sandbox.state()
  const summaryTimes = state.messages
    .filter((m) => JSON.stringify(m.content).includes('复盘摘要'))
    .map((m) => Number(m.create_time))
  const drainMs = (summaryTimes.length ? Math.max(...summaryTimes) : lastChange(state)) - started
  const settledMs = lastChange(state) - started
  const stats = await sandbox.stats()
  if (inspect) await inspect(state, started, { lastAt, lastChangeAt, firstAt, deliveries })
  const byId = new Map(state.messages.map((m) => [m.message_id, m]))
  const chats = state.chats.filter((c) => c.description.includes('[warroom:'))
  const problems = []
  // Storm rooms: their cards list exactly the groups that did not get a room of their own.
  const stormRooms = chats.filter((c) => c.name.includes('告警风暴'))
  const listed = new Set()
  // When each stormed incident first showed on its storm room's card (the sandbox keeps every version).
  const inStormAt = new Map()
  for (const room of stormRooms) {
    const card = room.messages.map((id) => byId.get(id)).find((m) => m.msg_type === 'interactive')
    for (const m of JSON.stringify(card?.content ?? '').matchAll(/(?:#|&#35;)\d+ storm (\d+)/g))
      listed.add(Number(m[1]))
    for (const version of card?.history ?? [])
      for (const m of version.content.matchAll(/(?:#|&#35;)\d+ storm (\d+)/g))
        if (!inStormAt.has(Number(m[1]))) inStormAt.set(Number(m[1]), version.at)
  }
  const stormVisible = [...stormed].map((g) => (inStormAt.get(g) ?? Number.NaN) - firstAt.get(g))
  // Each own room's last change: from its delivery to the first card version showing the final state
  // (the footer's "updated" time aside). The answer may come before: a patch can follow in the background.
  const shown = (content) => {
    const card = typeof content === 'string' ? JSON.parse(content) : content
    return JSON.stringify({
      ...card,
      elements: (card.elements ?? []).filter((e) => e.tag !== 'note'),
    })
  }
  const lastVisible = []
  // The issue's measure: from the group's last notification's delivery until its chat shows it (0 when it
  // already did: a repeat of a state already on the card).
  const lastShown = []
  for (let g = 0; g < groups; g++) {
    const chat = chats.find((c) => c.name.endsWith(`storm ${g}`))
    const card = chat?.messages.map((id) => byId.get(id)).find((m) => m.msg_type === 'interactive')
    const history = card?.history ?? []
    if (!history.length || !lastChangeAt.has(g)) continue
    const final = shown(history[history.length - 1].content)
    const first = history.find((v) => shown(v.content) === final)
    // Visible is the card patched or a message posted (the issue's words): a resolution shows
    // by its card or its message, whichever comes first; an open incident's by its card alone.
    const resolution = chat.messages
      .map((id) => byId.get(id))
      .find(
        (m) => m.sender.sender_type === 'app' && JSON.stringify(m.content).includes('事件已解决'),
      )
    const at = Math.min(
      first.at,
      resolution ? Number(resolution.create_time) : Number.POSITIVE_INFINITY,
    )
    lastVisible.push(at - lastChangeAt.get(g))
    if (lastAt.has(g)) lastShown.push(Math.max(0, at - lastAt.get(g)))
  }
  for (let g = 0; g < groups; g++) {
    if (stormed.has(g) !== listed.has(g))
      problems.push(`group ${g}: stormed ${stormed.has(g)}, listed ${listed.has(g)}`)
    if (stormed.has(g)) continue
    const chat = chats.filter((c) => c.name.endsWith(`storm ${g}`))
    const messages = chat[0] ? chat[0].messages.map((id) => byId.get(id)) : []
    const cards = messages.filter((m) => m.msg_type === 'interactive')
    const resolved = chat[0]?.name.startsWith('[已解决] ')
    const shouldResolve = g % 2 === 0 && perGroup >= 10
    const texts = messages
      .filter((m) => m.sender.sender_type === 'app' && m.msg_type !== 'interactive')
      .map((m) => JSON.stringify(m.content))
    const twice = texts.filter((t, i) => texts.indexOf(t) !== i)
    const resolutions = texts.filter((t) => t.includes('事件已解决')).length
    const reviews = texts.filter((t) => t.includes('复盘摘要')).length
    if (chat.length !== 1) problems.push(`group ${g}: ${chat.length} chats`)
    else if (cards.length !== 1) problems.push(`group ${g}: ${cards.length} cards`)
    else if (resolved !== shouldResolve) problems.push(`group ${g}: resolved ${resolved}`)
    else if (twice.length) problems.push(`group ${g}: posted twice: ${twice[0].slice(0, 80)}`)
    else if (shouldResolve && (resolutions !== 1 || reviews !== 1))
      problems.push(`group ${g}: ${resolutions} resolution and ${reviews} review messages`)
  }
  const wrong = problems.length
  // Lower bound: each API admits 50 calls per second. Counted over sliding windows, n calls need the first
  // and the last to be at least ceil(n/50) − 1 seconds apart; over fixed windows aligned to the second the
  // first may come at the end of its window and the last at the start of its own: ceil(n/50) − 2.
  const requested = stats.requests
  const calls = countAccepted(state)
  const boundSeconds = Math.max(
    ...Object.entries(calls)
      .filter(([e]) => e !== 'token')
      .map(([, n]) => Math.ceil(n / 50) - (windows === 'fixed' ? 2 : 1)),
  )
  const refusedByFeishu = stats.refusedByLimits
  const answered5xx = Object.entries(sent.answers)
    .filter(([k]) => /^5\d\d /.test(k))
    .reduce((n, [, v]) => n + v, 0)
  // Ends the receivers it started, by pid, and waits for them to go.
  await Promise.all(
    receivers.map(
      (r) =>
        new Promise((resolve) => {
          if (r.child.exitCode !== null) return resolve()
          r.child.once('exit', resolve)
          r.child.kill('SIGTERM')
        }),
    ),
  )
  await Promise.all(pools.map((p) => p.close()))
  await sandbox.close()
  const pct = (list, p) => {
    const sorted = [...list].sort((a, b) => a - b)
    return sorted.length
      ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
      : 0
  }
  const spread = (list) => ({ p50: pct(list, 50), p99: pct(list, 99), max: pct(list, 100) })
  return {
    windows,
    budget,
    replicas,
    visibleMs: {
      all: spread(visible.all),
      first: spread(visible.first),
      last: spread(visible.last),
      inStormRoom: spread(stormVisible),
      lastChangeShown: spread(lastVisible),
      lastNotificationShown: spread(lastShown),
    },
    stormed: stormed.size,
    stormRooms: stormRooms.length,
    killed: sent.killed,
    refusedByFeishu,
    refusedBy: stats.refusedBy,
    answered5xx,
    groups,
    notifications: groups * perGroup,
    sentWithinMs,
    drainMs,
    settledMs,
    boundSeconds,
    calls,
    requested,
    chats: chats.length,
    wrong,
    problems: problems.slice(0, 10),
    stats: sent,
    peakRssMiB: rss,
  }
}

/** Successful Open API calls per endpoint, from the sandbox's state (refused calls are repeated). */
function countAccepted(state) {
  const cards = state.messages.filter((m) => m.msg_type === 'interactive')
  return {
    createChat: state.chats.filter((c) => c.description.includes('[warroom:')).length,
    sendMessage: state.messages.filter((m) => m.sender.sender_type === 'app').length,
    patchMessage: cards.reduce((n, m) => n + m.patches, 0),
    updateChat: state.chats.reduce((n, c) => n + Math.max(0, c.names.length - 1), 0),
    pinMessage: state.pins.length,
  }
}

/** The sandbox as its own process (bench/sandbox-process.mjs), read through its control API. */
export async function startSandboxProcess(windows) {
  const child = spawn(process.execPath, [join(HERE, 'sandbox-process.mjs'), windows], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const line = await new Promise((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
      if (out.includes('\n')) resolve(out.split('\n')[0])
    })
    child.once('exit', (code) => reject(new Error(`the sandbox exited (${code})`)))
  })
  const { url, appId, appSecret } = JSON.parse(line)
  const get = async (path) => (await request(`${url}${path}`)).body.json()
  return {
    url,
    appId,
    appSecret,
    state: () => get('/_sandbox/state'),
    stats: () => get('/_sandbox/stats'),
    close: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', resolve)
        child.kill('SIGTERM')
      }),
  }
}
