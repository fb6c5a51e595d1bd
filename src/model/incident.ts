import { createHash } from 'node:crypto'
import { z } from 'zod'
import { closest, knownKeys } from '../util/suggest.js'

/**
 * The normalised incident: what every adapter (GitHub, Alertmanager,
 * Grafana) produces and what the generic webhook and the CLI accept. The core
 * knows nothing else about where an incident came from.
 */

const text = (max: number) => z.string().max(max, `must be at most ${max} characters`)
const httpUrl = z
  .string()
  .max(2048)
  .refine((v) => /^https?:\/\//i.test(v) && URL.canParse(v), 'must be an http(s) URL')
const time = z.iso.datetime({
  offset: true,
  error: 'must be an ISO 8601 date-time, e.g. 2026-11-25T10:00:00Z',
})

export const SEVERITIES = ['critical', 'error', 'warning', 'info'] as const
export const SOURCES = ['github', 'alertmanager', 'grafana', 'pagerduty', 'generic'] as const

export const IncidentItem = z.object({
  /** Stable id within the incident (alert fingerprint, job id), used to tell what changed. */
  id: text(200).min(1),
  title: text(500).min(1),
  status: z.enum(['firing', 'resolved']),
  labels: z.record(z.string(), text(1000)).default({}),
  startedAt: time.optional(),
  endedAt: time.optional(),
  url: httpUrl.optional(),
})

export const IncidentLink = z.object({
  label: text(100).min(1),
  url: httpUrl,
})

export const IncidentField = z.object({
  name: text(100).min(1),
  value: text(1000),
})

export const Incident = z.strictObject({
  /** Stable identity: the same key always means the same incident (and chat). */
  key: text(512).min(1, 'must not be empty'),
  title: text(500).min(1, 'must not be empty'),
  status: z.enum(['firing', 'resolved']).default('firing'),
  severity: z.enum(SEVERITIES).default('error'),
  summary: text(8000).optional(),
  source: z.enum(SOURCES).default('generic'),
  startedAt: time.optional(),
  resolvedAt: time.optional(),
  /** Ordered name/value pairs shown on the card. */
  fields: z.array(IncidentField).max(50).default([]),
  /** The individual alerts or failed jobs. */
  items: z.array(IncidentItem).max(1000).default([]),
  links: z.array(IncidentLink).max(20).default([]),
  /** Feishu open_ids (ou_), union_ids (on_), user_ids, emails or mobiles (+86…). */
  members: z.array(text(320).min(1)).max(500).default([]),
  /** Image URLs (e.g. a Grafana panel render) shown on the card. */
  images: z.array(httpUrl).max(5).default([]),
  labels: z.record(z.string(), text(1000)).default({}),
  /**
   * The members who may be paged (urgent notices, escalation to "the
   * responders"): those the configuration names. Set by routing; a payload's
   * own value is replaced. Absent (the Action, whose inputs are its config): all members.
   */
  pageable: z.array(text(320).min(1)).max(500).optional(),
  /**
   * The routes it matched and its alert name ("0,2:HighErrorRate"): incidents
   * of one family show each other's last resolution. Set by routing; a
   * payload's own value is dropped.
   */
  family: text(300).optional(),
  /** The route it matched, as its matchers read ("team=payments"): its storm room's. Set by routing. */
  route: text(300).optional(),
  /** Label matchers that silence this incident at its source (an Alertmanager group's labels). */
  silence: z.record(z.string(), text(1000)).optional(),
  /** What resolved it, for the resolution message (e.g. "commit abc123 by alice"). */
  resolution: text(1000).optional(),
  /**
   * Identity of the notification that produced this (a run id and attempt, a
   * webhook delivery hash). Repeats of the same event are not announced twice.
   */
  event: text(200).optional(),
})

export type Incident = z.output<typeof Incident>
export type IncidentInput = z.input<typeof Incident>
export type Severity = (typeof SEVERITIES)[number]
export type IncidentItem = z.output<typeof IncidentItem>

/** A bad incident: the message names each wrong field by its path. */
export class IncidentError extends Error {
  override readonly name = 'IncidentError'
  constructor(readonly issues: Array<{ path: string; message: string }>) {
    super(
      `Invalid incident: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`,
    )
  }
}

/** Formats a zod error as `path: message` pairs, first issue first. */
export function describeZodError(
  error: z.ZodError,
  schema?: z.ZodType,
): Array<{ path: string; message: string }> {
  return error.issues.map((issue) => ({
    path: issue.path
      .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
      .join(''),
    message:
      issue.code === 'unrecognized_keys'
        ? `unknown field(s) ${issue.keys
            .map((k) => {
              const meant = schema && closest(k, knownKeys(schema, issue.path))
              return meant ? `${k} (did you mean ${meant}?)` : k
            })
            .join(', ')}`
        : issue.message,
  }))
}

/** Validates unknown input (JSON from a webhook or a file) into an Incident. */
export function parseIncident(input: unknown): Incident {
  const result = Incident.safeParse(input)
  if (!result.success) throw new IncidentError(describeZodError(result.error, Incident))
  return result.data
}

export const SEVERITY_RANK: Record<Severity, number> = {
  info: 0,
  warning: 1,
  error: 2,
  critical: 3,
}

/** Common severity label values (lower case) → severity; a config's map is merged over these. */
export const DEFAULT_SEVERITY_MAP: Record<string, Severity> = {
  critical: 'critical',
  crit: 'critical',
  page: 'critical',
  p0: 'critical',
  p1: 'error',
  error: 'error',
  high: 'error',
  major: 'error',
  warning: 'warning',
  warn: 'warning',
  medium: 'warning',
  p2: 'warning',
  minor: 'warning',
  info: 'info',
  low: 'info',
  none: 'info',
  p3: 'info',
}

/** A source's payload that its adapter cannot read: the message names the first bad field. */
export class PayloadError extends Error {
  override readonly name = 'PayloadError'
}

/**
 * Cuts what a source sent to the sizes the schema takes, so that a huge
 * annotation or a thousand alerts make a shorter card instead of a refused
 * notification (which Alertmanager would not resend for hours).
 */
export function clampIncident(input: unknown): unknown {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return input
  const i = { ...(input as Record<string, unknown>) }
  const cut = (v: unknown, max: number) =>
    typeof v === 'string' && [...v].length > max ? `${[...v].slice(0, max - 1).join('')}…` : v
  const cutMap = (v: unknown, max: number) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, cut(x, max)]))
      : v
  const list = (v: unknown, max: number, each: (x: Record<string, unknown>) => unknown) =>
    Array.isArray(v)
      ? v.slice(0, max).map((x) => (x && typeof x === 'object' ? each({ ...x }) : x))
      : v
  // A key too long keeps its identity: a prefix and the hash of the whole.
  if (typeof i.key === 'string' && [...i.key].length > 512)
    i.key = `${[...i.key].slice(0, 470).join('')}…${createHash('sha256').update(i.key).digest('hex').slice(0, 32)}`
  i.event = cut(i.event, 200)
  i.title = cut(i.title, 500)
  i.summary = cut(i.summary, 8000)
  i.resolution = cut(i.resolution, 1000)
  i.labels = cutMap(i.labels, 1000)
  i.fields = list(i.fields, 50, (f) => ({
    ...f,
    name: cut(f.name, 100),
    value: cut(f.value, 1000),
  }))
  i.items = list(i.items, 1000, (it) => ({
    ...it,
    title: cut(it.title, 500),
    labels: cutMap(it.labels, 1000),
  }))
  if (Array.isArray(i.links)) i.links = i.links.slice(0, 20)
  if (Array.isArray(i.images)) i.images = i.images.slice(0, 5)
  for (const k of Object.keys(i)) if (i[k] === undefined) delete i[k]
  return i
}

/** A person as the product knows them: a Feishu open_id, a name, or both. */
export interface Person {
  openId?: string
  name?: string
}
