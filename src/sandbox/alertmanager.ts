/**
 * A small Alertmanager stand-in, so `/silence` and the card's Silence button
 * can be tried in the sandbox: the silences part of Alertmanager's API v2
 * (https://github.com/prometheus/alertmanager/blob/main/api/v2/openapi.yaml),
 * answering as Alertmanager 0.25 does (test/reference/alertmanager-standin
 * runs the same requests against the real one), and a page listing them.
 * It only keeps silences: it receives no alerts and holds no notifications.
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { readBody, sendJson } from '../util/http.js'

export const ALERTMANAGER_PATH = '/alertmanager'

interface Matcher {
  name: string
  value: string
  isRegex: boolean
  isEqual: boolean
}

export interface StandinSilence {
  id: string
  matchers: Matcher[]
  startsAt: number
  endsAt: number
  updatedAt: number
  createdBy: string
  comment: string
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/

/** What Alertmanager's API validation answers (its go-swagger codes: 602 required, 612 too few items). */
class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(typeof body === 'string' ? body : JSON.stringify(body))
  }
}

export class AlertmanagerStandin {
  readonly silences = new Map<string, StandinSilence>()

  constructor(private readonly now: () => number = Date.now) {}

  state(silence: StandinSilence): 'active' | 'pending' | 'expired' {
    const now = this.now()
    if (silence.endsAt <= now) return 'expired'
    return silence.startsAt > now ? 'pending' : 'active'
  }

  /** Answers a request under ALERTMANAGER_PATH. */
  async handle(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
    const path = pathname.slice(ALERTMANAGER_PATH.length) || '/'
    const route = `${req.method} ${path.replace(/^\/api\/v2\/silence\/[^/]+$/, '/api/v2/silence/:id')}`
    const id = decodeURIComponent(path.split('/')[4] ?? '')
    try {
      if (route === 'GET /' || route === 'GET /index.html') return this.page(res)
      if (route === 'GET /-/healthy') return void res.writeHead(200).end('OK')
      if (route === 'GET /api/v2/silences')
        return sendJson(
          res,
          200,
          [...this.silences.values()].map((s) => this.gettable(s)),
        )
      if (route === 'POST /api/v2/silences') {
        const body = await readBody(req, 1 << 20)
        return sendJson(res, 200, { silenceID: this.create(body.toString('utf8')) })
      }
      if (route === 'GET /api/v2/silence/:id') {
        const found = this.find(id, 404, '')
        return sendJson(res, 200, this.gettable(found))
      }
      if (route === 'DELETE /api/v2/silence/:id') {
        const found = this.find(id, 500)
        // Expiring an expired silence is not an error in Alertmanager 0.25.
        if (this.state(found) !== 'expired') {
          found.endsAt = this.now()
          found.updatedAt = this.now()
        }
        return void res.writeHead(200).end()
      }
      sendJson(res, 404, { code: 404, message: `path ${path} was not found` })
    } catch (error) {
      if (error instanceof Refusal)
        return error.body === ''
          ? void res.writeHead(error.status).end()
          : sendJson(res, error.status, error.body)
      throw error
    }
  }

  private find(id: string, missing = 404, body = 'silence not found'): StandinSilence {
    if (!UUID.test(id))
      throw new Refusal(422, {
        code: 601,
        message: `silenceID in path must be of type uuid: ${JSON.stringify(id)}`,
      })
    const found = this.silences.get(id)
    if (!found) throw new Refusal(missing, body)
    return found
  }

