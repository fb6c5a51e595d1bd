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

export type Command =
  | { op: 'ack' }
  | { op: 'resolve'; note?: string }
  | { op: 'status' }
  | { op: 'silence'; durationMs: number; note?: string }
  | { op: 'unsilence' }
  /** /help, or a command the bot does not know (named in `unknown`). */
  | { op: 'help'; unknown?: string }

/** 30s, 10m, 2h, 1d → ms; NaN when it is not a duration. */
export function parseDuration(text: string): number {
  const m = /^(\d{1,6})(s|m|h|d)$/i.exec(text.trim())
  if (!m) return Number.NaN
  return (
    Number(m[1]) * { s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 }[m[2]!.toLowerCase() as 's']
  )
}

/**
 * Reads a chat message as a command: `/ack`, `/resolve [note]`, `/status`,
 * also after an @mention of the bot (`@_user_1 /ack`) or, when the bot was
 * mentioned, without the slash (`@bot ack`).
 */
export function parseCommand(text: string, mentionedBot: boolean): Command | undefined {
  const cleaned = text.replace(/@_(user|all)_?\d*/g, ' ').trim()
  const m =
    /^\/?(ack|acknowledge|resolve|resolved|status|unsilence|silence|确认|解决|状态|取消静默|静默)(?![A-Za-z])\s*([\s\S]*)$/i.exec(
      cleaned,
    )
  if (!m) {
    // "/help", or a slash word the bot does not know ("/ackk"): answered with the commands. A path
    // ("/var/log is full") is no command, and plain talk is answered only when it addresses the bot.
    const word = /^\/?([A-Za-z\u4e00-\u9fff]{1,20})(?:\s|$)/.exec(cleaned)?.[1]
    if (!word) return undefined
    if (/^(help|帮助)$/i.test(word))
      return cleaned.startsWith('/') || mentionedBot ? { op: 'help' } : undefined
    // Talk addressed to the bot ("@bot please look") is no typo: only a slash word is.
    return cleaned.startsWith('/') ? { op: 'help', unknown: word } : undefined
  }
  if (!cleaned.startsWith('/') && !mentionedBot) return undefined
  const word = m[1]!.toLowerCase()
  if (word.startsWith('ack') || word === '确认') return { op: 'ack' }
  if (word === 'unsilence' || word === '取消静默') return { op: 'unsilence' }
  if (word === 'silence' || word === '静默') {
    const [duration = '', ...rest] = m[2]!.trim().split(/\s+/)
    const note = rest.join(' ').slice(0, 1000)
    return { op: 'silence', durationMs: parseDuration(duration), ...(note ? { note } : {}) }
  }
  if (word.startsWith('resolve') || word === '解决') {
    const note = m[2]!.trim()
    return note ? { op: 'resolve', note: note.slice(0, 1000) } : { op: 'resolve' }
  }
  return { op: 'status' }
}
