/**
 * Security and reliability round 3 (issue 21), the medium and low items:
 * each test performs the attack or the fault it is named after.
 */
import { spawn } from 'node:child_process'
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { githubIncident } from '../../adapters/github.js'
import { loadConfig, parseConfig } from '../../src/config/config.js'
import { parseIncident } from '../../src/model/incident.js'
import { expandOnCall } from '../../src/model/oncall.js'
import { LongConnectionClient } from '../../src/receiver/longconn.js'
import { Metrics } from '../../src/receiver/metrics.js'
import { truncate } from '../../src/render/text.js'
import { FileStore, MemoryStore } from '../../src/store/store.js'
import { actionContext, pushEvent } from '../fixtures/github.js'
import {
  clientFor,
  incident,
  sandbox,
  tempDir,
  until,
  view,
  warRoomFor,
} from '../support/helpers.js'
import { freshSchema, HAVE_POSTGRES, pgStore, sql } from '../support/postgres.js'
import { post, startReceiver } from '../support/receiver.js'

describe('the long connection and /feishu/events', () => {
  it('does not serve /feishu/events in websocket mode without a key or token: a forged click cannot resolve', async () => {
    const s = await sandbox()
    const [alice] = [...s.state.users.values()]
    const { url, warroom } = await startReceiver(s, {
      config: { feishu: { event_mode: 'websocket' } },
    })
    const opened = await warroom.handle(incident({ members: [alice!.open_id] }))
    const forged = await post(
      `${url}/feishu/events`,
      {
        schema: '2.0',
        header: { event_type: 'card.action.trigger', create_time: '0', event_id: 'x', token: '' },
        event: {
          operator: { open_id: alice!.open_id },
          action: { value: { op: 'resolve', k: opened.key } },
          context: { open_chat_id: opened.chatId, open_message_id: opened.cardMessageId },
        },
      },
      { token: null },
    )
    expect(forged.status).toBe(404)
    expect(view(s, opened.chatId!).name).not.toMatch(/已解决/)
  })

  it('with a verification token only, refuses a replayed (old) event and one for another app', async () => {
    const s = await sandbox()
    const { url } = await startReceiver(s, {
      config: {
        feishu: { verification_token: 'vtoken-1', app_id: s.appId, app_secret: s.appSecret },
      },
    })
    const event = (create_time: string, app_id: string) => ({
      schema: '2.0',
      header: {
        event_type: 'im.message.receive_v1',
        create_time,
        event_id: `e${create_time}${app_id}`,
        token: 'vtoken-1',
        app_id,
      },
      event: { message: { chat_id: 'oc_x', content: '{"text":"/resolve"}', message_type: 'text' } },
    })
    const old = await post(`${url}/feishu/events`, event('0', s.appId), { token: null })
    expect(old.status).toBe(401)
    expect(old.json.error).toContain('header.create_time')
    const other = await post(
      `${url}/feishu/events`,
      event(String(s.now()), 'cli_ffffffffffffffff'),
      { token: null },
    )
    expect(other.status).toBe(401)
    expect(other.json.error).toContain('header.app_id')
  })
})

describe('configuration mistakes', () => {
  it('a YAML syntax error names the line and column, never the line itself (it may be the secret)', async () => {
    const dir = await tempDir()
    const file = join(dir, 'bad.yml')
    await writeFile(file, 'feishu:\n  app_id: cli_x\n  app_secret: "sekrit-value-123\nauth: [\n')
    const error = await loadConfig(file, {}).catch((e: Error) => e)
    expect(String(error)).toMatch(/not valid YAML at line \d+, column \d+/)
    expect(String(error)).not.toContain('sekrit-value-123')
  })

  it('oncall:constructor, __proto__ and toString are not schedules: refused at load, never a 500', () => {
    for (const name of ['constructor', 'toString', 'hasOwnProperty'])
      expect(() => parseConfig({ members: [`oncall:${name}`] })).toThrow(
        /which schedules does not define/,
      )
    expect(expandOnCall(['oncall:constructor', 'a@b.c'], {}, Date.now())).toEqual([
      'oncall:constructor',
      'a@b.c',
    ])
  })
})