  private create(text: string): string {
    let body: Record<string, unknown>
    try {
      body = JSON.parse(text) as Record<string, unknown>
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('not an object')
    } catch {
      throw new Refusal(400, { code: 400, message: 'parsing silence body failed' })
    }
    for (const field of ['comment', 'createdBy', 'endsAt', 'matchers', 'startsAt'])
      if (body[field] === undefined)
        throw new Refusal(422, { code: 602, message: `${field} in body is required` })
    const matchers = body.matchers
    if (!Array.isArray(matchers) || !matchers.length)
      throw new Refusal(422, {
        code: 612,
        message: 'matchers in body should have at least 1 items',
      })
    const parsed = matchers.map((m: Record<string, unknown>, i) => {
      for (const field of ['isRegex', 'name', 'value'])
        if (m?.[field] === undefined)
          throw new Refusal(422, {
            code: 602,
            message: `matchers.${i}.${field} in body is required`,
          })
      if (!LABEL_NAME.test(String(m.name)))
        throw new Refusal(
          400,
          `silence invalid: invalid label matcher ${i}: invalid label name ${JSON.stringify(m.name)}`,
        )
      return {
        name: String(m.name),
        value: String(m.value),
        isRegex: m.isRegex === true,
        isEqual: m.isEqual !== false,
      }
    })
    if (parsed.every((m) => m.value === '' && m.isEqual && !m.isRegex))
      throw new Refusal(
        400,
        'silence invalid: at least one matcher must not match the empty string',
      )
    const now = this.now()
    const startsAt = Date.parse(String(body.startsAt))
    const endsAt = Date.parse(String(body.endsAt))
    if (!Number.isFinite(startsAt) || !Number.isFinite(endsAt))
      throw new Refusal(422, {
        code: 601,
        message: 'startsAt and endsAt must be of type date-time',
      })
    if (endsAt <= startsAt)
      throw new Refusal(400, 'Failed to create silence: start time must be before end time')
    if (endsAt < now)
      throw new Refusal(400, "Failed to create silence: end time can't be in the past")
    if (body.id !== undefined) {
      // An update: Alertmanager expires the old silence and answers a new id.
      const old = this.find(String(body.id))
      if (this.state(old) !== 'expired') old.endsAt = now
      old.updatedAt = now
    }
    const silence: StandinSilence = {
      id: randomUUID(),
      matchers: parsed,
      startsAt: Math.max(startsAt, now),
      endsAt,
      updatedAt: now,
      createdBy: String(body.createdBy),
      comment: String(body.comment),
    }
    this.silences.set(silence.id, silence)
    return silence.id
  }

  private gettable(s: StandinSilence) {
    return {
      id: s.id,
      status: { state: this.state(s) },
      updatedAt: new Date(s.updatedAt).toISOString(),
      comment: s.comment,
      createdBy: s.createdBy,
      endsAt: new Date(s.endsAt).toISOString(),
      matchers: s.matchers,
      startsAt: new Date(s.startsAt).toISOString(),
    }
  }

  /** The list a `#/silences/<id>` link lands on (the id after # is highlighted). */
  private page(res: ServerResponse): void {
    const esc = (t: string) => t.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
    const rows = [...this.silences.values()]
      .sort((a, b) => b.updatedAt - a.updatedAt)
      .map(
        (s) =>
          `<tr id="s-${s.id}"><td>${this.state(s)}</td><td>${esc(
            s.matchers.map((m) => `${m.name}${m.isEqual ? '=' : '!='}"${m.value}"`).join(', '),
          )}</td><td>${esc(s.createdBy)}</td><td>${new Date(s.endsAt).toISOString()}</td><td>${esc(s.comment)}</td><td><code>${s.id}</code></td></tr>`,
      )
      .join('')
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy':
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'",
    })
    res.end(`<!doctype html><meta charset="utf-8"><title>Alertmanager (sandbox stand-in)</title>
<style>body{font:14px system-ui;margin:2em}td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left}tr:target,tr.hit{background:#fff3c4}</style>
<h1>Silences <small>(the sandbox's Alertmanager stand-in)</small></h1>
<table><tr><th>state</th><th>matchers</th><th>created by</th><th>ends</th><th>comment</th><th>id</th></tr>${rows || '<tr><td colspan="6">none yet: type /silence 30m in a war room</td></tr>'}</table>
<script>const m=/#\\/silences\\/([\\w-]+)/.exec(location.hash);const r=m&&document.getElementById('s-'+m[1]);if(r)r.className='hit'</script>\n`)
  }
}
