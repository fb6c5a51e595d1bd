import { createHash, randomUUID } from 'node:crypto'
import { z } from 'zod'
import type { Change } from '../src/model/change.js'
import { describeZodError, type IncidentInput, SEVERITIES } from '../src/model/incident.js'

/**
 * PagerDuty Events API v2 → Incident: what Alertmanager's pagerduty_configs,
 * Zabbix's PagerDuty media type, Grafana's PagerDuty contact point and many
 * other tools send (developer.pagerduty.com, Events API v2). One dedup_key is
 * one incident per routing key; `trigger` opens or updates it, `acknowledge`
 * and `resolve` act on it.
 */

const link = z.object({ href: z.string().max(2048), text: z.string().max(1024).optional() })
const image = z.object({
  src: z.string().max(2048),
  href: z.string().max(2048).optional(),
  alt: z.string().max(1024).optional(),
})

export const PagerDutyEventSchema = z.object({
  routing_key: z.string({ error: 'is required' }).min(1, 'is required').max(128),
  event_action: z.enum(['trigger', 'acknowledge', 'resolve'], {
    error: 'must be trigger, acknowledge or resolve',
  }),
  dedup_key: z.string().min(1).max(255, 'must be at most 255 characters').optional(),
  payload: z
    .object({
      summary: z.string({ error: 'is required' }).min(1, 'is required').max(1024),
      source: z.string({ error: 'is required' }).min(1, 'is required').max(255),
      severity: z.enum(SEVERITIES, { error: 'must be critical, error, warning or info' }),
      timestamp: z.string().optional(),
      component: z.string().max(255).optional(),
      group: z.string().max(255).optional(),
      class: z.string().max(255).optional(),
      custom_details: z.unknown().optional(),
    })
    .optional(),
  images: z.array(image).max(50).optional(),
  links: z.array(link).max(50).optional(),
  client: z.string().max(255).optional(),
  client_url: z.string().max(2048).optional(),
})

export type PagerDutyEvent = z.output<typeof PagerDutyEventSchema>

/** What the receiver does with an event, and the dedup_key it answers. */
export type PagerDutyIntake =
  | { action: 'trigger'; dedupKey: string; incident: IncidentInput }
  | { action: 'acknowledge' | 'resolve'; dedupKey: string; key: string }

/** An event PagerDuty would refuse: its errors name the fields, as PagerDuty's 400 does. */
export class PagerDutyEventError extends Error {
  override readonly name = 'PagerDutyEventError'
  constructor(readonly errors: string[]) {
    super(`invalid PagerDuty event: ${errors.join('; ')}`)
  }
}

const isHttp = (url: string | undefined) => !!url && /^https?:\/\//i.test(url) && URL.canParse(url)

/** The incident key: the dedup_key under its routing key (a key's events apply only with the same routing key). */
export function pagerDutyKey(routingKey: string, dedupKey: string): string {
  const route = createHash('sha256').update(routingKey).digest('hex').slice(0, 8)
  return `pagerduty:${route}:${dedupKey}`
}

export function fromPagerDuty(body: unknown, now = Date.now()): PagerDutyIntake {
  const parsed = PagerDutyEventSchema.safeParse(body)
  if (!parsed.success)
    throw new PagerDutyEventError(
      describeZodError(parsed.error).map((i) => `${i.path || '(root)'} ${i.message}`),
    )
  const event = parsed.data
  if (event.event_action !== 'trigger') {
    if (!event.dedup_key)
      throw new PagerDutyEventError([`dedup_key is required for ${event.event_action}`])
    return {
      action: event.event_action,
      dedupKey: event.dedup_key,
      key: pagerDutyKey(event.routing_key, event.dedup_key),
    }
  }
  const payload = event.payload
  if (!payload) throw new PagerDutyEventError(['payload is required for trigger'])
  // PagerDuty generates a dedup_key when a trigger has none, and answers it.
  const dedupKey = event.dedup_key ?? randomUUID()
  return { action: 'trigger', dedupKey, incident: triggerIncident(event, payload, dedupKey, now) }
}

