import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  changeFromPagerDuty,
  fromPagerDuty,
  PagerDutyEventError,
  type PagerDutyIntake,
} from '../../adapters/pagerduty.js'
import type { Config } from '../config/config.js'
import { PAGERDUTY_ROUTE, routeIncident } from '../config/routing.js'
import { classify } from '../core/failures.js'
import type { WarRoom, WarRoomResult } from '../core/warroom.js'
import type { Change } from '../model/change.js'
import { clampIncident, parseIncident } from '../model/incident.js'
import { HttpError, parseJsonBody, readBody, sendJson } from '../util/http.js'
import type { Logger } from '../util/log.js'
import { safeEqual } from './feishu-events.js'
import type { Metrics } from './metrics.js'
import type { Timelines } from './timelines.js'

/** How the sources' own name appears when an event acknowledges (as a person's /ack would). */
const ACKNOWLEDGER = 'PagerDuty event'

/**
 * `POST /v2/enqueue` (and `/pagerduty/v2/enqueue`): PagerDuty's Events API
 * v2, answered as PagerDuty answers (202 with status, message and dedup_key;
 * 400 with errors naming the field; 429 when throttled; 5xx to be retried),
 * so the senders' own retry logic works unchanged. The routing key
 * authenticates: the webhook token, or a route's own `routing_key`, which
 * routes the event there. A bearer Authorization header works too.
 */
export class PagerDutyEndpoint {
  constructor(
    private readonly options: {
      config: Config
      warroom: WarRoom
      logger: Logger
      metrics: Metrics
      timelines: Timelines
    },
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { config, metrics } = this.options
    const count = (outcome: string) => metrics.webhooks.inc({ source: 'pagerduty', outcome })
    if (req.method !== 'POST') throw new HttpError(405, 'use POST', { allow: 'POST' })
    const raw = await readBody(req, config.server.body_limit_bytes)
    let event: PagerDutyIntake
    let routingKey: string
    try {
      const body = parseJsonBody(raw, req.headers['content-type'])
      routingKey = String((body as { routing_key?: unknown })?.routing_key ?? '')
      event = fromPagerDuty(body)
    } catch (error) {
      count('bad_request')
      const errors =
        error instanceof PagerDutyEventError ? error.errors : [(error as Error).message]
      return invalid(res, errors)
    }
    const route = this.routeOf(routingKey, req.headers.authorization)
    if (route === undefined) {
      count('unauthorized')
      return invalid(res, ['routing_key is not one this receiver accepts'])
    }
    try {
      const result = await this.apply(event, route)
      this.options.timelines.afterResolution(result)
      count(result.action)
      return sendJson(res, 202, {
        status: 'success',
        message: 'Event processed',
        dedup_key: event.dedupKey,
      })
    } catch (error) {
      const failure = classify(error)
      if (failure.class === 'bad_input') {
        count('bad_request')
        return invalid(res, [failure.message])
      }
      if (failure.class === 'busy') {
        count('throttled')
        return sendJson(
          res,
          429,
          { status: 'throttle event', message: failure.message },
          {
            'retry-after': String(failure.retryAfterSeconds),
          },
        )
      }
      if (failure.class === 'store_unavailable' || failure.class === 'feishu_transient') {
        count(failure.class)
        this.options.logger.error('a PagerDuty event failed; the sender will retry', {
          error: failure.message,
        })
        return sendJson(res, 503, { status: 'error', message: failure.message })
      }
      if (failure.feishu) {
        // Refused for good (a scope): retrying cannot help, so it is accepted and logged.
        count('feishu_error')
        this.options.logger.error('Feishu refused a PagerDuty event for good', {
          code: failure.feishu.code,
          error: failure.message,
        })
        return sendJson(res, 202, {
          status: 'success',
          message: `Event accepted; Feishu refused it: ${failure.message}`,
          dedup_key: event.dedupKey,
        })
      }
      throw error
    }
  }

  /** `POST /v2/change/enqueue`: a change recorded for the cards of incidents that open after it. */
  async change(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { config, metrics, warroom } = this.options
    const count = (outcome: string) => metrics.webhooks.inc({ source: 'pagerduty_change', outcome })
    if (req.method !== 'POST') throw new HttpError(405, 'use POST', { allow: 'POST' })
    const raw = await readBody(req, config.server.body_limit_bytes)
    let change: Change
    let routingKey: string
    try {
      const body = parseJsonBody(raw, req.headers['content-type'])
      routingKey = String((body as { routing_key?: unknown })?.routing_key ?? '')
      change = changeFromPagerDuty(body)
    } catch (error) {
      count('bad_request')
      return invalid(
        res,
        error instanceof PagerDutyEventError ? error.errors : [(error as Error).message],
      )
    }
    if (this.routeOf(routingKey, req.headers.authorization) === undefined) {
      count('unauthorized')
      return invalid(res, ['routing_key is not one this receiver accepts'])
    }
    try {
      await warroom.changes().add(change)
    } catch (error) {
      count('store_unavailable')
      return sendJson(res, 503, { status: 'error', message: (error as Error).message })
    }
    count('recorded')
    return sendJson(res, 202, { status: 'success', message: 'Change event processed' })
  }

  /** The route a routing key selects (-1: none in particular); undefined when it is not accepted. */
  private routeOf(routingKey: string, authorization: string | undefined): number | undefined {
    const { config } = this.options
    const index = config.routes.findIndex(
      (r) => r.routing_key !== undefined && safeEqual(routingKey, r.routing_key),
    )
    if (index >= 0) return index
    const token = config.auth.bearer_token
    if (!token && !config.auth.basic) return -1
    if (token && safeEqual(routingKey, token)) return -1
    const [scheme, ...rest] = (authorization ?? '').split(' ')
    if (token && /^bearer$/i.test(scheme ?? '') && safeEqual(rest.join(' ').trim(), token))
      return -1
    return undefined
  }

  private async apply(event: PagerDutyIntake, route: number): Promise<WarRoomResult> {
    const { warroom, config } = this.options
    if (event.action !== 'trigger')
      // A resolve or acknowledge for a key with no open war room is dropped, as PagerDuty drops it.
      return event.action === 'acknowledge'
        ? warroom.sourceAcknowledge(event.key, ACKNOWLEDGER)
        : warroom.handle({
            key: event.key,
            title: event.dedupKey,
            status: 'resolved',
            source: 'pagerduty',
          })
    const labels = { ...event.incident.labels }
    delete labels[PAGERDUTY_ROUTE]
    if (route >= 0) labels[PAGERDUTY_ROUTE] = String(route)
    const incident = parseIncident(clampIncident({ ...event.incident, labels }))
    return warroom.handle(routeIncident(incident, config, Date.now()))
  }
}

function invalid(res: ServerResponse, errors: string[]): void {
  sendJson(res, 400, { status: 'invalid event', message: 'Event object is invalid', errors })
}
