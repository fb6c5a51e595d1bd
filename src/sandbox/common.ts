import type { IncomingMessage } from 'node:http'
import type { WindowModel } from './limits.js'
import { SANDBOX_ROUTES } from './routes.js'

/** What the sandbox's parts share: its options, constants, the API error and the handler shape. */

export interface SandboxOptions {
  /** The one app the sandbox knows. */
  appId?: string
  appSecret?: string
  appName?: string
  /** Scopes granted to the app; all the product needs by default. */
  scopes?: Iterable<string>
  /** Lifetime of a new tenant_access_token in seconds (Feishu: 7200). */
  tokenTtlSeconds?: number
  /** Enforce Feishu's documented rate limits (default true). */
  rateLimits?: boolean
  /** How the limits are counted: any span of the window (default), or windows aligned to the epoch. */
  rateLimitWindows?: WindowModel
  /** Seed the directory with demo users (default true). */
  seedUsers?: boolean
  host?: string
  port?: number
  /** Milliseconds added to the wall clock: lets tests move time forward. */
  clockOffsetMs?: number
  /**
   * What a repeated uuid answers once the first call completed (UNCONFIRMED on
   * real Feishu): the original object (default), or an error.
   */
  repeatedUuid?: 'original' | 'error'
  /**
   * What a chat name over 60 or a description over 100 characters gets
   * (UNCONFIRMED on real Feishu, whose CLI refuses them before sending):
   * refused with 232001 (default), cut to the limit, or kept whole.
   */
  longChatText?: 'refuse' | 'truncate' | 'accept'
  /** When an unanswered event is pushed again over the long connection (Feishu: 15 s, 5 min, 1 h, 6 h). */
  repushDelaysMs?: number[]
  /**
   * Whether a meeting's details answer its notes documents
   * (`related_artifacts`) to a tenant token: UNCONFIRMED, both are played.
   */
  meetingArtifacts?: boolean
}

/** Reading group history needs this sensitive scope on top of the message-list ones. */
export const GROUP_HISTORY_SCOPE = 'im:message.group_msg'

/** Every scope a route takes, plus group history: what a fully set-up app has. */
export const ALL_SCOPES: readonly string[] = [
  ...new Set([...Object.values(SANDBOX_ROUTES).flatMap((e) => e.scopes), GROUP_HISTORY_SCOPE]),
]

/**
 * Chat name and description limits: Feishu documents 60 and 100 characters (建议不超过 60 / 100
 * 字符) and Lark's CLI refuses longer values; the sandbox refuses them as invalid parameters.
 */
export const CHAT_NAME_LIMIT = 60
export const CHAT_DESCRIPTION_LIMIT = 100
/** Feishu's system-message templates, as seen in real histories (amzyang/larkim, sync/system.go). */
export const SYSTEM_TEMPLATES = {
  created: '{from_user} started the group chat.',
  invited: '{from_user} invited {to_chatters} to the group.',
  renamed: '{from_user} updated the group name from "{old_group_name}" to "{group_name}".',
} as const

export const CREATE_CHAT_UUID_WINDOW_MS = 10 * 3600_000
export const MESSAGE_UUID_WINDOW_MS = 3600_000
export const PATCH_WINDOW_MS = 14 * 24 * 3600_000
export const MAX_BODY_BYTES = 12 * 1024 * 1024

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    msg: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(msg)
  }
}

/** Feishu's answer to a call over its rate: 429, 99991400, with the limit and when it resets. */
export const frequencyLimit = (limited: { limit: number; resetSeconds: number }) =>
  new ApiError(
    429,
    99991400,
    'request trigger frequency limit',
    {},
    {
      'x-ogw-ratelimit-limit': String(limited.limit),
      'x-ogw-ratelimit-reset': String(limited.resetSeconds),
    },
  )

export const fieldError = (field: string, description: string) =>
  new ApiError(400, 99992402, 'field validation failed', {
    field_violations: [{ field, description }],
  })

export interface Ctx {
  req: IncomingMessage
  url: URL
  params: Record<string, string>
  body: Buffer
  appId: string
}

export type Handler = (ctx: Ctx) => Promise<unknown> | unknown

export function parseJson(body: Buffer): unknown {
  if (body.length === 0) return {}
  try {
    const value = JSON.parse(body.toString('utf8')) as unknown
    if (!value || typeof value !== 'object' || Array.isArray(value))
      throw new Error('not an object')
    return value
  } catch {
    throw new ApiError(400, 99992402, 'field validation failed', {
      field_violations: [{ field: 'body', description: 'the request body is not a JSON object' }],
    })
  }
}

/** Whether a Host header names this machine's loopback (any port). */
export function isLoopbackHost(host: string | undefined): boolean {
  const name = (host ?? '').replace(/:\d+$/, '').toLowerCase()
  return name === 'localhost' || name === '[::1]' || /^127(\.\d{1,3}){3}$/.test(name)
}
