import type { Incident, Severity } from '../model/incident.js'
import { expandOnCall, type Schedule } from '../model/oncall.js'
import type { AlertmanagerTarget, EscalationStep, Route } from './config.js'

/** The label a PagerDuty event carries when its routing key is a route's: that route's index. */
export const PAGERDUTY_ROUTE = 'pagerduty_route'

export interface RouteResult {
  members: string[]
  severity?: Severity
  /** The escalation of the last matching route that has one. */
  escalation: EscalationStep[]
  /** The Alertmanager of the last matching route that names one. */
  alertmanager?: AlertmanagerTarget
  /** The stakeholder feed of the last matching route that names one. */
  broadcastChat?: string
  /** The video bridge mode of the last matching route that names one. */
  bridge?: 'auto' | 'button' | 'off'
  /** Indexes of the routes that matched, for logs. */
  matched: number[]
  /** The last matching route's matchers ("team=payments"), or "default". */
  name: string
}

/**
 * Alertmanager-style routing on labels: routes are tried in order; the first
 * match wins unless it says `continue: true`. Members accumulate; the last
 * matching route with a severity sets it.
 */
export function route(
  labels: Record<string, string>,
  routes: Route[],
  defaults: string[] = [],
): RouteResult {
  const result: RouteResult = {
    members: [...defaults],
    matched: [],
    escalation: [],
    name: 'default',
  }
  for (const [index, r] of routes.entries()) {
    const exact = Object.entries(r.match).every(([k, v]) => labels[k] === v)
    const regex = Object.entries(r.match_re).every(([k, re]) =>
      new RegExp(`^(?:${re})$`).test(labels[k] ?? ''),
    )
    // A route with a PagerDuty routing key takes the events sent with it (and only those).
    const keyed = r.routing_key === undefined || labels[PAGERDUTY_ROUTE] === String(index)
    if (!exact || !regex || !keyed) continue
    result.matched.push(index)
    const matchers = [
      ...Object.entries(r.match).map(([k, v]) => `${k}=${v}`),
      ...Object.entries(r.match_re).map(([k, v]) => `${k}=~${v}`),
    ]
    result.name = matchers.join(', ') || `route ${index + 1}`
    result.members.push(...r.members)
    if (r.severity) result.severity = r.severity
    if (r.escalation.length) result.escalation = r.escalation
    if (r.alertmanager) result.alertmanager = r.alertmanager
    if (r.broadcast_chat) result.broadcastChat = r.broadcast_chat
    if (r.bridge) result.bridge = r.bridge
    if (!r.continue) break
  }
  result.members = [...new Set(result.members)]
  return result
}

/**
 * A normalised incident with the routes applied to its labels: the routed
 * members added, and the route's severity when one matched. The same for the
 * receiver's generic webhook and `warroom notify`.
 */
export function routeIncident(
  incident: Incident,
  config: { routes: Route[]; members: string[]; schedules?: Record<string, Schedule> },
  now = Date.now(),
  /** The incident's own members are the operator's (warroom notify): they may be paged too. */
  trusted = false,
): Incident {
  const routed = route(incident.labels, config.routes, config.members)
  const { family: _sent, route: _route, ...own } = incident
  const alertname = incident.labels.alertname
  // `oncall:<schedule>` becomes whoever is on call as the incident arrives.
  const schedules = config.schedules ?? {}
  const members = expandOnCall([...incident.members, ...routed.members], schedules, now)
  // Only people the configuration names are paged: a sender's own members are invited, not buzzed.
  const pageable = trusted ? members : expandOnCall(routed.members, schedules, now)
  return {
    ...own,
    ...(alertname ? { family: `${routed.matched.join(',') || '-'}:${alertname}` } : {}),
    route: routed.name.slice(0, 300),
    members,
    pageable,
    ...(routed.severity ? { severity: routed.severity } : {}),
  }
}