describe('what reaches a chat name', () => {
  it('drops the Arabic letter mark, line separators, tag characters and Hangul fillers', async () => {
    const s = await sandbox()
    const room = warRoomFor(s, { store: new MemoryStore() })
    const dirty = `a\u061Cb\u2028c\u2029d\u{E0041}e\u3164f\u115Fg\uFFA0h\u180Ei`
    const opened = await room.handle(incident({ title: dirty }))
    const name = view(s, opened.chatId!).name
    expect(name).toMatch(/ab c defghi$/)
    expect(name).not.toMatch(/[\u061C\u2028\u2029\u3164\u115F\uFFA0\u180E]|\u{E0041}/u)
  })

  it('never splits a flag or a family emoji at the 60-character cut', () => {
    const flags = '🇨🇳'.repeat(40) // 80 code points
    const cut = truncate(flags, 60)
    expect([...cut].length).toBeLessThanOrEqual(60)
    expect(cut.replace('…', '')).toMatch(/^(🇨🇳)+$/u)
    const family = `${'x'.repeat(55)}👨‍👩‍👧‍👦tail`
    expect(truncate(family, 60)).toBe(`${'x'.repeat(55)}…`)
  })
})

describe('a bad night, smaller things', () => {
  it('a workflow, job or step name over 500 characters still opens a war room from the Action', async () => {
    const result = await githubIncident(
      { ...actionContext('push', 'W'.repeat(2000)), payload: pushEvent() },
      {
        status: 'failure',
        severity: 'error',
        language: 'zh',
        members: [],
        githubUsers: {},
        env: {},
      },
    )
    const parsed = parseIncident(result.incident)
    expect([...parsed.title].length).toBeLessThanOrEqual(500)
    expect([...parsed.key].length).toBeLessThanOrEqual(512)
  })

  it('a generic resolution without resolvedAt, retried after a failure, is posted once', async () => {
    const s = await sandbox()
    const room = warRoomFor(s, { store: new MemoryStore() })
    const opened = await room.handle(incident({}))
    // Each post lands but every answer to it is lost: the attempt fails, the sender retries.
    s.faults.add({
      kind: 'status',
      status: 502,
      endpoint: 'sendMessage',
      times: 12,
      afterEffect: true,
    })
    for (let i = 0; i < 3; i++)
      await room.handle(incident({ status: 'resolved' })).catch(() => undefined)
    s.faults.clear()
    await room.handle(incident({ status: 'resolved' }))
    const posts = view(s, opened.chatId!).posts.filter((p) => p.includes('事件已解决'))
    expect(posts).toHaveLength(1)
  })
})

describe('a start that fails', () => {
  it('on a port in use says so, leaves no temporary folder, and the process exits (sandbox mode)', async () => {
    const blocker = createServer()
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r))
    const port = (blocker.address() as AddressInfo).port
    const before = readdirSync(tmpdir()).filter((n) =>
      n.startsWith('feishu-warroom-sandbox-'),
    ).length
    try {
      const child = spawn(
        process.execPath,
        ['lib/src/cli/index.js', 'serve', '--sandbox', '--port', String(port)],
        {
          env: { PATH: process.env.PATH ?? '' },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      )
      let err = ''
      child.stderr.on('data', (d) => {
        err += String(d)
      })
      const code = await new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL')
          resolve(null)
        }, 10_000)
        child.once('exit', (c) => {
          clearTimeout(timer)
          resolve(c)
        })
      })
      expect(code).toBe(2)
      expect(err).toContain(`port ${port} on 127.0.0.1 is in use`)
      expect(err).not.toMatch(/\n\s+at /)
      const after = readdirSync(tmpdir()).filter((n) =>
        n.startsWith('feishu-warroom-sandbox-'),
      ).length
      expect(after).toBe(before)
    } finally {
      blocker.close()
    }
  }, 20_000)

  it('a click whose work failed can be tried again', async () => {
    const s = await sandbox()
    const [alice] = [...s.state.users.values()]
    const { warroom } = await startReceiver(s)
    const opened = await warroom.handle(incident({ members: [alice!.open_id] }))
    s.faults.add({ kind: 'code', code: 230001, endpoint: 'updateChat', times: 1 })
    const first = await s.click(opened.cardMessageId!, alice!.open_id, {
      op: 'resolve',
      k: opened.key,
    })
    expect((first.body as any).toast.type).toBe('error')
    const again = await s.click(opened.cardMessageId!, alice!.open_id, {
      op: 'resolve',
      k: opened.key,
    })
    expect((again.body as any).toast.type).toBe('success')
    expect(view(s, opened.chatId!).name).toMatch(/^\[已解决\]/)
  })
})

