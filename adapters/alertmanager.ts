import { createHash } from 'node:crypto'
import { z } from 'zod'
import { ALERTMANAGER_TEXTS } from '../src/i18n/index.js'
import {
  DEFAULT_SEVERITY_MAP,
  describeZodError,
  type IncidentInput,
  PayloadError,
  type Severity,
} from '../src/model/incident.js'

/**
 * Prometheus Alertmanager webhook (payload version 4) → Incident.
 * One incident per notification group: the key is receiver + groupKey, and the
 * core keeps one chat per firing episode of that key (a new firing after
 * resolution is a new episode: a new chat linked to the last, or the same
 * chat reopened within the reopen window).
 */

const labels = z.record(z.string(), z.string())
// Go writes RFC 3339 with up to 9 fractional digits and an offset; firing alerts end at year 1.
const time = z.iso.datetime({ offset: true, error: 'must be an RFC 3339 time' })

export const AlertSchema = z.looseObject({
  status: z.enum(['firing', 'resolved']),
  labels,
  annotations: labels.default({}),
  startsAt: time,
  endsAt: time.optional(),
  generatorURL: z.string().default(''),
  fingerprint: z.string().optional(),
})

export const AlertmanagerSchema = z.looseObject({
  version: z.literal('4', { error: 'must be "4" (Alertmanager webhook payload version 4)' }),
  groupKey: z.string().min(1),
  truncatedAlerts: z.number().int().nonnegative().default(0),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string(),
  groupLabels: labels.default({}),
  commonLabels: labels.default({}),
  commonAnnotations: labels.default({}),
  externalURL: z.string().default(''),
  alerts: z.array(AlertSchema).min(1, 'must hold at least one alert'),
})

export type AlertmanagerPayload = z.output<typeof AlertmanagerSchema>
export type Alert = z.output<typeof AlertSchema>

/** What Alertmanager and Grafana notifications have in common. */
export interface GroupPayload {
  groupKey: string
  truncatedAlerts: number
  status: 'firing' | 'resolved'
  receiver: string
  groupLabels: Record<string, string>
  commonLabels: Record<string, string>
  commonAnnotations: Record<string, string>
  externalURL: string
  alerts: Alert[]
}

export interface AlertAdapterOptions {
  severityLabel: string
  /** Label value (lower case) → severity; merged over the defaults. */
  severityMap: Record<string, Severity>
  defaultSeverity: Severity
  language: 'zh' | 'en'
}

/** Not a real end: Alertmanager's zero time for firing alerts. */
export function isZeroTime(value: string | undefined): boolean {
  return !value || Date.parse(value) <= 0
}

export function severityOf(labelValue: string | undefined, options: AlertAdapterOptions): Severity {
  const v = (labelValue ?? '').toLowerCase()
  // Own properties only: a label "constructor" or "__proto__" is not a severity.
  if (Object.hasOwn(options.severityMap, v)) return options.severityMap[v]!
  if (Object.hasOwn(DEFAULT_SEVERITY_MAP, v)) return DEFAULT_SEVERITY_MAP[v]!
  return options.defaultSeverity
}

const RANK: Record<Severity, number> = { info: 0, warning: 1, error: 2, critical: 3 }

