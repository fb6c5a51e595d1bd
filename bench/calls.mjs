// Benchmark 1: Feishu calls per operation, counted against the sandbox.

import { WarRoom } from '../lib/src/core/warroom.js'
import { FeishuClient } from '../lib/src/feishu/client.js'
import { startSandbox } from '../lib/src/sandbox/server.js'
import { MemoryStore } from '../lib/src/store/store.js'

export async function callsPerOperation() {
  const sandbox = await startSandbox()
  const users = Array.from({ length: 10 }, (_, i) =>
    sandbox.state.addUser({ name: `Responder ${i}`, email: `responder${i}@corp.example` }),
  )
  const client = new FeishuClient({
    appId: sandbox.appId,
    appSecret: sandbox.appSecret,
    domain: sandbox.url,
  })
  const room = new WarRoom({ client, store: new MemoryStore(), now: () => sandbox.now() })
  const base = (key, extra = {}) => ({
    key,
    title: `Checkout errors ${key}`,
    items: [{ id: 'a1', title: 'pod a 5xx', status: 'firing' }],
    ...extra,
  })
  const rows = []
  const run = async (name, fn) => {
    const before = sandbox.requests.filter((r) => r.endpoint !== 'token').length
    const result = await fn()
    const after = sandbox.requests.filter((r) => r.endpoint !== 'token')
    const endpoints = after.slice(before).map((r) => r.endpoint)
    rows.push({ name, calls: result.feishuCalls, endpoints: endpoints.join(', ') })
  }
  await room.handle(base('warm-up')) // token fetched, empty store synced once
  const openIds = users.slice(0, 3).map((u) => u.open_id)
  await run('new incident, 3 open_id members (warm token)', () =>
    room.handle(base('k1', { members: openIds })),
  )
  await run('new incident, 10 email members (cold id cache)', () =>
    room.handle(base('k2', { members: users.map((u) => u.email) })),
  )
  await run('new incident, 10 email members (warm id cache)', () =>
    room.handle(base('k3', { members: users.map((u) => u.email) })),
  )
  await run('identical repeat', () => room.handle(base('k1', { members: openIds })))
  await run('update: a new alert fires', () =>
    room.handle(
      base('k1', {
        members: openIds,
        items: [
          { id: 'a1', title: 'pod a 5xx', status: 'firing' },
          { id: 'a2', title: 'pod b 5xx', status: 'firing' },
        ],
      }),
    ),
  )
  await run('acknowledge', () => room.acknowledge({ key: 'k1' }, { openId: openIds[0] }))
  await run('resolve', () => room.handle(base('k1', { status: 'resolved', members: openIds })))
  await run('resolve again (no-op)', () =>
    room.handle(base('k1', { status: 'resolved', members: openIds })),
  )
  await client.close()
  await sandbox.close()
  return rows
}
