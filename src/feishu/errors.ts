import { redact } from '../util/log.js'

/** Details Feishu attaches to some failures (`error` in the envelope). */
export interface FeishuErrorDetail {
  log_id?: string
  permission_violations?: Array<{ type?: string; subject?: string; description?: string }>
  field_violations?: Array<{ field?: string; value?: string; description?: string }>
  [key: string]: unknown
}

export interface FeishuErrorInit {
  /** Feishu's business code; 0 never reaches here. -1 when there was no Feishu answer at all. */
  code: number
  msg: string
  httpStatus?: number | undefined
  logId?: string | undefined
  /** `METHOD path` of the failed call, e.g. `POST /open-apis/im/v1/chats`. */
  endpoint: string
  /** Scopes that open this endpoint, used to name the scope in a permission hint. */
  endpointScopes?: readonly string[]
  detail?: FeishuErrorDetail | undefined
  attempts?: number
  cause?: unknown
}

/**
 * The one error type the Feishu client throws. Its message reads on its own in
 * a CI log: what failed, Feishu's code and words, the log id to quote to
 * Feishu support, and what to do about it.
 */
export class FeishuError extends Error {
  override readonly name = 'FeishuError'
  readonly code: number
  readonly msg: string
  readonly httpStatus: number | undefined
  readonly logId: string | undefined
  readonly endpoint: string
  readonly hint: string | undefined
  readonly detail: FeishuErrorDetail | undefined
  readonly attempts: number

  constructor(init: FeishuErrorInit) {
    const hint = hintFor(init)
    const parts = [
      `Feishu ${init.endpoint} failed`,
      init.code === -1 ? `: ${init.msg}` : `: code ${init.code} "${init.msg}"`,
    ]
    const meta = [
      init.httpStatus ? `HTTP ${init.httpStatus}` : undefined,
      init.logId ? `log_id ${init.logId}` : undefined,
      init.attempts && init.attempts > 1 ? `after ${init.attempts} attempts` : undefined,
    ].filter(Boolean)
    if (meta.length) parts.push(` (${meta.join(', ')})`)
    if (hint) parts.push(`. Hint: ${hint}`)
    super(redact(parts.join('')), init.cause ? { cause: init.cause } : undefined)
    this.code = init.code
    this.msg = redact(init.msg)
    this.httpStatus = init.httpStatus
    this.logId = init.logId
    this.endpoint = init.endpoint
    this.hint = hint
    this.detail = init.detail
    this.attempts = init.attempts ?? 1
  }

  /**
   * What the failure means, the one place Feishu's codes are read: the core
   * and every front end act on the kind, never on a code.
   */
  get kind(): FeishuErrorKind {
    if (this.isRateLimit) return 'rate_limited'
    if (this.isTransient) return 'transient'
    if (PERMISSION_CODES.has(this.code)) return 'missing_scope'
    if (TOKEN_INVALID_CODES.has(this.code)) return 'token'
    if (BAD_MEMBER_CODES.has(this.code)) return 'bad_member'
    if (NOT_OUR_CHAT_CODES.has(this.code)) return 'not_our_chat'
    return 'refused'
  }

  /** True when the request reached Feishu and was refused for rate limiting. */
  get isRateLimit(): boolean {
    return RATE_LIMIT_CODES.has(this.code) || this.httpStatus === 429
  }

  /** True for failures another attempt later could fix (network, 5xx, rate limits). */
  get isTransient(): boolean {
    return (
      this.code === -1 ||
      this.isRateLimit ||
      (this.httpStatus !== undefined && this.httpStatus >= 500) ||
      IN_FLIGHT_CODES.has(this.code)
    )
  }
}

export type FeishuErrorKind =
  /** Refused for its rate; the same call later works. */
  | 'rate_limited'
  /** A network failure, a 5xx, a duplicate still in flight: try again. */
  | 'transient'
  /** The app lacks a scope (the hint names it). */
  | 'missing_scope'
  /** The credentials or the token are refused. */
  | 'token'
  /** A member id Feishu cannot take (resigned, unknown, not visible to the app). */
  | 'bad_member'
  /** The chat is not there for this bot (not in it, dissolved, another tenant's). */
  | 'not_our_chat'
  /** Anything else Feishu refused: sending it again will not help. */
  | 'refused'

/** Create-chat failures caused by one unusable member id. */
const BAD_MEMBER_CODES = new Set([
  232043, 232022, 232030, 99992351, 99992360, 99992364, 99992361, 232024, 230013,
])

/** The chat is not this bot's to read: not a member, dissolved, or not found. */
const NOT_OUR_CHAT_CODES = new Set([232006, 232009, 232011, 230002, 232010])

/** Refused before any effect: always safe to send again after a wait. */
export const RATE_LIMIT_CODES = new Set([
  99991400, // request trigger frequency limit
  230020, // per chat / per user / per message frequency limit
  232019, // chat-level throttling (concurrent member changes)
  230047, // pin rate per message
  230048, // list pins rate (50/s)
  1770036, // docx: the folder is busy with a concurrent create (its API page: retry later)
  11232,
  11233,
  11247, // legacy message rate limits
])

/** A duplicate of a request that is still in flight: the same uuid will succeed soon. */
export const IN_FLIGHT_CODES = new Set([
  232068, // the group is being created
  230049, // the message is being sent
])