describe.skipIf(!HAVE_POSTGRES)('a NUL character on PostgreSQL', () => {
  it('an incident whose text carries U+0000 gets its chat and card, and its retries work', async () => {
    const s = await sandbox()
    const store = await pgStore(freshSchema())
    const room = warRoomFor(s, { store })
    const opened = await room.handle(
      incident({ title: 'nul\u0000title', summary: 'a\u0000b \\u0000 stays' }),
    )
    expect(opened.action).toBe('opened')
    expect(view(s, opened.chatId!).cards).toHaveLength(1)
    const again = await room.handle(
      incident({
        title: 'nul\u0000title',
        summary: 'a\u0000b \\u0000 stays',
        fields: [{ name: 'x', value: '1' }],
      }),
    )
    expect(again.action).toBe('updated')
    const record = await store.get(
      opened.key ? (await room.find({ chatId: opened.chatId! }))!.keyHash : '',
    )
    expect(record?.incident?.summary).toBe('ab \\u0000 stays')
  })
})

describe('failures that must not pass silently', () => {
  it('a failed write on a full disk (here: a rename that fails) leaves no temporary file', async () => {
    const dir = await tempDir()
    const store = await FileStore.open(dir)
    const keyHash = 'ab'.repeat(16)
    mkdirSync(join(dir, 'incidents', `${keyHash}.json`)) // renaming onto a directory fails
    const record = { ...(await seedRecord(keyHash)) }
    await expect(store.put(record)).rejects.toThrow()
    expect(readdirSync(join(dir, 'incidents')).filter((n) => n.endsWith('.tmp'))).toEqual([])
  })

  it('an event over the long connection that fails (a database outage) is logged, not dropped silently', async () => {
    const s = await sandbox({ appId: 'cli_0123456789abcdef' })
    const errors: string[] = []
    const client = new LongConnectionClient({
      appId: s.appId,
      appSecret: s.appSecret,
      baseUrl: s.url,
      interactions: {
        onEvent: async () => Promise.reject(new Error('database unreachable')),
      } as never,
      logger: {
        debug() {},
        info() {},
        warn() {},
        error: (m: string, f?: Record<string, unknown>) =>
          void errors.push(`${m} ${JSON.stringify(f)}`),
      },
      metrics: new Metrics(),
    })
    try {
      await client.start()
      await until('the connection', () => client.up)
      const [alice] = [...s.state.users.values()]
      const chatId = (await clientFor(s).createChat({ name: 'lc', user_id_list: [alice!.open_id] }))
        .chat_id
      await s.say(chatId, alice!.open_id, 'hello')
      await until('the log line', () => errors.length > 0)
      expect(errors[0]).toContain('Feishu will push it again')
      expect(errors[0]).toContain('database unreachable')
    } finally {
      client.close()
    }
  })
})

async function seedRecord(keyHash: string) {
  return {
    keyHash,
    key: 'k',
    chatId: 'oc_x',
    chatName: 'x',
    status: 'open' as const,
    openedAt: 1,
    members: [],
    invited: [],
    failedMembers: [],
    imageKeys: [],
    imageUrls: [],
    seenEvents: [],
    events: [],
    version: 1,
  }
}

