/**
 * Intake: a source's payload → the incident the core handles. The adapter
 * converts (and validates) the payload, then the config's routes add members
 * and severity from the labels. The receiver and `warroom notify` both come
 * through here, so a route applies the same wherever an incident comes from.
 */
import { type AlertAdapterOptions, fromAlertmanager } from '../../adapters/alertmanager.js'
import { fromGrafana, type GrafanaPayload } from '../../adapters/grafana.js'
import type { Config } from '../config/config.js'
import { PAGERDUTY_ROUTE, routeIncident } from '../config/routing.js'
import { clampIncident, type Incident, IncidentError, parseIncident } from '../model/incident.js'

export type Source = 'alertmanager' | 'grafana' | 'generic'

/** The incident to handle, or Grafana's "Test" button (to post, not to open). */
export type Intake = { incident: Incident } | { grafanaTest: GrafanaPayload }

/** The adapters' options from the config: which label carries the severity, and the language. */
export function adapterOptions(config: Config): AlertAdapterOptions {
  return {
    severityLabel: config.severity.label,
    severityMap: Object.fromEntries(
      Object.entries(config.severity.map).map(([k, v]) => [k.toLowerCase(), v]),
    ),
    defaultSeverity: config.severity.default,
    language: config.warroom.language,
  }
}

/**
 * Converts and routes one payload. Throws PayloadError (a source's payload
 * its adapter cannot read) or IncidentError (an incident that fails the
 * schema), each naming the bad field.
 */
export function intake(
  source: Source,
  body: unknown,
  config: Config,
  options: AlertAdapterOptions = adapterOptions(config),
  /** The payload comes from the operator (`warroom notify`), not a webhook sender. */
  trusted = false,
): Intake {
  let converted: unknown = body
  if (source === 'alertmanager') converted = fromAlertmanager(body, options)
  else if (source === 'grafana') {
    const grafana = fromGrafana(body, options)
    if ('test' in grafana) return { grafanaTest: grafana.test }
    converted = grafana
  }
  // Adapters' output is cut to size; a generic incident that is too big is refused, naming the field.
  const sized = source === 'generic' ? converted : clampIncident(converted)
  const incident = parseIncident(sized)
  if (!trusted) refuseFromSenders(source, incident)
  // Only a route's own PagerDuty routing key selects that route (src/receiver/pagerduty.ts), never a label.
  delete incident.labels[PAGERDUTY_ROUTE]
  return { incident: routeIncident(incident, config, Date.now(), trusted) }
}

/**
 * What a webhook sender may not ask for (SECURITY.md): silence matchers of
 * its own choosing (only Alertmanager's group labels silence), and on-call
 * schedules (who is paged is the configuration's to say).
 */
function refuseFromSenders(source: Source, incident: Incident): void {
  const issues: Array<{ path: string; message: string }> = []
  if (source === 'generic' && incident.silence)
    issues.push({
      path: 'silence',
      message: 'only Alertmanager notifications carry silence matchers (their group labels)',
    })
  for (const [i, m] of incident.members.entries())
    if (/^oncall:/i.test(m))
      issues.push({
        path: `members[${i}]`,
        message: 'on-call schedules are named by the configuration’s routes, not by a notification',
      })
  if (issues.length) throw new IncidentError(issues)
}
