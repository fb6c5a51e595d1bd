/**
 * Intake: a source's payload → the incident the core handles. The adapter
 * converts (and validates) the payload, then the config's routes add members
 * and severity from the labels. The receiver and `warroom notify` both come
 * through here, so a route applies the same wherever an incident comes from.
 */
import { type AlertAdapterOptions, fromAlertmanager } from '../adapters/alertmanager.js'
import { fromGrafana, type GrafanaPayload } from '../adapters/grafana.js'
import type { Config } from './config.js'
import { clampIncident, type Incident, parseIncident } from './incident.js'
import { routeIncident } from './routing.js'

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
  return { incident: routeIncident(parseIncident(sized), config) }
}
