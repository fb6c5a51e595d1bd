/**
 * `warroom serve` in long-connection mode (FEISHU_EVENT_MODE=websocket)
 * against the sandbox's long connection: no event URL at all; a typed
 * command and a card click arrive over the connection and act on the
 * incident; the sandbox drops the connection and the next command still
 * arrives.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { describe, expect, it } from 'vitest'
import { serveInProcess } from '../support/cli.js'
import { incident, sandbox, until, view } from '../support/helpers.js'
import { post } from '../support/receiver.js'

describe('warroom serve over Feishu’s long connection', () => {
  it('takes /ack, a Resolve click and, after a dropped connection, /resolve, with no public URL', async () => {
    const s = await sandbox({ appId: 'cli_0123456789abcdef' })
    const [alice] = [...s.state.users.values()]
    const server = await serveInProcess({
      FEISHU_APP_ID: s.appId,
      FEISHU_APP_SECRET: s.appSecret,
      FEISHU_DOMAIN: s.url,
      FEISHU_EVENT_MODE: 'websocket',
      WARROOM_DATA_DIR: mkdtempSync(join(tmpdir(), 'warroom-lc-')),
    })
    const { url } = server
    await until('the long connection', () => s.longConnection.connected === 1)
    expect(s.events).toBeUndefined() // no event URL: everything comes over the connection
    const readyz = await request(`${url}/readyz`)
    expect(readyz.statusCode).toBe(200)
    await readyz.body.dump()
    const metric = async (name: string) =>
      Number(
        new RegExp(`^${name} (\\d+)$`, 'm').exec(
          await (await request(`${url}/metrics`)).body.text(),
        )?.[1],
      )
    expect(await metric('warroom_feishu_long_connection_up')).toBe(1)

    const opened = await post(`${url}/incidents`, incident({ members: [alice!.open_id] }), {
      token: null,
    })
    const chatId = opened.json.chat_id as string
    await s.say(chatId, alice!.open_id, '/ack', { mentionBot: true })
    await until('the ack', () => view(s, chatId).cardRead.includes('已确认'))

    const resolve = view(s, chatId)
      .card.elements.find((e: any) => e.tag === 'action')
      .actions.find((a: any) => a.value?.op === 'resolve')
    expect(resolve.value.op).toBe('resolve')
    const clicked = await s.click(opened.json.message_id, alice!.open_id, resolve.value)
    expect((clicked.body as any).toast.type).toBe('success')
    await until('the rename', () => view(s, chatId).name.startsWith('[已解决] '))

    s.longConnection.dropAll()
    await until(
      'a reconnect',
      () => s.longConnection.accepted >= 2 && s.longConnection.connected === 1,
    )
    const second = await post(
      `${url}/incidents`,
      incident({ key: 'k2', members: [alice!.open_id] }),
      {
        token: null,
      },
    )
    await s.say(second.json.chat_id, alice!.open_id, '/resolve after the drop', {
      mentionBot: true,
    })
    await until('the second resolution', () =>
      view(s, second.json.chat_id).name.startsWith('[已解决] '),
    )
    expect(await metric('warroom_feishu_long_connection_up')).toBe(1)
    expect(await metric('warroom_feishu_long_connection_reconnects_total')).toBe(1)
    expect(await server.stop()).toBe(0)
  }, 40_000)

  it('with two receivers connected, each event is handled once (Feishu gives it to one of them)', async () => {
    const s = await sandbox({ appId: 'cli_0123456789abcdef' })
    const [alice] = [...s.state.users.values()]
    const env = () => ({
      FEISHU_APP_ID: s.appId,
      FEISHU_APP_SECRET: s.appSecret,
      FEISHU_DOMAIN: s.url,
      FEISHU_EVENT_MODE: 'websocket',
      WARROOM_DATA_DIR: mkdtempSync(join(tmpdir(), 'warroom-lc-')),
    })
    const servers = [await serveInProcess(env()), await serveInProcess(env())]
    const urls = servers.map((x) => x.url)
    await until('two connections', () => s.longConnection.connected === 2)
    const opened = await post(`${urls[0]}/incidents`, incident({ members: [alice!.open_id] }), {
      token: null,
    })
    const chatId = opened.json.chat_id as string
    for (let i = 0; i < 4; i++) await s.say(chatId, alice!.open_id, '/status', { mentionBot: true })
    await until(
      'four answers',
      () => view(s, chatId).posts.filter((p) => p.includes('状态')).length >= 4,
    )
    await new Promise((r) => setTimeout(r, 300))
    expect(view(s, chatId).posts.filter((p) => p.includes('状态'))).toHaveLength(4)
    expect(await Promise.all(servers.map((x) => x.stop()))).toEqual([0, 0])
  }, 40_000)

  it('npm start in websocket mode: the /sandbox page’s typed commands travel over the connection', async () => {
    const server = await serveInProcess({ FEISHU_EVENT_MODE: 'websocket' })
    const { url } = server
    const opened = await post(`${url}/incidents`, incident({ members: ['alice@example.com'] }), {
      token: null,
    })
    const state = async () => (await (await request(`${url}/sandbox/state`)).body.json()) as any
    const alice = (await state()).users.find((u: any) => u.name === 'Alice Wang')
    const said = await post(
      `${url}/sandbox/say`,
      { chat_id: opened.json.chat_id, open_id: alice.open_id, text: '/ack', mention_bot: true },
      { token: null },
    )
    expect(said.status).toBe(200)
    expect(said.json.delivery.status).toBe(200) // answered over the long connection
    const acked = async () =>
      (await state()).messages.some((m: any) =>
        JSON.stringify(m.content).includes('已确认，正在处理'),
      )
    const end = Date.now() + 10_000
    while (!(await acked()) && Date.now() < end) await new Promise((r) => setTimeout(r, 50))
    expect(await acked()).toBe(true)
    expect(await server.stop()).toBe(0)
  }, 30_000)
})
