/**
 * The PostgreSQL store against the machine's real PostgreSQL: each test its
 * own schema. Two stores on one schema stand for two replicas.
 */
import { request } from 'undici'
import { describe, expect, it } from 'vitest'
import { main } from '../../src/cli/main.js'
import { LATEST_MIGRATION, MIGRATIONS } from '../../src/store/postgres/migrations.js'
import { StaleRecordError } from '../../src/store/store.js'
import { alert, alertmanagerPayload } from '../fixtures/alerts.js'
import { io, serveInProcess } from '../support/cli.js'
import { clientFor, incident, sandbox, until, view, warRoomFor } from '../support/helpers.js'
import { DATABASE_URL, freshSchema, HAVE_POSTGRES, pgStore, sql } from '../support/postgres.js'
import { post, startReceiver } from '../support/receiver.js'
import { bareRecord } from '../support/records.js'

const record = (keyHash: string, version: number) => bareRecord(keyHash, version)
const K1 = 'a'.repeat(32)
const K2 = 'b'.repeat(32)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe.skipIf(!HAVE_POSTGRES)('PostgreSQL store', () => {
  it('applies its migrations once when three replicas start together, and says when it is not ready', async () => {
    const schema = freshSchema()
    const stores = await Promise.all([pgStore(schema), pgStore(schema), pgStore(schema)])
    const applied = await sql<{ version: number }>(schema, 'SELECT version FROM schema_migrations')
    expect(applied.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version))
    for (const s of stores) expect(await s.readiness()).toBeUndefined()
    await sql(schema, 'DELETE FROM schema_migrations')
    expect(await stores[0]!.readiness()).toBe(
      `database schema at migration 0, this build needs ${LATEST_MIGRATION}`,
    )
    // The replicas know about each other: three live.
    await until('three replicas counted', async () => {
      await stores[0]!.replicas.start() // one more beat now
      return stores[0]!.replicas.live === 3
    })
  })

  it('writes records as compare-and-set on their version', async () => {
    const schema = freshSchema()
    const [a, b] = [await pgStore(schema), await pgStore(schema)]
    await a.put(record(K1, 1))
    const seenByB = (await b.get(K1))!
    await a.put({ ...record(K1, 2), chatName: 'written by a' })
    await expect(b.put({ ...seenByB, version: 2, chatName: 'written by b' })).rejects.toThrow(
      StaleRecordError,
    )
    // A record rebuilt from a chat marker (version 0) never writes over a replica's.
    await b.put({ ...record(K1, 0), chatName: 'from a marker' })
    expect((await b.get(K1))!.chatName).toBe('written by a')
    expect(await b.version(K1)).toBe(2)
    expect((await b.findByChat(`oc_${K1}`))!.keyHash).toBe(K1)
    expect(await b.isEmpty()).toBe(false)
  })

  it('holds an incident’s lock across replicas, and only that incident’s', async () => {
    const schema = freshSchema()
    const [a, b] = [await pgStore(schema), await pgStore(schema)]
    const spans: Record<string, [number, number]> = {}
    const hold = (store: typeof a, key: string, name: string, ms: number) =>
      store.withLock(key, async () => {
        const start = Date.now()
        await sleep(ms)
        spans[name] = [start, Date.now()]
      })
    const first = hold(a, K1, 'a', 300)
    await sleep(50)
    await Promise.all([first, hold(b, K1, 'b-same', 10), hold(b, K2, 'b-other', 10)])
    expect(spans['b-same']![0]).toBeGreaterThanOrEqual(spans.a![1])
    expect(spans['b-other']![0]).toBeLessThan(spans.a![1])
    // A failing operation releases the lock too.
    await expect(
      a.withLock(K1, async () => {
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    await b.withLock(K1, async () => {})
  })

  it('claims an event id once across replicas', async () => {
    const schema = freshSchema()
    const [a, b] = [await pgStore(schema), await pgStore(schema)]
    const answers = await Promise.all([a.claimOnce('e:1'), b.claimOnce('e:1'), a.claimOnce('e:1')])
    expect(answers.filter(Boolean)).toHaveLength(1)
    expect(await b.claimOnce('e:2')).toBe(true)
  })

  it('gives a job to one replica, and to another when the first one dies', async () => {
    const schema = freshSchema()
    const [a, b] = [await pgStore(schema), await pgStore(schema)]
    const job = { id: 'review:x:1', kind: 'review', keyHash: K1, dueAt: Date.now(), data: {} }
    await Promise.all([a.jobs.schedule(job), b.jobs.schedule(job)])
    const claims = await Promise.all([a.jobs.claim('review', 5), b.jobs.claim('review', 5)])
    expect(claims.flat().map((j) => j.id)).toEqual(['review:x:1'])
    const holder = claims[0]!.length ? a : b
    const other = holder === a ? b : a
    expect(await other.jobs.claim('review', 5)).toEqual([])
    // The holder stops beating (SIGKILL): once its heartbeat is older than the TTL, its job is free.
    await sql(schema, `UPDATE replicas SET seen_at = now() - interval '1 minute' WHERE id = $1`, [
      holder.replicaId,
    ])
    const again = await other.jobs.claim('review', 5)
    expect(again.map((j) => [j.id, j.attempts])).toEqual([['review:x:1', 2]])
    await other.jobs.complete('review:x:1')
    await sql(schema, `UPDATE replicas SET seen_at = now() - interval '1 minute'`)
    expect(await a.jobs.claim('review', 5)).toEqual([])
  })

  it('opens one chat with one card when two replicas get the same incident at once', async () => {
    const s = await sandbox()
    const schema = freshSchema()
    const rooms = [
      warRoomFor(s, { store: await pgStore(schema), client: clientFor(s) }),
      warRoomFor(s, { store: await pgStore(schema), client: clientFor(s) }),
    ]
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => rooms[i % 2]!.handle(incident())),
    )
    const chats = new Set(results.map((r) => r.chatId))
    expect(chats.size).toBe(1)
    expect(results.filter((r) => r.action === 'opened')).toHaveLength(1)
    const v = view(s, [...chats][0]!)
    expect(v.cards).toHaveLength(1)
    // A resolution in one replica is what the other sees next.
    expect((await rooms[1]!.handle(incident({ status: 'resolved' }))).action).toBe('resolved')
    expect((await rooms[0]!.handle(incident({ status: 'resolved' }))).action).toBe('none')
    expect(view(s, [...chats][0]!).name.startsWith('[已解决] ')).toBe(true)
  })

  it('does not answer a repeat from memory when another replica changed the incident since', async () => {
    const s = await sandbox()
    const schema = freshSchema()
    const one = await startReceiver(s, { store: await pgStore(schema) })
    const two = await startReceiver(s, { store: await pgStore(schema) })
    const firing = alertmanagerPayload([alert({ instance: 'i1' })])
    const resolved = alertmanagerPayload([alert({ instance: 'i1', status: 'resolved' })])
    const first = (await post(`${one.url}/alertmanager`, firing)).json
    expect(first.action).toBe('opened')
    expect((await post(`${one.url}/alertmanager`, firing)).json.reason).toBe('repeat')
    expect((await post(`${two.url}/alertmanager`, resolved)).json.action).toBe('resolved')
    // The same firing bytes at replica one: the incident moved on, so it is worked, not a repeat.
    const again = await post(`${one.url}/alertmanager`, firing)
    expect(again.json.action).toBe('opened')
    expect(again.json.chat_id).not.toBe(first.chat_id) // a new episode (no reopen window here)
  })

  it('handles a Feishu event delivered to two replicas once', async () => {
    const s = await sandbox()
    const schema = freshSchema()
    const [alice] = [...s.state.users.values()]
    const one = await startReceiver(s, { store: await pgStore(schema) })
    const two = await startReceiver(s, { store: await pgStore(schema) })
    const opened = await one.warroom.handle(incident({ members: [alice!.open_id] }))
    const message = s.postUserMessage(opened.chatId!, alice!.open_id, '/status')
    const event = {
      schema: '2.0',
      header: { event_id: 'ev-shared-1', event_type: 'im.message.receive_v1' },
      event: {
        sender: { sender_id: { open_id: alice!.open_id }, sender_type: 'user' },
        message: {
          message_id: message.message_id,
          chat_id: opened.chatId,
          chat_type: 'group',
          message_type: 'text',
          content: JSON.stringify({ text: '/status' }),
        },
      },
    }
    const answers = await Promise.all([
      post(`${one.url}/feishu/events`, event, { token: null }),
      post(`${two.url}/feishu/events`, event, { token: null }),
    ])
    expect(answers.map((a) => a.status)).toEqual([200, 200])
    await until('the /status reply', () =>
      view(s, opened.chatId!).posts.some((p) => p.includes('状态')),
    )
    await sleep(300)
    expect(view(s, opened.chatId!).posts.filter((p) => p.includes('状态'))).toHaveLength(1)
  })

  it('writes the review once, in the database, whichever replica resolves', async () => {
    const s = await sandbox()
    const schema = freshSchema()
    const one = await startReceiver(s, { store: await pgStore(schema) })
    const two = await startReceiver(s, { store: await pgStore(schema) })
    const firing = alertmanagerPayload([alert({ instance: 'i1' })])
    const resolved = alertmanagerPayload([alert({ instance: 'i1', status: 'resolved' })])
    const { json } = await post(`${one.url}/alertmanager`, firing)
    await Promise.all([
      post(`${one.url}/alertmanager`, resolved),
      post(`${two.url}/alertmanager`, resolved),
    ])
    await until('the review summary', () =>
      view(s, json.chat_id).posts.some((p) => p.includes('复盘摘要')),
    )
    await sleep(1500) // both replicas polled the queue since
    expect(view(s, json.chat_id).posts.filter((p) => p.includes('复盘摘要'))).toHaveLength(1)
    const rows = await sql<{ n: number }>(schema, 'SELECT count(*)::int AS n FROM timelines')
    expect(rows[0]!.n).toBe(1)
    // Either replica serves it, from the database.
    const res = await request(`${two.url}/incidents/${encodeURIComponent(json.key)}/timeline`, {
      headers: { authorization: 'Bearer test-read-token-1234567' },
    })
    expect(res.statusCode).toBe(200)
    expect(await res.body.text()).toMatch(/^# 事件时间线[\s\S]*## 关键指标/)
  })
})

describe.skipIf(!HAVE_POSTGRES)('warroom serve on PostgreSQL', () => {
  it('answers /readyz by the database’s state, and leaves the replicas when it stops', async () => {
    const schema = freshSchema()
    const s = await sandbox()
    const served = await serveInProcess({
      PATH: process.env.PATH ?? '',
      FEISHU_APP_ID: s.appId,
      FEISHU_APP_SECRET: s.appSecret,
      FEISHU_DOMAIN: s.url,
      WARROOM_DATABASE_URL: DATABASE_URL,
      WARROOM_DATABASE_SCHEMA: schema,
    })
    const ready = await request(`${served.url}/readyz`)
    expect([ready.statusCode, await ready.body.json()]).toEqual([200, { status: 'ready' }])
    expect(await sql(schema, 'SELECT id FROM replicas')).toHaveLength(1)
    await sql(schema, 'DELETE FROM schema_migrations')
    const stale = await request(`${served.url}/readyz`)
    expect(stale.statusCode).toBe(503)
    expect(await stale.body.json()).toEqual({
      status: 'not ready',
      problem: `database schema at migration 0, this build needs ${LATEST_MIGRATION}`,
    })
    expect(await served.stop()).toBe(0)
    // Graceful shutdown gave its place up at once (the others need not wait for it to expire).
    expect(await sql(schema, 'SELECT id FROM replicas')).toEqual([])
  })

  it('refuses to start on a database it cannot reach, saying which (password hidden) and what to check', async () => {
    const out = io()
    const code = await main(
      ['serve', '--port', '0'],
      {
        PATH: process.env.PATH ?? '',
        FEISHU_APP_ID: 'cli_0123456789abcdef',
        FEISHU_APP_SECRET: 'not-used-before-the-database',
        WARROOM_DATABASE_URL: 'postgres://warroom:sekrit-pass-123@127.0.0.1:1/warroom',
      },
      out.io,
    )
    expect(code).toBe(1)
    const text = out.err.join('\n')
    expect(text).toContain('cannot use the database postgres://warroom:***@127.0.0.1:1/warroom')
    expect(text).toContain('Check WARROOM_DATABASE_URL')
    expect(text).not.toContain('sekrit-pass-123')
    expect(text).not.toMatch(/\n\s+at /) // a message, not a stack
  })
})