/** Fields shared by Alertmanager and Grafana group notifications. */
export function groupIncident(
  payload: GroupPayload,
  source: 'alertmanager' | 'grafana',
  key: string,
  options: AlertAdapterOptions,
): IncidentInput {
  const t = ALERTMANAGER_TEXTS[options.language]
  const firing = payload.alerts.filter((a) => a.status === 'firing')
  const shown = firing.length ? firing : payload.alerts
  const names = [...new Set(shown.map((a) => a.labels.alertname).filter(Boolean))]
  const common = payload.commonLabels
  const summary = payload.commonAnnotations.summary
  let title =
    summary ||
    common.alertname ||
    names.join(', ') ||
    Object.values(payload.groupLabels).join(' ') ||
    source
  if (!summary && names.length > 1)
    title = `${names.slice(0, 3).join(', ')}${names.length > 3 ? '…' : ''} (${shown.length} ${t.alerts})`
  else if (!summary && shown.length > 1) title = `${title} (${shown.length} ${t.alerts})`

  // The highest severity among the firing alerts, so one critical alert is enough.
  const severity = shown
    .map((a) =>
      severityOf(a.labels[options.severityLabel] ?? common[options.severityLabel], options),
    )
    .reduce<Severity>(
      (a, b) => (RANK[b] > RANK[a] ? b : a),
      severityOf(common[options.severityLabel], options),
    )

  const skip = new Set(['alertname', options.severityLabel])
  const fieldLabels = [
    ...Object.entries(payload.groupLabels),
    ...Object.entries(common).filter(([k]) => !(k in payload.groupLabels)),
  ].filter(([k]) => !skip.has(k))

  const items = payload.alerts.map((alert) => {
    const own = Object.fromEntries(Object.entries(alert.labels).filter(([k, v]) => common[k] !== v))
    const itemTitle =
      (alert.annotations.summary && alert.annotations.summary !== summary
        ? alert.annotations.summary
        : undefined) ??
      [alert.labels.alertname, alert.labels.instance ?? alert.labels.pod ?? alert.labels.job]
        .filter(Boolean)
        .join(' · ')
    return {
      id: alert.fingerprint ?? fingerprint(alert.labels),
      title: itemTitle || alert.labels.alertname || 'alert',
      status: alert.status,
      labels: own,
      startedAt: alert.startsAt,
      ...(alert.endsAt && !isZeroTime(alert.endsAt) && alert.status === 'resolved'
        ? { endedAt: alert.endsAt }
        : {}),
      ...(isHttp(alert.generatorURL) ? { url: alert.generatorURL } : {}),
    }
  })

  const links: Array<{ label: string; url: string }> = []
  const runbook = payload.commonAnnotations.runbook_url ?? payload.commonAnnotations.runbook
  if (isHttp(runbook)) links.push({ label: t.runbook, url: runbook! })
  const dashboard = payload.commonAnnotations.dashboard_url ?? payload.commonAnnotations.dashboard
  if (isHttp(dashboard)) links.push({ label: t.dashboard, url: dashboard! })
  if (isHttp(payload.externalURL) && source === 'alertmanager') {
    const base = payload.externalURL.replace(/\/+$/, '')
    links.push({
      label: t.alertmanager,
      url: `${base}/#/alerts?receiver=${encodeURIComponent(payload.receiver)}`,
    })
    const matchers = Object.entries(payload.groupLabels).length ? payload.groupLabels : common
    const filter = `{${Object.entries(matchers)
      .map(([k, v]) => `${k}="${v.replace(/["\\]/g, '\\$&')}"`)
      .join(',')}}`
    links.push({
      label: t.silence,
      url: `${base}/#/silences/new?filter=${encodeURIComponent(filter)}`,
    })
  }

  const starts = shown.map((a) => Date.parse(a.startsAt)).filter((n) => Number.isFinite(n) && n > 0)
  const description = payload.commonAnnotations.description
  const summaryText = [
    summary && description ? description : summary ? undefined : description,
    payload.truncatedAlerts ? t.truncated(payload.truncatedAlerts) : undefined,
  ]
    .filter(Boolean)
    .join('\n')

  return {
    key,
    title,
    status: payload.status,
    severity,
    source,
    ...(summaryText ? { summary: summaryText } : {}),
    ...(starts.length ? { startedAt: new Date(Math.min(...starts)).toISOString() } : {}),
    ...(payload.status === 'resolved'
      ? { resolvedAt: latestEnd(payload.alerts) ?? new Date().toISOString() }
      : {}),
    fields: fieldLabels.slice(0, 20).map(([name, value]) => ({ name, value })),
    items,
    links,
    labels: { ...payload.groupLabels, ...common },
    // What `/silence` silences: the group (Alertmanager's group labels), or the labels all its alerts share.
    ...(source === 'alertmanager'
      ? { silence: Object.keys(payload.groupLabels).length ? payload.groupLabels : common }
      : {}),
    event: notificationId(payload),
  }
}

/**
 * An Alertmanager webhook body (payload version 4) as a normalised incident:
 * one notification group is one incident. Routing (who is invited) is applied
 * to its labels afterwards, the same for every source.
 */
export function fromAlertmanager(body: unknown, options: AlertAdapterOptions): IncidentInput {
  return alertmanagerIncident(parsePayload(AlertmanagerSchema, body, 'alertmanager'), options)
}

/** Validates a payload with its schema, or throws PayloadError naming the first bad field. */
export function parsePayload<T extends z.ZodType>(schema: T, body: unknown, source: string) {
  const parsed = schema.safeParse(body)
  if (parsed.success) return parsed.data as z.output<T>
  const first = describeZodError(parsed.error)[0]!
  throw new PayloadError(`invalid ${source} payload: ${first.path || '(root)'}: ${first.message}`)
}

export function alertmanagerIncident(
  payload: AlertmanagerPayload,
  options: AlertAdapterOptions,
): IncidentInput {
  return groupIncident(
    payload,
    'alertmanager',
    `alertmanager:${payload.receiver}:${payload.groupKey}`,
    options,
  )
}

/** Identifies a notification's content: an HA peer's copy or a retry has the same id. */
export function notificationId(payload: GroupPayload): string {
  const alerts = payload.alerts
    .map((a) => `${a.fingerprint ?? fingerprint(a.labels)}:${a.status}:${a.startsAt}`)
    .sort()
    .join(',')
  return `n:${createHash('sha256').update(`${payload.status}|${alerts}`).digest('hex').slice(0, 24)}`
}

function latestEnd(alerts: Alert[]): string | undefined {
  const ends = alerts
    .map((a) => (isZeroTime(a.endsAt) ? Number.NaN : Date.parse(a.endsAt!)))
    .filter(Number.isFinite)
  return ends.length ? new Date(Math.max(...ends)).toISOString() : undefined
}

/** Alertmanager's fingerprint is a hash of the label set; ours is stable the same way. */
export function fingerprint(l: Record<string, string>): string {
  const text = Object.keys(l)
    .sort()
    .map((k) => `${k}\u0000${l[k]}`)
    .join('\u0001')
  return createHash('sha256').update(text).digest('hex').slice(0, 16)
}

function isHttp(url: string | undefined): boolean {
  return !!url && /^https?:\/\//i.test(url) && URL.canParse(url)
}

export { isHttp }
