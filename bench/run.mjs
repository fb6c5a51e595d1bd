// npm run bench: every benchmark in BENCHMARKS.md, printed as it finishes.
import os from 'node:os'
import { callsPerOperation } from './calls.mjs'
import { coldStart } from './coldstart.mjs'
import { escalationStorm } from './escalation-storm.mjs'
import { fmt } from './lib.mjs'
import { overhead } from './overhead.mjs'
import { storm } from './storm.mjs'
import { timelineMemory } from './timeline-memory.mjs'

const only = process.argv.slice(2)
// The PostgreSQL benchmarks use a schema of their own in this database (the machine's, by default).
const DATABASE_URL = process.env.WARROOM_BENCH_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test'
const database = (name) => ({ url: DATABASE_URL, schema: `bench_${name}_${Date.now()}` })
const want = (name) => only.length === 0 || only.includes(name)
console.log(
  `machine: ${os.cpus().length} × ${os.cpus()[0]?.model}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`,
)

if (want('calls')) {
  console.log('\n## 1. Feishu calls per operation')
  for (const row of await callsPerOperation())
    console.log(`- ${row.name}: ${row.calls} (${row.endpoints || 'none'})`)
}
if (want('storm')) {
  console.log('\n## 2. Alert storm (and 5a: receiver memory)')
  for (const budget of ['raised', 'default'])
    for (const windows of ['sliding', 'fixed']) {
      const r = await storm({ windows, budget })
      console.log(JSON.stringify(r, null, 2))
      const v = r.visibleMs
      console.log(
        `${budget} budget, ${windows} windows: drain ${fmt(r.drainMs / 1000)} s (last change in Feishu ${fmt(r.settledMs / 1000)} s) vs lower bound ${r.boundSeconds} s = ${fmt(r.drainMs / 1000 / r.boundSeconds, 2)}×; answered p50/p99/max ${v.all.p50}/${v.all.p99}/${v.all.max} ms (first ${v.first.max} max); last notification shown p50/p99/max ${v.lastNotificationShown.p50}/${v.lastNotificationShown.p99}/${v.lastNotificationShown.max} ms; ${r.stormed} in ${r.stormRooms} storm rooms; ${r.refusedByFeishu} calls refused by Feishu, ${r.answered5xx} notifications answered 5xx; ${r.chats} chats, ${r.wrong} wrong; peak RSS ${fmt(r.peakRssMiB)} MiB`,
      )
    }
}
if (want('replicas')) {
  console.log('\n## 2b. Alert storm across three replicas on one PostgreSQL')
  for (const kill of [false, true]) {
    const r = await storm({ replicas: 3, database: database('storm'), kill })
    console.log(JSON.stringify(r, null, 2))
    console.log(
      `3 replicas${kill ? ', one killed with SIGKILL and restarted' : ''}: drain ${fmt(r.drainMs / 1000)} s vs lower bound ${r.boundSeconds} s = ${fmt(r.drainMs / 1000 / r.boundSeconds, 2)}×; ${r.refusedByFeishu} calls refused by Feishu, ${r.answered5xx} notifications answered 5xx; ${r.chats} chats, ${r.wrong} wrong`,
    )
  }
}
if (want('escalation')) {
  console.log('\n## 2c. Escalation through a storm of 1,000 incidents')
  for (const [db, invite] of [
    [undefined, false],
    [database('escalation'), false],
    [undefined, true],
  ]) {
    const r = await escalationStorm({ ...(db ? { database: db } : {}), invite })
    console.log(JSON.stringify(r, null, 2))
    console.log(
      `${r.store} store${r.invite ? ', each step inviting someone' : ''}: ${r.steps}/${r.expectedSteps} steps, ${r.twice} twice; late p50 ${fmt(r.latenessMs.p50 / 1000)} s, p99 ${fmt(r.latenessMs.p99 / 1000)} s, max ${fmt(r.latenessMs.max / 1000)} s${r.writeRatio ? `; wrote ${fmt(r.writtenMiB)} MiB (${fmt(r.pagesMiB)} MiB of pages) for ${fmt(r.recordsMiB)} MiB of records (${fmt(r.writeRatio)}×)` : ''}`,
    )
  }
}
if (want('overhead')) {
  console.log('\n## 3. Receiver overhead on the repeat path')
  const r = await overhead({ database: database('overhead') })
  console.log(
    `warroom: ${fmt(r.warroom.rps, 0)} req/s, p50 ${fmt(r.warroom.p50, 2)} ms, p99 ${fmt(r.warroom.p99, 2)} ms, errors ${r.warroom.errors}`,
  )
  console.log(
    `bare:    ${fmt(r.baseline.rps, 0)} req/s, p50 ${fmt(r.baseline.p50, 2)} ms, p99 ${fmt(r.baseline.p99, 2)} ms`,
  )
  if (r.postgres)
    console.log(
      `warroom on PostgreSQL: ${fmt(r.postgres.rps, 0)} req/s, p50 ${fmt(r.postgres.p50, 2)} ms, p99 ${fmt(r.postgres.p99, 2)} ms, errors ${r.postgres.errors}`,
    )
  console.log(`ratio:   ${fmt(r.ratio, 2)} of the bare server's throughput`)
  if (r.postgres) console.log(`ratio on PostgreSQL: ${fmt(r.postgresRatio, 2)}`)
  const us = r.cpuPerRequestUs
  console.log(
    `server CPU per request: file ${fmt(us.file, 1)} µs, PostgreSQL ${fmt(us.postgres ?? Number.NaN, 1)} µs, bare ${fmt(us.bare, 1)} µs: capacity ${fmt(us.bare / us.file, 2)} / ${fmt(us.bare / (us.postgres ?? Number.NaN), 2)} of bare`,
  )
  console.log(
    `(medians of ${r.perRound.length} interleaved rounds; per round, file / PostgreSQL vs bare: ${r.perRound.map((x) => `${fmt(x.file, 2)} / ${fmt(x.postgres ?? Number.NaN, 2)}`).join(', ')})`,
  )
}
if (want('coldstart')) {
  console.log('\n## 4. Action cold start')
  const r = await coldStart()
  console.log(
    `node dist/index.js → first Feishu request: ${fmt(r.actionMs)} ms; node -e '': ${fmt(r.bareMs)} ms; difference ${fmt(r.aboveBareMs)} ms (median of ${r.runs})`,
  )
  console.log(
    `dist/index.js: ${fmt(r.sizeBytes / 1024, 0)} kB minified; unminified by package: ${r.composition.map((c) => `${c.pkg} ${c.kB} kB`).join(', ')}`,
  )
}
if (want('timeline')) {
  console.log('\n## 5b. Timeline export of a 5,000-message chat')
  const r = await timelineMemory()
  console.log(
    `${r.messages} messages in ${fmt(r.seconds)} s with the V8 heap capped at ${r.heapMiB} MiB: exit ${r.code}, peak RSS ${fmt(r.peakRssMiB)} MiB`,
  )
}
