// Benchmark 3: the receiver's repeat path (an identical notification: zero
// Feishu calls) against a bare node:http server answering 200, same machine, same load.
import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Pool, request } from 'undici'
import { startSandbox } from '../lib/src/sandbox/server.js'
import { freePort, percentile, startServe } from './lib.mjs'

const BARE = `require('node:http').createServer((req, res) => { req.resume(); req.on('end', () => { res.writeHead(200, {'content-type':'application/json'}); res.end('{}') }) }).listen(Number(process.argv[1]), '127.0.0.1')`

async function load(url, path, body, { seconds = 5, concurrency = 64 } = {}) {
  const pool = new Pool(url, { connections: concurrency })
  const latencies = []
  const end = Date.now() + seconds * 1000
  let errors = 0
  const worker = async () => {
    while (Date.now() < end) {
      const t0 = process.hrtime.bigint()
      try {
        const res = await pool.request({
          path,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        })
        await res.body.dump()
        if (res.statusCode !== 200) errors++
      } catch {
        errors++
      }
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6)
    }
  }
  const started = Date.now()
  await Promise.all(Array.from({ length: concurrency }, worker))
  const elapsed = (Date.now() - started) / 1000
  await pool.close()
  latencies.sort((a, b) => a - b)
  return {
    rps: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    errors,
    requests: latencies.length,
  }
}

export async function overhead({ seconds = 5, database } = {}) {
  const payload = JSON.stringify({
    version: '4',
    groupKey: '{}:{alertname="Repeat"}',
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'bench',
    groupLabels: { alertname: 'Repeat' },
    commonLabels: { alertname: 'Repeat', severity: 'warning' },
    commonAnnotations: { summary: 'repeat path' },
    externalURL: 'http://alertmanager.example',
    alerts: [
      {
        status: 'firing',
        labels: { alertname: 'Repeat', severity: 'warning', instance: 'a' },
        annotations: { summary: 'repeat path' },
        startsAt: '2026-11-25T09:00:00Z',
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: 'http://prometheus.example/graph',
        fingerprint: 'aaaaaaaaaaaaaaaa',
      },
    ],
  })
  // The receiver against a sandbox (no rate limits: the repeat path makes no calls); the first
  // notification opens the war room. With the file store, then with PostgreSQL when given one.
  const sandbox = await startSandbox()
  // 64 connections from one address, with the default server settings (a busy sender is not capped).
  const config = join(mkdtempSync(join(tmpdir(), 'warroom-bench-overhead-')), 'warroom.yml')
  writeFileSync(config, 'server:\n  port: 0\n')
  const measure = async (extraEnv) => {
    const port = await freePort()
    const receiver = await startServe(['--config', config, '--port', String(port)], {
      FEISHU_APP_ID: sandbox.appId,
      FEISHU_APP_SECRET: sandbox.appSecret,
      FEISHU_DOMAIN: sandbox.url,
      WARROOM_DATA_DIR: mkdtempSync(join(tmpdir(), 'warroom-bench-overhead-')),
      ...extraEnv,
    })
    const first = await request(`${receiver.url}/alertmanager`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: payload,
    })
    const opened = await first.body.json()
    // The PostgreSQL run finds the chat the file run opened (it syncs from the sandbox): updated.
    if (!['opened', 'updated'].includes(opened.action))
      throw new Error(`expected the war room to open, got ${JSON.stringify(opened)}`)
    await load(receiver.url, '/alertmanager', payload, { seconds: 1 }) // warm-up
    const result = await load(receiver.url, '/alertmanager', payload, { seconds })
    receiver.child.kill('SIGTERM')
    await new Promise((r) => receiver.child.once('exit', r))
    return result
  }
  const warroom = await measure({})
  const postgres = database
    ? await measure({
        WARROOM_DATABASE_URL: database.url,
        WARROOM_DATABASE_SCHEMA: database.schema,
      })
    : undefined
  await sandbox.close()

  const barePort = await freePort()
  const bare = spawn(process.execPath, ['-e', BARE, String(barePort)], { stdio: 'ignore' })
  await new Promise((r) => setTimeout(r, 300))
  const bareUrl = `http://127.0.0.1:${barePort}`
  await load(bareUrl, '/', payload, { seconds: 1 })
  const baseline = await load(bareUrl, '/', payload, { seconds })
  bare.kill()
  return {
    warroom,
    postgres,
    baseline,
    ratio: warroom.rps / baseline.rps,
    postgresRatio: postgres ? postgres.rps / baseline.rps : undefined,
  }
}
