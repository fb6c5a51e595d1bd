import type { IncomingMessage, ServerResponse } from 'node:http'
import { errorMessage } from '../util/errors.js'
import { readBody, sendJson } from '../util/http.js'
import { MAX_BODY_BYTES, parseJson } from './common.js'
import type { SandboxCore } from './core.js'
import { startMeeting } from './handlers/attention.js'

/**
 * Test controls for processes that do not share memory with the sandbox:
 * `GET /_sandbox/state`, `GET /_sandbox/stats` (requests and rate-limit refusals), `POST /_sandbox/faults` (a Fault as JSON),
 * `POST /_sandbox/expire-tokens`, `POST /_sandbox/advance` ({"ms": n}),
 * `POST /_sandbox/meetings/start` ({"reserve_id": …}: someone opens the reserved meeting).
 */
export async function control(
  sb: SandboxCore,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  const respond = (status: number, value: unknown) => sendJson(res, status, value)
  try {
    const body = await readBody(req, MAX_BODY_BYTES)
    const route = `${req.method} ${url.pathname}`
    if (route === 'GET /_sandbox/state') return respond(200, sb.state.dump())
    if (route === 'GET /_sandbox/stats') {
      const requests: Record<string, number> = {}
      for (const r of sb.requests) requests[r.endpoint] = (requests[r.endpoint] ?? 0) + 1
      return respond(200, {
        refusedByLimits: sb.refusedByLimits,
        refusedBy: sb.refusedBy,
        requests,
      })
    }
    if (route === 'POST /_sandbox/faults') {
      sb.faults.add(parseJson(body) as never)
      return respond(200, { ok: true, pending: sb.faults.pending.length })
    }
    if (route === 'POST /_sandbox/expire-tokens') {
      sb.expireAllTokens()
      return respond(200, { ok: true })
    }
    if (route === 'POST /_sandbox/meetings/start') {
      const id = String((parseJson(body) as { reserve_id?: unknown }).reserve_id ?? '')
      return respond(200, { meeting_id: startMeeting(sb, id) })
    }
    if (route === 'POST /_sandbox/advance') {
      const ms = Number((parseJson(body) as { ms?: unknown }).ms)
      if (!Number.isFinite(ms) || ms < 0)
        return respond(400, { error: 'ms must be a non-negative number' })
      sb.advance(ms)
      return respond(200, { ok: true })
    }
    respond(404, { error: `unknown sandbox control ${route}` })
  } catch (error) {
    respond(400, { error: errorMessage(error) })
  }
}
