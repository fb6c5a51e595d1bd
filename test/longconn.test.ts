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
import { describe, expect, it } from 'vitest'
import { main } from '../src/cli/main.js'
import { incident, sandbox, view } from './helpers.js'
import { post } from './receiver-helpers.js'

async function until(what: string, check: () => boolean, ms = 15_000) {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('warroom serve over Feishu’s long connection', () => {
  it('takes /ack, a Resolve click and, after a dropped connection, /resolve, with no public URL', async () => {
    const s = await sandbox({ appId: 'cli_0123456789abcdef' })
    const [alice] = [...s.state.users.values()]
    let stop!: () => void
    const stopSignal = new Promise<void>((r) => {
      stop = r
    })
    let listening!: (info: { url: string }) => void
    const ready = new Promise<{ url: string }>((r) => {
      listening = r
    })
    const served = main(
      ['serve', '--port', '0'],
      {
        FEISHU_APP_ID: s.appId,
        FEISHU_APP_SECRET: s.appSecret,
        FEISHU_DOMAIN: s.url,
        FEISHU_EVENT_MODE: 'websocket',
        WARROOM_DATA_DIR: mkdtempSync(join(tmpdir(), 'warroom-lc-')),
      },
      { out: () => {}, err: () => {}, stopSignal, onListening: listening },
    )
    const { url } = await ready
    await until('the long connection', () => s.longConnection.connected === 1)
    expect(s.events).toBeUndefined() // no event URL: everything comes over the connection

    const opened = await post(`${url}/incidents`, incident({ members: [alice!.open_id] }), {
      token: null,
    })
    const chatId = opened.json.chat_id as string
    await s.say(chatId, alice!.open_id, '/ack', { mentionBot: true })
    await until('the ack', () => view(s, chatId).cardRead.includes('已确认'))

    const resolve = view(s, chatId).card.elements.find((e: any) => e.tag === 'action').actions[0]
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
    stop()
    expect(await served).toBe(0)
  }, 40_000)
})
