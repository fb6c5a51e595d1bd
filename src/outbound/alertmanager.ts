import { request } from 'undici'
import type { AlertmanagerTarget } from '../config/config.js'

/**
 * Silences in Alertmanager through its API v2 (POST /api/v2/silences,
 * DELETE /api/v2/silence/{id}; https://github.com/prometheus/alertmanager/blob/main/api/v2/openapi.yaml).
 */
export class SilenceError extends Error {
  override readonly name = 'SilenceError'
}

function headers(am: AlertmanagerTarget): Record<string, string> {
  const h: Record<string, string> = { 'content-type': 'application/json' }
  if (am.bearer_token) h.authorization = `Bearer ${am.bearer_token}`
  else if (am.basic)
    h.authorization = `Basic ${Buffer.from(`${am.basic.username}:${am.basic.password}`).toString('base64')}`
  return h
}

const base = (am: AlertmanagerTarget) => am.url.replace(/\/+$/, '')

/**
 * The address as people may see it (chat lines, links, errors): without the
 * userinfo a URL may carry (https://user:pass@host).
 */
export function publicBase(am: AlertmanagerTarget): string {
  try {
    const url = new URL(base(am))
    url.username = ''
    url.password = ''
    return url.toString().replace(/\/+$/, '')
  } catch {
    return '(the configured Alertmanager)'
  }
}

async function call(
  am: AlertmanagerTarget,
  method: 'POST' | 'DELETE',
  path: string,
  body?: unknown,
) {
  let res: Awaited<ReturnType<typeof request>>
  try {
    res = await request(`${base(am)}${path}`, {
      method,
      headers: headers(am),
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    })
  } catch (error) {
    // The cause's code only (ECONNREFUSED, a timeout): its message may repeat the URL.
    const code = (error as { code?: string }).code ?? (error as Error).name
    throw new SilenceError(`Alertmanager at ${publicBase(am)} unreachable (${code})`)
  }
  const text = await res.body.text()
  // The status only, never the body: it goes to the chat and may echo the credentials.
  if (res.statusCode >= 300)
    throw new SilenceError(
      `Alertmanager answered ${res.statusCode} to ${method} ${path.split('/').slice(0, 4).join('/')}`,
    )
  return text
}

/** Creates a silence of exactly these label values until `endsAt`; returns its id and its page. */
export async function createSilence(
  am: AlertmanagerTarget,
  silence: { matchers: Record<string, string>; endsAt: number; createdBy: string; comment: string },
): Promise<{ id: string; url: string }> {
  const matchers = Object.entries(silence.matchers).map(([name, value]) => ({
    name,
    value,
    isRegex: false,
    isEqual: true,
  }))
  if (!matchers.length) throw new SilenceError('the incident has no labels to silence it by')
  const text = await call(am, 'POST', '/api/v2/silences', {
    matchers,
    startsAt: new Date().toISOString(),
    endsAt: new Date(silence.endsAt).toISOString(),
    createdBy: silence.createdBy,
    comment: silence.comment,
  })
  let id: string | undefined
  try {
    id = (JSON.parse(text) as { silenceID?: string }).silenceID
  } catch {
    id = undefined
  }
  if (!id) throw new SilenceError('Alertmanager did not return a silence id')
  return { id, url: `${publicBase(am)}/#/silences/${encodeURIComponent(id)}` }
}

/** Expires a silence now (Alertmanager keeps it, expired, for its retention). */
export async function expireSilence(am: AlertmanagerTarget, id: string): Promise<void> {
  await call(am, 'DELETE', `/api/v2/silence/${encodeURIComponent(id)}`)
}
