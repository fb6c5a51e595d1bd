import { z } from 'zod'
import { GRAFANA_TEXTS } from '../src/i18n/index.js'
import type { IncidentInput } from '../src/model/incident.js'
import {
  type AlertAdapterOptions,
  AlertmanagerSchema,
  AlertSchema,
  groupIncident,
  isHttp,
  parsePayload,
} from './alertmanager.js'

/**
 * Grafana unified alerting webhook (payload version 1) → Incident. The same
 * group shape as Alertmanager plus per-alert dashboard, panel and silence
 * links and a rendered image.
 */

const GrafanaAlert = AlertSchema.extend({
  dashboardURL: z.string().optional(),
  panelURL: z.string().optional(),
  silenceURL: z.string().optional(),
  imageURL: z.string().optional(),
  valueString: z.string().optional(),
  // Grafana 10+: each query's value by its ref id ({"B": 0.072}); null in a test notification.
  values: z.record(z.string(), z.number().nullable()).nullable().optional(),
})

export const GrafanaSchema = AlertmanagerSchema.extend({
  version: z.literal('1', { error: 'must be "1" (Grafana webhook payload version 1)' }),
  orgId: z.number().int().optional(),
  title: z.string().optional(),
  state: z.string().optional(),
  message: z.string().optional(),
  alerts: z.array(GrafanaAlert).min(1, 'must hold at least one alert'),
})

export type GrafanaPayload = z.output<typeof GrafanaSchema>

/** Grafana's "Test" button sends one alert labelled alertname=TestAlert, instance=Grafana. */
export function isGrafanaTest(payload: GrafanaPayload): boolean {
  return (
    payload.alerts.length === 1 &&
    payload.alerts[0]!.labels.alertname === 'TestAlert' &&
    (payload.alerts[0]!.labels.instance === 'Grafana' ||
      payload.alerts[0]!.annotations.summary === 'Notification test')
  )
}

/**
 * A Grafana unified-alerting webhook body as a normalised incident, or, for
 * the contact point's "Test" button, the payload to post as a test.
 */
export function fromGrafana(
  body: unknown,
  options: AlertAdapterOptions,
): IncidentInput | { test: GrafanaPayload } {
  const payload = parsePayload(GrafanaSchema, body, 'grafana')
  return isGrafanaTest(payload) ? { test: payload } : grafanaIncident(payload, options)
}

export function grafanaIncident(
  payload: GrafanaPayload,
  options: AlertAdapterOptions,
): IncidentInput {
  const t = GRAFANA_TEXTS[options.language]
  const key = `grafana:${payload.orgId ?? 1}:${payload.receiver}:${payload.groupKey}`
  const incident = groupIncident(payload, 'grafana', key, options)
  const firing = payload.alerts.filter((a) => a.status === 'firing')
  const lead = firing[0] ?? payload.alerts[0]!
  const links = [...(incident.links ?? [])]
  const add = (label: string, url: string | undefined) => {
    if (isHttp(url) && !links.some((l) => l.url === url)) links.push({ label, url: url! })
  }
  add(t.dashboard, lead.dashboardURL)
  add(t.panel, lead.panelURL)
  add(t.silence, lead.silenceURL)
  if (isHttp(payload.externalURL)) add(t.grafana, payload.externalURL)
  const images = [
    ...new Set(firing.map((a) => a.imageURL).filter((u): u is string => isHttp(u))),
  ].slice(0, 3)
  const items = (incident.items ?? []).map((item, i) => {
    const alert = payload.alerts[i]!
    const url = isHttp(alert.panelURL)
      ? alert.panelURL
      : isHttp(alert.dashboardURL)
        ? alert.dashboardURL
        : item.url
    const text = valueText(alert)
    const value = text ? { [t.value]: text } : {}
    return { ...item, labels: { ...item.labels, ...value }, ...(url ? { url } : {}) }
  })
  return { ...incident, items, links: links.slice(0, 20), images }
}

/**
 * The alert's value as people read it: `0.072`, or `B=0.072 C=1` for several
 * queries, from `values`, else from the `[ var='B' labels={…} value=0.072 ]`
 * (or `metric='…'`) entries of `valueString` (Grafana's documented webhook fields).
 */
export function valueText(alert: {
  values?: Record<string, number | null> | null | undefined
  valueString?: string | undefined
}) {
  let pairs = Object.entries(alert.values ?? {})
    .filter(([, v]) => v !== null)
    .map(([k, v]) => [k, String(Number(v!.toPrecision(6)))] as const)
  if (!pairs.length && alert.valueString)
    pairs = [...alert.valueString.matchAll(/(?:var|metric)='([^']*)'[^\]]*?value=([^\s\]]+)/g)].map(
      ([, k, v]) => [k!, v!] as const,
    )
  if (!pairs.length) return alert.valueString?.trim().slice(0, 300) || undefined
  return pairs.length === 1 ? pairs[0]![1] : pairs.map(([k, v]) => `${k}=${v}`).join(' ')
}