describe('one process per data directory, in containers', () => {
  const lock = (dir: string, owner: Record<string, unknown>) =>
    writeFileSync(join(dir, 'warroom.lock'), JSON.stringify(owner))

  it('two containers on one volume (both PID 1) do not both write: the lease, not the PID, decides', async () => {
    const dir = await tempDir()
    // Another container's receiver: PID 1 on its own host, renewing its lease.
    lock(dir, { id: 'other', host: 'container-b', pid: 1, beat: Date.now() })
    await expect(FileStore.open(dir, { lock: true })).rejects.toThrow(
      /container-b, pid 1\) uses the data directory/,
    )
    // Its lease not renewed for longer than the stale time: it is gone, and the lock is taken.
    lock(dir, { id: 'other', host: 'container-b', pid: 1, beat: Date.now() - 60_000 })
    const store = await FileStore.open(dir, { lock: true })
    await store.close()
    // This host's own earlier life with the same PID (a restarted container) is taken over at once.
    lock(dir, { id: 'earlier', host: hostname(), pid: process.pid, beat: Date.now() })
    const again = await FileStore.open(dir, { lock: true })
    await again.close()
  })
})

describe.skipIf(!HAVE_POSTGRES)('PostgreSQL, on a bad night', () => {
  it('a replica whose clock is 5 minutes behind does not fire a 60 s step early: due times use the database’s clock', async () => {
    const store = await pgStore(freshSchema())
    const real = Date.now
    const spy = vi.spyOn(Date, 'now').mockImplementation(() => real() - 5 * 60_000)
    try {
      await store.jobs.schedule({
        id: 'j1',
        kind: 'escalate',
        keyHash: 'ab'.repeat(16),
        dueAt: Date.now() + 60_000,
        data: {},
      })
    } finally {
      spy.mockRestore()
    }
    expect(await store.jobs.claim('escalate', 10)).toEqual([])
    const [row] = await sql<{ s: number }>(
      store.schema,
      'SELECT extract(epoch FROM due_at - now())::float8 AS s FROM jobs',
    )
    expect(row!.s).toBeGreaterThan(55)
    expect(row!.s).toBeLessThan(61)
  })

  it('/readyz is not ready while the database refuses writes (full, read-only), and names no host when it is down', async () => {
    const schema = freshSchema()
    const store = await pgStore(schema)
    expect(await store.readiness()).toBeUndefined()
    await sql(
      schema,
      `CREATE FUNCTION full_disk() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = '53100'; END $$;
       CREATE TRIGGER full_disk BEFORE UPDATE ON replicas FOR EACH ROW EXECUTE FUNCTION full_disk()`,
    )
    expect(await store.readiness()).toBe('database refuses writes (SQLSTATE 53100)')
    await sql(schema, 'DROP TRIGGER full_disk ON replicas')
    await (store as unknown as { pool: { end(): Promise<void> } }).pool.end()
    const down = await store.readiness()
    expect(down).toBe('database unreachable')
  })
})

describe('the file store’s jobs', () => {
  it('keeps one small file per job, and takes over the single jobs.json of 0.3', async () => {
    const dir = await tempDir()
    const job = {
      id: 'escalate:x:1:0',
      kind: 'escalate',
      keyHash: 'ab'.repeat(16),
      dueAt: 1,
      data: { step: 0 },
      attempts: 0,
    }
    writeFileSync(join(dir, 'jobs.json'), JSON.stringify([job]))
    const store = await FileStore.open(dir)
    expect(readdirSync(dir)).not.toContain('jobs.json')
    expect(readdirSync(join(dir, 'jobs'))).toHaveLength(1)
    expect((await store.jobs.claim('escalate', 10)).map((j) => j.id)).toEqual([job.id])
    await store.jobs.schedule({
      id: 'remind:y',
      kind: 'remind',
      keyHash: 'cd'.repeat(16),
      dueAt: 2,
      data: {},
    })
    expect(readdirSync(join(dir, 'jobs'))).toHaveLength(2)
    await store.jobs.complete(job.id)
    expect(readdirSync(join(dir, 'jobs'))).toHaveLength(1)
    const again = await FileStore.open(dir)
    expect((await again.jobs.claim('remind', 10)).map((j) => j.id)).toEqual(['remind:y'])
  })
})