/**
 * Token problems that a fresh tenant_access_token fixes. 234002 is how image
 * upload says it (HTTP 401, "Authorization failed"), not a gateway token code.
 */
export const TOKEN_INVALID_CODES = new Set([
  99991663, 99991664, 99991665, 99991661, 99991671, 234002,
])

const PERMISSION_CODES = new Set([99991672, 99991676, 99991679])

function scopesFrom(init: FeishuErrorInit): string[] {
  const fromDetail = (init.detail?.permission_violations ?? [])
    .map((v) => v.subject)
    .filter((s): s is string => typeof s === 'string' && s.length > 0)
  if (fromDetail.length) return fromDetail
  const fromMsg = /required[^[]*\[([^\]]+)\]/i.exec(init.msg)
  if (fromMsg?.[1])
    return fromMsg[1]
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
  return [...(init.endpointScopes ?? [])]
}

function hintFor(init: FeishuErrorInit): string | undefined {
  const { code } = init
  if (PERMISSION_CODES.has(code)) {
    const scopes = scopesFrom(init)
    const which =
      scopes.length === 1 ? `the scope ${scopes[0]}` : `one of the scopes ${scopes.join(', ')}`
    return `the app lacks a permission: enable ${which} in the developer console (Permissions & Scopes), then publish a new app version so it takes effect`
  }
  if (
    code === 230027 &&
    init.endpoint.includes('/im/v1/messages') &&
    init.endpoint.startsWith('GET')
  ) {
    return 'reading a group chat’s history needs the sensitive scope im:message.group_msg (approved by a tenant admin), and the bot must be in the chat'
  }
  if (code === -1 && init.httpStatus === 404) {
    return 'no Feishu API at this address: check the domain (feishu for open.feishu.cn, lark for open.larksuite.com, or the full base URL of a private deployment)'
  }
  const hint = HINTS[code]
  if (hint) return hint
  if (RATE_LIMIT_CODES.has(code))
    return 'Feishu rate-limited the call; it was retried until the time budget ran out'
  if (init.httpStatus && init.httpStatus >= 500)
    return 'Feishu had a server error; it was retried. Quote the log_id to Feishu support if it persists'
  return undefined
}

const BOT_NOT_IN_CHAT =
  'the bot is not a member of this chat (it was removed, or the chat was created by someone else): add the bot to the chat, or let feishu-warroom open a new one'
const INVALID_ID =
  'a member id is unknown to this app: open_ids are per app, so take them from this app (or use emails), and check the id type (open_id ou_…, union_id on_…, user_id)'
const BAD_CREDENTIALS =
  'app id or app secret is wrong, or the app lives on the other domain: apps made on open.larksuite.com need domain lark, apps on open.feishu.cn need domain feishu'

const HINTS: Record<number, string> = {
  99991401:
    'the caller’s IP is blocked by the app’s IP allow-list: add the runner’s address or remove the allow-list',
  99991543: BAD_CREDENTIALS,
  // From the token endpoint: an app id Feishu does not know.
  10003:
    'Feishu knows no app with this app id: copy the App ID (cli_…) from Credentials & Basic Info in the developer console; apps made on open.larksuite.com need domain lark',
  10014: BAD_CREDENTIALS,
  10015: BAD_CREDENTIALS,
  99991662: 'the app is disabled in this tenant: ask a tenant admin to enable it',
  99991673:
    'the app is not installed or not enabled in this tenant: publish a version and have it approved',
  232034:
    'the app is not installed or not enabled in this tenant: publish a version and have it approved',
  99991663:
    'the tenant_access_token was refused even after a refresh: check that app id, secret and domain belong to the same app',
  99991661:
    'the request carried no token: check that app id, secret and domain belong to the same app',
  99991671: 'the token has an unexpected format: check the domain points at a Feishu Open API',
  230002: BOT_NOT_IN_CHAT,
  232011: BOT_NOT_IN_CHAT,
  230006: 'the app’s bot capability is off: enable Bot under Features in the developer console',
  232025: 'the app’s bot capability is off: enable Bot under Features in the developer console',
  234007: 'the app’s bot capability is off: enable Bot under Features in the developer console',
  99992351: INVALID_ID,
  99992360: INVALID_ID,
  99992364: INVALID_ID,
  232043: INVALID_ID,
  230034: INVALID_ID,
  232030: INVALID_ID,
  99992361:
    'this open_id belongs to another app: open_ids differ per app, so resolve users with this app (or use emails)',
  230013:
    'the user is outside the app’s availability scope: widen the app’s availability in the developer console',
  232024: 'the user cannot see the bot: widen the app’s availability scope to include them',
  230025: 'the message or card is larger than Feishu accepts (30 KB for cards)',
  230099: 'Feishu refused the card JSON; the message above names the part it rejected',
  230031: 'the card is older than 14 days and can no longer be updated',
  230046: 'only owners and admins may pin in this chat: make the bot an admin (set_bot_manager)',
  232009: 'the chat has been dissolved',
  232006: 'the chat id is not valid for this app',
  99992402: 'a request field failed Feishu’s validation; see the field named in the message',
}

/** Compact description of a network-level failure (never includes headers). */
export function describeNetworkError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: string }).code
    return redact(code ? `${code}: ${error.message}` : error.message)
  }
  return redact(String(error))
}
