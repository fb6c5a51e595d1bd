/**
 * The older card callback (card.action.trigger_v1, the app's "card request
 * URL"), signed and checked as Feishu's official Node SDK checks it: SHA-1
 * over timestamp + nonce + verification token + body, with the card-update
 * token (not the verification token) in the body.
 */
import { createHash } from 'node:crypto'
import * as lark from '@larksuiteoapi/node-sdk'
import { describe, expect, it } from 'vitest'
import { incident, sandbox, view } from '../support/helpers.js'
import { post, startReceiver } from '../support/receiver.js'

const VERIFICATION_TOKEN = 'vtoken-legacy-1'
const ENCRYPT_KEY = 'ek-legacy-1'

/** What Feishu sends: the flat body, and headers signed with the verification token. */
function legacyClick(
  body: Record<string, unknown>,
  options: { token?: string; timestamp?: string } = {},
) {
  const raw = JSON.stringify(body)
  const timestamp = options.timestamp ?? String(Math.floor(Date.now() / 1000))
  const nonce = 'n-7c1e'
  const signature = createHash('sha1')
    .update(timestamp + nonce + (options.token ?? VERIFICATION_TOKEN) + raw)
    .digest('hex')
  return {
    raw,
    headers: {
      'x-lark-request-timestamp': timestamp,
      'x-lark-request-nonce': nonce,
      'x-lark-signature': signature,
    },
  }
}

const quiet = { error() {}, warn() {}, info() {}, debug() {}, trace() {} }

/** Whether the official SDK's card handler accepts the delivery. */
async function sdkAccepts(body: Record<string, unknown>, headers: Record<string, string>) {
  let called = false
  const handler = new lark.CardActionHandler(
    {
      verificationToken: VERIFICATION_TOKEN,
      encryptKey: ENCRYPT_KEY,
      logger: quiet,
    },
    async () => {
      called = true
      return {}
    },
  )
  // The SDK's HTTP adaptors put the headers on the prototype, so they stay out of the signed JSON.
  await handler.invoke(Object.assign(Object.create({ headers }), body))
  return called
}

describe('legacy card callbacks', () => {
  it('acknowledges from a click signed as the official SDK verifies it, with the card-update token in the body', async () => {
    const s = await sandbox()
    const [alice] = [...s.state.users.values()]
    const { url, warroom } = await startReceiver(s, {
      config: { feishu: { encrypt_key: ENCRYPT_KEY, verification_token: VERIFICATION_TOKEN } },
    })
    const opened = await warroom.handle(incident({ members: [alice!.open_id] }))
    const ack = view(s, opened.chatId!).card.elements.find((e: any) => e.tag === 'action')
      .actions[0]
    const body = {
      open_id: alice!.open_id,
      user_id: alice!.user_id,
      open_message_id: opened.cardMessageId,
      open_chat_id: opened.chatId,
      tenant_key: 'sandbox-tenant',
      token: 'c-3f0d2b7e9a1c4f6b8d0e2a4c6e8f0a1b',
      action: { value: ack.value, tag: 'button' },
    }
    const click = legacyClick(body)
    expect(await sdkAccepts(body, click.headers)).toBe(true)
    const res = await post(`${url}/feishu/events`, click.raw, {
      token: null,
      headers: click.headers,
    })
    expect(res.status).toBe(200)
    expect(res.json.toast).toEqual({ type: 'success', content: '已确认' })
    expect(JSON.stringify(res.json.elements)).toContain('已确认') // the new card at the top level
    expect(view(s, opened.chatId!).cardRead).toContain('已确认')

    // Signed with anything but the verification token: refused by both.
    const forged = legacyClick(
      { ...body, action: { value: { ...ack.value, op: 'resolve' } } },
      {
        token: ENCRYPT_KEY,
      },
    )
    expect(await sdkAccepts(JSON.parse(forged.raw), forged.headers)).toBe(false)
    const refused = await post(`${url}/feishu/events`, forged.raw, {
      token: null,
      headers: forged.headers,
    })
    expect(refused.status).toBe(401)
    expect(view(s, opened.chatId!).name).not.toMatch(/已解决/)

    const stale = legacyClick(body, { timestamp: String(Math.floor(Date.now() / 1000) - 3600) })
    expect(
      (await post(`${url}/feishu/events`, stale.raw, { token: null, headers: stale.headers }))
        .status,
    ).toBe(401)
  })

  it('refuses a legacy callback it cannot verify, saying what to configure', async () => {
    const s = await sandbox()
    const { url } = await startReceiver(s, { config: { feishu: { encrypt_key: ENCRYPT_KEY } } })
    const click = legacyClick({
      open_id: 'ou_x',
      open_message_id: 'om_x',
      open_chat_id: 'oc_x',
      token: 'c-1',
      action: { value: { op: 'resolve' }, tag: 'button' },
    })
    const res = await post(`${url}/feishu/events`, click.raw, {
      token: null,
      headers: click.headers,
    })
    expect(res.status).toBe(401)
    expect(JSON.stringify(res.json)).toMatch(/FEISHU_VERIFICATION_TOKEN/)
  })
})
