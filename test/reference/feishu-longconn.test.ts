/**
 * The sandbox's long-connection mode against Feishu's official client
 * (@larksuiteoapi/node-sdk's WSClient): the endpoint, pbbp2 frames, pings,
 * events and card callbacks answered over the connection, and a reconnect
 * after the sandbox drops it. This proves the sandbox speaks the protocol the
 * SDK speaks; the receiver's own websocket mode is issue 13's next step.
 */
import * as lark from '@larksuiteoapi/node-sdk'
import { afterEach, describe, expect, it } from 'vitest'
import { sandbox, until } from '../support/helpers.js'

const quiet = { error() {}, warn() {}, info() {}, debug() {}, trace() {} }
const clients: lark.WSClient[] = []
afterEach(() => {
  for (const c of clients.splice(0)) c.close({ force: true })
})

describe('the sandbox’s long connection, with Feishu’s official WSClient', () => {
  it('delivers a chat message and a card click over the connection, takes the answer, and survives a drop', async () => {
    // WSClient refuses app ids that are not cli_ + 16 hex digits.
    const s = await sandbox({ appId: 'cli_a1b2c3d4e5f60718' })
    const [alice] = [...s.state.users.values()]
    const received: string[] = []
    const dispatcher = new lark.EventDispatcher({ loggerLevel: lark.LoggerLevel.fatal }).register({
      'im.message.receive_v1': async (data: any) => {
        received.push(JSON.parse(data.message.content).text)
      },
      'card.action.trigger': async (data: any) => {
        received.push(`click:${data.action.value.op}`)
        return { toast: { type: 'success', content: 'done' } }
      },
    } as any)
    // The official client listens only once it says so (a push before that is lost: see
    // test/receiver/longconn-schedule.test.ts), so this waits for onReady and onReconnected.
    let ready = 0
    const client = new lark.WSClient({
      onReady: () => void ready++,
      onReconnected: () => void ready++,
      appId: s.appId,
      appSecret: s.appSecret,
      domain: s.url,
      logger: quiet,
      loggerLevel: lark.LoggerLevel.fatal,
    })
    clients.push(client)
    await client.start({ eventDispatcher: dispatcher })
    await until('the connection', () => s.longConnection.connected === 1 && ready === 1)

    const chatId = 'oc_longconn'
    s.state.chats.set(chatId, {
      chat_id: chatId,
      name: 'lc',
      description: '',
      owner: { type: 'app', id: s.appId },
      members: new Set([alice!.open_id]),
      bots: new Set([s.appId]),
      botManagers: new Set(),
      chat_type: 'private',
      status: 'normal',
      created_at: s.now(),
      names: [{ name: 'lc', at: s.now() }],
      urgent_setting: 'all_members',
      at_all_permission: 'all_members',
      edit_permission: 'all_members',
    })
    const said = await s.say(chatId, alice!.open_id, '/ack')
    expect(said.delivery.status).toBe(200)
    await until('the message', () => received.includes('/ack'))

    const message = s.postUserMessage(chatId, alice!.open_id, 'card stand-in')
    const clicked = await s.click(message.message_id, alice!.open_id, { op: 'resolve' })
    expect(clicked.status).toBe(200)
    expect(clicked.body).toEqual({ toast: { type: 'success', content: 'done' } })
    expect(received).toContain('click:resolve')

    // The sandbox drops the connection; the client reconnects and the next event arrives.
    s.longConnection.dropAll()
    await until(
      'a reconnect',
      () => s.longConnection.accepted === 2 && s.longConnection.connected === 1 && ready === 2,
      15_000,
    )
    await s.say(chatId, alice!.open_id, '/status')
    await until('the message after the reconnect', () => received.includes('/status'))
  }, 30_000)
})
