/**
 * Heartbeats (issue 27): a heartbeat that stops being renewed opens exactly
 * one incident (also across a restart and on three replicas), and the next
 * renewal resolves it.
 */
import { request } from 'undici'
import { describe, expect } from 'vitest'
import { FileStore } from '../../src/store/store.js'
import { test } from '../support/fixtures.js'
import { tempDir, until } from '../support/helpers.js'
import { freshSchema, HAVE_POSTGRES, pgStore } from '../support/postgres.js'
import { startReceiver, TOKEN } from '../support/receiver.js'

const renew = async (url: string, name = 'pipeline', token = TOKEN) => {
  const res = await request(`${url}/heartbeat/${name}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: '{}',
  })
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> }
}

const config = (members: string[]) => ({
  heartbeats: [{ name: 'pipeline', every: '2s', grace: '1s', members }],
})

type S = import('../../src/sandbox/server.js').FeishuSandbox
const rooms = (s: S) =>
  [...s.state.chats.values()].filter((c) => c.description.includes('[warroom:'))

describe('heartbeats', () => {
  test('silent for every + grace: one incident; the next renewal resolves it; wrong names and tokens are refused', async ({
    sandbox: s,
    people: [alice],
  }) => {
    const { url } = await startReceiver(s, { config: config([alice!.open_id]) })
    expect(await renew(url)).toEqual({ status: 200, json: { status: 'renewed', name: 'pipeline' } })
    expect((await renew(url, 'nope')).status).toBe(404)
    expect((await renew(url, 'pipeline', 'wrong-token-wrong-token')).status).toBe(401)
    await until('the incident', () => rooms(s).length === 1, 8000)
    const chat = rooms(s)[0]!
    expect(chat.name).toContain('没有收到「pipeline」的心跳')
    expect([...chat.members]).toEqual([alice!.open_id])
    await new Promise((r) => setTimeout(r, 3500)) // another deadline passes: still one
    expect(rooms(s)).toHaveLength(1)
    const back = await renew(url)
    expect(back.json).toMatchObject({ status: 'renewed', resolved: chat.chat_id })
    expect(s.state.chats.get(chat.chat_id)!.name).toMatch(/^\[已解决\] /)
  })

  test('the deadline survives a restart of the receiver (file store)', async ({
    sandbox: s,
    people: [alice],
  }) => {
    const dir = await tempDir()
    const first = await startReceiver(s, {
      config: config([alice!.open_id]),
      store: await FileStore.open(dir),
    })
    await renew(first.url)
    await first.receiver.close()
    const second = await startReceiver(s, {
      config: config([alice!.open_id]),
      store: await FileStore.open(dir),
    })
    await until('the incident after the restart', () => rooms(s).length === 1, 8000)
    await new Promise((r) => setTimeout(r, 1000))
    expect(rooms(s)).toHaveLength(1)
    await renew(second.url)
    expect(rooms(s)[0]!.name).toMatch(/^\[已解决\] /)
  })

  test.skipIf(!HAVE_POSTGRES)(
    'three replicas on one PostgreSQL open exactly one incident',
    async ({ sandbox: s, people: [alice] }) => {
      const schema = freshSchema()
      const replicas = []
      for (let i = 0; i < 3; i++)
        replicas.push(
          await startReceiver(s, {
            config: config([alice!.open_id]),
            store: await pgStore(schema),
          }),
        )
      await renew(replicas[1]!.url)
      await until('the incident', () => rooms(s).length === 1, 8000)
      await new Promise((r) => setTimeout(r, 1500))
      expect(rooms(s)).toHaveLength(1)
      expect((await renew(replicas[2]!.url)).json).toMatchObject({ status: 'renewed' })
      expect(rooms(s)[0]!.name).toMatch(/^\[已解决\] /)
    },
  )
})
