import { createDecipheriv, createHash, timingSafeEqual } from 'node:crypto'
import { signEvent, signLegacyCallback } from '../util/event-crypto.js'

/**
 * Feishu event subscriptions and card callbacks over HTTP: decryption with the
 * Encrypt Key, signature checks over the raw body, the URL verification
 * challenge, and de-duplication of redeliveries
 * (https://open.feishu.cn/document/server-docs/event-subscription-guide/overview).
 */

import type { JsonObject } from '../util/json.js'

/** An event body. */
export type EventJson = JsonObject

export class EventRejected extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

/** AES-256-CBC with key = SHA-256(encrypt key), IV = the first 16 bytes of the blob. */
export function decryptEvent(encrypted: string, encryptKey: string): string {
  const key = createHash('sha256').update(encryptKey).digest()
  const blob = Buffer.from(encrypted, 'base64')
  if (blob.length < 32 || blob.length % 16 !== 0)
    throw new EventRejected(400, 'encrypt is not a valid ciphertext')
  const decipher = createDecipheriv('aes-256-cbc', key, blob.subarray(0, 16))
  try {
    return Buffer.concat([decipher.update(blob.subarray(16)), decipher.final()]).toString('utf8')
  } catch {
    throw new EventRejected(400, 'encrypt could not be decrypted with the configured Encrypt Key')
  }
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  if (x.length !== y.length) {
    // Spend the same time as a real comparison, so the answer's timing says nothing.
    timingSafeEqual(x, x)
    return false
  }
  return timingSafeEqual(x, y)
}

export interface EventSecurity {
  encryptKey?: string
  verificationToken?: string
  /** This app's id: a v2 event for another app is refused. */
  appId?: string
  /** Oldest accepted X-Lark-Request-Timestamp, in seconds from now. */
  maxSkewSeconds: number
  now: () => number
}

/**
 * Checks and opens a delivery. Returns the event JSON, or throws
 * EventRejected with the HTTP status to answer.
 */
export function openDelivery(
  rawBody: Buffer,
  headers: Record<string, string | string[] | undefined>,
  security: EventSecurity,
): EventJson {
  let outer: Record<string, unknown>
  try {
    outer = JSON.parse(rawBody.toString('utf8')) as Record<string, unknown>
    if (!outer || typeof outer !== 'object' || Array.isArray(outer)) throw new Error()
  } catch {
    throw new EventRejected(400, 'body is not a JSON object')
  }
  if (isLegacyCardCallback(outer)) return openLegacyCallback(outer, rawBody, headers, security)
  let event: EventJson = outer
  if (typeof outer.encrypt === 'string') {
    if (!security.encryptKey)
      throw new EventRejected(
        400,
        'received an encrypted event but no Encrypt Key is configured (FEISHU_ENCRYPT_KEY)',
      )
    const plain = decryptEvent(outer.encrypt, security.encryptKey)
    try {
      event = JSON.parse(plain) as EventJson
    } catch {
      throw new EventRejected(400, 'decrypted event is not JSON')
    }
  } else if (security.encryptKey && outer.type !== 'url_verification') {
    throw new EventRejected(400, 'an Encrypt Key is configured but the event is not encrypted')
  }

  const isChallenge = event.type === 'url_verification'
  const token: unknown = event.header?.token ?? event.token
  if (security.verificationToken) {
    if (typeof token !== 'string' || !safeEqual(token, security.verificationToken))
      throw new EventRejected(401, 'verification token does not match')
    // The token alone is a static secret (no signature, no timestamp header): a captured
    // delivery replayed later, or one for another app, is refused by what the event says.
    if (!isChallenge && !security.encryptKey) checkEventHeader(event, security)
  }
  // The challenge carries no signature headers; the SDKs check only its token.
  if (security.encryptKey && !isChallenge)
    checkSignature(headers, security, (t, n) => signEvent(t, n, security.encryptKey!, rawBody))
  // With neither a token nor a key configured nothing can be checked; the receiver warns at start.
  return event
}

/** A v2 event's own header: made within the accepted skew, for this app. */
function checkEventHeader(event: EventJson, security: EventSecurity): void {
  const header = event.header as { create_time?: unknown; app_id?: unknown } | undefined
  if (!header) return // v1 events carry neither; their token was checked
  const created = Number(header.create_time)
  if (
    !Number.isFinite(created) ||
    Math.abs(security.now() - created) > security.maxSkewSeconds * 1000
  )
    throw new EventRejected(401, 'the event is too old or from the future (header.create_time)')
  if (security.appId && header.app_id !== undefined && header.app_id !== security.appId)
    throw new EventRejected(401, 'the event is for another app (header.app_id)')
}

/**
 * The older card callback (`card.action.trigger_v1`, the app's "card request
 * URL"): a flat body, never encrypted, whose `token` is the card-update token.
 * Distinguished as the official Node SDK does: neither `encrypt` nor `schema`.
 */
function isLegacyCardCallback(body: Record<string, unknown>): boolean {
  return (
    !('encrypt' in body) &&
    !('schema' in body) &&
    body.type !== 'url_verification' &&
    typeof body.open_message_id === 'string' &&
    typeof body.action === 'object'
  )
}

function openLegacyCallback(
  body: Record<string, unknown>,
  rawBody: Buffer,
  headers: Record<string, string | string[] | undefined>,
  security: EventSecurity,
): EventJson {
  if (security.verificationToken) {
    const token = security.verificationToken
    checkSignature(headers, security, (t, n) => signLegacyCallback(t, n, token, rawBody))
  } else if (security.encryptKey) {
    // Only the verification token can prove a legacy callback; the Encrypt Key plays no part.
    throw new EventRejected(
      401,
      'a legacy card callback (card.action.trigger_v1) can only be verified with the Verification Token: set FEISHU_VERIFICATION_TOKEN, or subscribe to card.action.trigger instead',
    )
  }
  return body as EventJson
}

function checkSignature(
  headers: Record<string, string | string[] | undefined>,
  security: EventSecurity,
  expected: (timestamp: string, nonce: string) => string,
): void {
  const h = (name: string) => {
    const v = headers[name]
    return Array.isArray(v) ? v[0] : v
  }
  const timestamp = h('x-lark-request-timestamp')
  const nonce = h('x-lark-request-nonce')
  const signature = h('x-lark-signature')
  if (!timestamp || !nonce || !signature)
    throw new EventRejected(401, 'missing X-Lark-Signature headers')
  if (!safeEqual(signature.toLowerCase(), expected(timestamp, nonce)))
    throw new EventRejected(401, 'X-Lark-Signature does not match')
  // Documented as seconds; anything else cannot be judged fresh, so it is refused (a replay).
  if (!/^\d{1,12}$/.test(timestamp))
    throw new EventRejected(401, 'X-Lark-Request-Timestamp is not a number of seconds')
  const skew = Math.abs(security.now() / 1000 - Number(timestamp))
  if (skew > security.maxSkewSeconds)
    throw new EventRejected(401, `stale request timestamp (${Math.round(skew)} s off)`)
}