function triggerIncident(
  event: PagerDutyEvent,
  payload: NonNullable<PagerDutyEvent['payload']>,
  dedupKey: string,
  now: number,
): IncidentInput {
  const labels: Record<string, string> = { source: payload.source, severity: payload.severity }
  for (const name of ['component', 'group', 'class'] as const)
    if (payload[name]) labels[name] = payload[name]!
  const fields = [{ name: 'Source', value: payload.source }]
  for (const [name, label] of [
    ['component', 'Component'],
    ['group', 'Group'],
    ['class', 'Class'],
  ] as const)
    if (payload[name]) fields.push({ name: label, value: payload[name]! })
  // custom_details: an object's entries as fields (and short strings as labels), anything else as one field.
  const details = payload.custom_details
  if (details && typeof details === 'object' && !Array.isArray(details)) {
    for (const [name, value] of Object.entries(details as Record<string, unknown>).slice(0, 30)) {
      const text = typeof value === 'string' ? value : JSON.stringify(value)
      fields.push({ name: name.slice(0, 100), value: (text ?? '').slice(0, 1000) })
      if (typeof value === 'string' && value.length <= 200 && !(name in labels))
        labels[name] = value
    }
  } else if (details !== undefined)
    fields.push({
      name: 'Details',
      value: String(typeof details === 'string' ? details : JSON.stringify(details)).slice(0, 1000),
    })
  const links = (event.links ?? [])
    .filter((l) => isHttp(l.href))
    .map((l) => ({ label: (l.text || l.href).slice(0, 100), url: l.href }))
  if (event.client && isHttp(event.client_url))
    links.unshift({ label: event.client.slice(0, 100), url: event.client_url! })
  const time = payload.timestamp && !Number.isNaN(Date.parse(payload.timestamp))
  return {
    key: pagerDutyKey(event.routing_key, dedupKey),
    title: payload.summary.slice(0, 500),
    status: 'firing',
    severity: payload.severity,
    source: 'pagerduty',
    ...(time
      ? { startedAt: new Date(Math.min(Date.parse(payload.timestamp!), now)).toISOString() }
      : {}),
    fields: fields.slice(0, 50),
    items: [
      {
        id: dedupKey.slice(0, 200),
        title: payload.summary.slice(0, 500),
        status: 'firing',
        labels,
      },
    ],
    links: links.slice(0, 20),
    images: (event.images ?? [])
      .map((i) => i.src)
      .filter((src) => /^https:\/\//i.test(src) && URL.canParse(src))
      .slice(0, 5),
    labels,
  }
}

/** PagerDuty's change event (`/v2/change/enqueue`): a deploy or config change, for incidents' cards. */
export const PagerDutyChangeSchema = z.object({
  routing_key: z.string({ error: 'is required' }).min(1, 'is required').max(128),
  payload: z.object(
    {
      summary: z.string({ error: 'is required' }).min(1, 'is required').max(1024),
      timestamp: z.string().optional(),
      source: z.string().max(255).optional(),
      custom_details: z.unknown().optional(),
    },
    { error: 'is required' },
  ),
  links: z.array(link).max(50).optional(),
})

/** A change event as the change log keeps it; its custom details' short strings are its labels. */
export function changeFromPagerDuty(body: unknown, now = Date.now()): Change {
  const parsed = PagerDutyChangeSchema.safeParse(body)
  if (!parsed.success)
    throw new PagerDutyEventError(
      describeZodError(parsed.error).map((i) => `${i.path || '(root)'} ${i.message}`),
    )
  const { payload, links } = parsed.data
  const labels: Record<string, string> = {}
  const details = payload.custom_details
  if (details && typeof details === 'object' && !Array.isArray(details))
    for (const [k, v] of Object.entries(details as Record<string, unknown>).slice(0, 30))
      if (typeof v === 'string' && v.length <= 200) labels[k.slice(0, 100)] = v
  const at = payload.timestamp ? Date.parse(payload.timestamp) : Number.NaN
  return {
    at: Number.isNaN(at) ? now : Math.min(at, now),
    summary: payload.summary,
    ...(payload.source ? { source: payload.source } : {}),
    labels,
    links: (links ?? [])
      .filter((l) => isHttp(l.href))
      .slice(0, 5)
      .map((l) => ({ label: (l.text || l.href).slice(0, 100), url: l.href })),
  }
}
