import { createHmac } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { Config } from '../config/config.js'
import { HttpError } from '../util/http.js'
import { safeEqual } from './feishu-events.js'

/**
 * Webhook authentication: a bearer token or basic auth (as Alertmanager's
 * http_config and Grafana's contact point send them), compared in constant time.
 */
export function checkWebhookAuth(req: IncomingMessage, auth: Config['auth']): void {
  if (!auth.bearer_token && !auth.basic) return
  const header = req.headers.authorization ?? ''
  const challenge = { 'www-authenticate': auth.basic ? 'Basic realm="feishu-warroom"' : 'Bearer' }
  if (!header) throw new HttpError(401, 'missing Authorization header', challenge)
  const [scheme, ...rest] = header.split(' ')
  const value = rest.join(' ').trim()
  if (auth.bearer_token && /^bearer$/i.test(scheme ?? '') && safeEqual(value, auth.bearer_token))
    return
  if (auth.basic && /^basic$/i.test(scheme ?? '')) {
    const decoded = Buffer.from(value, 'base64').toString('utf8')
    const expected = `${auth.basic.username}:${auth.basic.password}`
    if (safeEqual(decoded, expected)) return
  }
  throw new HttpError(401, 'invalid credentials', challenge)
}

/**
 * Grafana's HMAC-SHA256 signature over the raw body, or over
 * `timestamp:body` when a timestamp header is configured.
 */
export function checkGrafanaSignature(
  req: IncomingMessage,
  rawBody: Buffer,
  grafana: Config['grafana'],
  now: () => number,
  maxSkewSeconds = 300,
): void {
  if (!grafana.hmac_secret) return
  const get = (name: string) => {
    const v = req.headers[name.toLowerCase()]
    return Array.isArray(v) ? v[0] : v
  }
  const signature = get(grafana.hmac_header)
  if (!signature) throw new HttpError(401, `missing ${grafana.hmac_header} header`)
  const hmac = createHmac('sha256', grafana.hmac_secret)
  if (grafana.hmac_timestamp_header) {
    const timestamp = get(grafana.hmac_timestamp_header)
    if (!timestamp || !/^\d+$/.test(timestamp))
      throw new HttpError(401, `missing or invalid ${grafana.hmac_timestamp_header} header`)
    const skew = Math.abs(now() / 1000 - Number(timestamp))
    if (skew > maxSkewSeconds)
      throw new HttpError(401, `stale signature timestamp (${Math.round(skew)} s off)`)
    hmac.update(`${timestamp}:`)
  }
  hmac.update(rawBody)
  if (!safeEqual(signature.trim().toLowerCase(), hmac.digest('hex'))) {
    // Name the settings to compare: Grafana's HMAC Secret, Header and Timestamp header.
    const sentTimestamp = get('X-Grafana-Alerting-Timestamp')
    const hint = grafana.hmac_timestamp_header
      ? `Grafana's "Timestamp header" must be ${grafana.hmac_timestamp_header} (grafana.hmac_timestamp_header)`
      : sentTimestamp
        ? 'the request carries X-Grafana-Alerting-Timestamp: Grafana then signs "timestamp:body", so set grafana.hmac_timestamp_header: X-Grafana-Alerting-Timestamp'
        : `if Grafana's "Timestamp header" is set, put the same name in grafana.hmac_timestamp_header`
    throw new HttpError(
      401,
      `${grafana.hmac_header} does not match: the contact point's HMAC "Secret" must equal grafana.hmac_secret and its "Header" must be ${grafana.hmac_header}; ${hint}`,
    )
  }
}

/** GET /incidents/<key>/timeline: the read token (auth.read_token), and only it. */
export function checkReadAuth(req: IncomingMessage, auth: Config['auth']): void {
  if (!auth.read_token)
    throw new HttpError(
      404,
      'transcripts are not served here: read them with `warroom timeline`, or set auth.read_token (WARROOM_READ_TOKEN)',
    )
  const header = req.headers.authorization ?? ''
  const [scheme, ...rest] = header.split(' ')
  if (/^bearer$/i.test(scheme ?? '') && safeEqual(rest.join(' ').trim(), auth.read_token)) return
  throw new HttpError(401, header ? 'invalid credentials' : 'missing Authorization header', {
    'www-authenticate': 'Bearer',
  })
}
