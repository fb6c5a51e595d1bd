// Benchmark 2c: escalation through a storm. 1,000 incidents open at once against the sandbox
// (its own process, Feishu's limits on), each with a two-step escalation (app after 15 s, SMS
// after 30 s) that nobody acknowledges. Measured: how late each step fires after its due time
// (the urgent call as the sandbox records it, against the episode's start in the store), and,
// with the file store, how many bytes it wrote (its own count, warroom_file_store_bytes_written_total;
// the pages the kernel saw dirtied, /proc/<pid>/io write_bytes, are given too) against the records' size.

import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Pool, request } from 'undici'
import { freePort, percentile, startServe } from './lib.mjs'
import { startSandboxProcess } from './storm.mjs'

const TOKEN = 'bench-webhook-token'
const STEPS = [
  { after: 15_000, urgent: 'app' },
  { after: 30_000, urgent: 'sms' },
]

const writeBytes = (pid) =>
  Number(/^write_bytes: (\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? Number.NaN)

export async function escalationStorm({ incidents = 1000, database, invite = false } = {}) {
  const sandbox = await startSandboxProcess('sliding')
  const dir = mkdtempSync(join(tmpdir(), 'warroom-escalation-'))
  const data = join(dir, 'data')
  const config = join(dir, 'warroom.yml')
  writeFileSync(
    config,
    [
      'server:',
      `  data_dir: ${data}`,
      ...(database
        ? [`  database_url: ${database.url}`, `  database_schema: ${database.schema}`]
        : []),
      'auth:',
      `  bearer_token: ${TOKEN}`,
      'intake:',
      '  max_new_chats_per_minute: 100000',
      '  max_new_chats_per_source_per_minute: 100000',
      'urgent:',
      '  per_incident_per_hour: 10',
      '  paid_per_hour: 100000',
      'routes:',
      '  - match: { team: esc }',
      // The responders are in the chat; with `invite`, each step names someone to invite first.
      `    members: ${invite ? '[alice@example.com]' : '[alice@example.com, bob@example.com]'}`,
      '    escalation:',
      `      - { after: ${STEPS[0].after / 1000}s, urgent: app, to: [${invite ? 'bob' : 'alice'}@example.com] }`,
      `      - { after: ${STEPS[1].after / 1000}s, urgent: sms, to: [${invite ? 'carol' : 'bob'}@example.com] }`,
      '',
    ].join('\n'),
  )
  const env = {
    FEISHU_APP_ID: sandbox.appId,
    FEISHU_APP_SECRET: sandbox.appSecret,
    FEISHU_DOMAIN: sandbox.url,
  }
  const port = await freePort()
  const receiver = await startServe(['--config', config, '--port', String(port)], env)
  const before = writeBytes(receiver.child.pid)
  const pool = new Pool(`http://127.0.0.1:${port}`, {
    connections: 128,
    headersTimeout: 300_000,
    bodyTimeout: 300_000,
  })
  const started = Date.now()
  let refused = 0
  let socketErrors = 0
  await Promise.all(
    Array.from({ length: incidents }, async (_, i) => {
      for (;;) {
        // A connection the receiver closed (keep-alive) is tried again, as Alertmanager would.
        const res = await pool
          .request({
            path: '/incidents',
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
            body: JSON.stringify({
              key: `esc:${i}`,
              title: `escalation ${i}`,
              severity: 'warning',
              labels: { team: 'esc' },
            }),
          })
          .catch((error) => {
            if (receiver.child.exitCode !== null)
              throw new Error(
                `the receiver exited (${receiver.child.exitCode}): ${receiver.log().slice(-2000)}`,
              )
            socketErrors++
            return { statusCode: 599, body: { dump: async () => {} }, error }
          })
        await res.body.dump()
        if (res.statusCode < 500) return
        refused++
        await new Promise((r) => setTimeout(r, 1000))
      }
    }),
  )
  const openedMs = Date.now() - started
  // Every step of every incident, or five minutes.
  let state
  for (;;) {
    state = await sandbox.state()
    if (state.urgent.length >= incidents * STEPS.length || Date.now() - started > 300_000) break
    await new Promise((r) => setTimeout(r, 1000))
  }
  await new Promise((r) => setTimeout(r, 2000))
  const pages = writeBytes(receiver.child.pid) - before
  const metrics = await (await request(`http://127.0.0.1:${port}/metrics`)).body.text()
  const written = Number(
    /^warroom_file_store_bytes_written_total (\d+)/m.exec(metrics)?.[1] ?? Number.NaN,
  )
  await new Promise((resolve) => {
    receiver.child.once('exit', resolve)
    receiver.child.kill('SIGTERM')
  })
  // When each episode started, by its card: from the store the receiver wrote.
  const startedAt = new Map()
  let recordBytes = 0
  if (database) {
    const { default: pg } = await import('pg')
    const client = new pg.Client({ connectionString: database.url })
    await client.connect()
    const { rows } = await client.query(`SELECT record FROM "${database.schema}".incidents`)
    for (const { record } of rows) startedAt.set(record.cardMessageId, record.escalation?.startedAt)
    await client.end()
  } else {
    const files = readdirSync(join(data, 'incidents')).filter((n) => n.endsWith('.json'))
    for (const name of files) {
      const path = join(data, 'incidents', name)
      recordBytes += statSync(path).size
      const record = JSON.parse(readFileSync(path, 'utf8'))
      startedAt.set(record.cardMessageId, record.escalation?.startedAt)
    }
  }
  const lateness = []
  const seen = new Map()
  for (const u of state.urgent) {
    const step = u.kind === 'app' ? 0 : 1
    const key = `${u.message_id}:${step}`
    seen.set(key, (seen.get(key) ?? 0) + 1)
    const start = startedAt.get(u.message_id)
    if (start !== undefined) lateness.push(u.at - (start + STEPS[step].after))
  }
  lateness.sort((a, b) => a - b)
  await sandbox.close()
  // Why a step was late: the receiver's warnings about failed jobs, by message.
  const failures = {}
  for (const line of receiver.log().split('\n')) {
    if (!line.includes('escalation job failed')) continue
    const why = (/"error":"([^"]{0,120})/.exec(line)?.[1] ?? '?').replace(/oc_\w+|om_\w+/g, '…')
    failures[why] = (failures[why] ?? 0) + 1
  }
  return {
    store: database ? 'postgres' : 'file',
    invite,
    incidents,
    openedMs,
    refused,
    socketErrors,
    steps: state.urgent.length,
    expectedSteps: incidents * STEPS.length,
    twice: [...seen.values()].filter((n) => n > 1).length,
    lateOver5s: lateness.filter((ms) => ms > 5000).length,
    failedJobs: failures,
    latenessMs: {
      p50: percentile(lateness, 50),
      p99: percentile(lateness, 99),
      max: lateness.at(-1),
      min: lateness[0],
    },
    ...(database
      ? {}
      : {
          writtenMiB: written / 2 ** 20,
          pagesMiB: pages / 2 ** 20,
          recordsMiB: recordBytes / 2 ** 20,
          writeRatio: written / recordBytes,
        }),
  }
}
