import { z } from 'zod'

/**
 * On-call schedules: layers of rotating people (the last layer with someone
 * on call wins, as in PagerDuty), overrides on top. Members and routes name a
 * schedule as `oncall:<name>`; the person on call at that moment is invited.
 * Times of day are in the schedule's time zone; handoffs follow its calendar.
 */

const DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const
const timeOfDay = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time of day like 09:00')
/** An IANA time zone name, checked against the runtime's zone database. */
export const timeZone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz })
    return true
  } catch {
    return false
  }
}, 'must be an IANA time zone such as Asia/Shanghai')
const instant = z
  .string()
  .refine((s) => /(Z|[+-]\d\d:\d\d)$/.test(s) && !Number.isNaN(Date.parse(s)), {
    message: 'must be an ISO 8601 time with an offset, like 2026-11-27T09:00:00+08:00',
  })
  .transform((s) => Date.parse(s))

const LayerSchema = z.strictObject({
  users: z.array(z.string().min(1)).min(1),
  /** daily, weekly, or a duration such as 12h or 3d (counted from `start`). */
  rotation: z.union([z.enum(['daily', 'weekly']), z.string().regex(/^\d+(m|h|d)$/)]),
  /** Local time of day of each handoff. */
  handoff: timeOfDay.default('09:00'),
  /** For weekly rotations: the day of the handoff. */
  handoff_day: z.enum(DAYS).default('monday'),
  /** The local date the first user's first shift starts (the rotation's anchor). */
  start: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date like 2026-11-02'),
  /** Only part of the week: outside it this layer has nobody and a lower layer applies. */
  restrict: z
    .strictObject({
      days: z
        .array(z.enum(DAYS))
        .min(1)
        .default([...DAYS]),
      from: timeOfDay.default('00:00'),
      to: z
        .string()
        .regex(/^(([01]\d|2[0-3]):[0-5]\d|24:00)$/, 'must be a time of day like 18:00 (or 24:00)')
        .default('24:00'),
    })
    .optional(),
})

export const ScheduleSchema = z.strictObject({
  time_zone: timeZone.default('Asia/Shanghai'),
  /** Lowest priority first: the last layer with someone on call wins. */
  layers: z.array(LayerSchema).min(1),
  overrides: z
    .array(z.strictObject({ from: instant, to: instant, user: z.string().min(1) }))
    .default([])
    .refine((list) => list.every((o) => o.to > o.from), 'every override must end after it starts'),
})

export type Schedule = z.infer<typeof ScheduleSchema>
type Layer = Schedule['layers'][number]

const ONCALL = /^oncall:([A-Za-z0-9_.-]+)$/

/** The schedule a member entry names (`oncall:<name>`), if it names one. */
export function scheduleRef(member: string): string | undefined {
  return ONCALL.exec(member.trim())?.[1]
}

/** The schedule of that name, only if the config defines it (not `constructor`, `__proto__`, …). */
export function scheduleNamed(
  schedules: Record<string, Schedule>,
  name: string | undefined,
): Schedule | undefined {
  return name !== undefined && Object.hasOwn(schedules, name) ? schedules[name] : undefined
}

/** Replaces every `oncall:<name>` by who is on call at `at`; other entries stay. */
export function expandOnCall(
  members: string[],
  schedules: Record<string, Schedule>,
  at: number,
): string[] {
  const out: string[] = []
  for (const m of members) {
    const name = scheduleRef(m)
    const schedule = scheduleNamed(schedules, name)
    if (!schedule) out.push(m)
    else {
      const who = onCall(schedule, at)
      if (who) out.push(who)
    }
  }
  return [...new Set(out)]
}

/** Who is on call at `at` (an override first, then the highest layer with coverage). */
export function onCall(schedule: Schedule, at: number): string | undefined {
  // The last override listed wins where two overlap.
  for (let i = schedule.overrides.length - 1; i >= 0; i--) {
    const o = schedule.overrides[i]!
    if (o.from <= at && at < o.to) return o.user
  }
  for (let i = schedule.layers.length - 1; i >= 0; i--) {
    const who = layerAt(schedule.layers[i]!, schedule.time_zone, at)
    if (who) return who
  }
  return undefined
}

/** The next `count` changes of who is on call after `at`, within `horizonDays`. */
export function nextHandoffs(
  schedule: Schedule,
  at: number,
  count = 3,
  horizonDays = 35,
): Array<{ at: number; user: string | undefined }> {
  const end = at + horizonDays * 86_400_000
  const edges = new Set<number>()
  for (const o of schedule.overrides) for (const t of [o.from, o.to]) if (t > at) edges.add(t)
  for (const layer of schedule.layers)
    for (const t of layerEdges(layer, schedule.time_zone, at, end)) edges.add(t)
  const out: Array<{ at: number; user: string | undefined }> = []
  let current = onCall(schedule, at)
  for (const t of [...edges].filter((t) => t <= end).sort((a, b) => a - b)) {
    const who = onCall(schedule, t)
    if (who === current) continue
    out.push({ at: t, user: who })
    current = who
    if (out.length >= count) break
  }
  return out
}

// ------------------------------------------------------------------ layers

function layerAt(layer: Layer, tz: string, at: number): string | undefined {
  if (layer.restrict && !inRestriction(layer.restrict, tz, at)) return undefined
  const index = shiftIndex(layer, tz, at)
  const n = layer.users.length
  return layer.users[((index % n) + n) % n]
}

/** How many handoffs lie between the first shift's start and `at` (negative before it). */
function shiftIndex(layer: Layer, tz: string, at: number): number {
  const [y, m, d] = layer.start.split('-').map(Number) as [number, number, number]
  const [hh, mm] = layer.handoff.split(':').map(Number) as [number, number]
  if (layer.rotation === 'daily' || layer.rotation === 'weekly') {
    // Calendar arithmetic in the zone: a handoff is at the same local time every day (or week).
    const local = localParts(at, tz)
    const days = dayNumber(local.y, local.m, local.d) - dayNumber(y, m, d)
    const beforeHandoff = local.hh * 60 + local.mm < hh * 60 + mm
    if (layer.rotation === 'daily') return days - (beforeHandoff ? 1 : 0)
    // Weekly: the first shift runs from `start` to the first handoff day after it.
    const startDay = dayNumber(y, m, d)
    const handoffDay = DAYS.indexOf(layer.handoff_day)
    const firstHandoff = startDay + ((handoffDay - weekday(startDay) + 7) % 7 || 7)
    const today = dayNumber(local.y, local.m, local.d)
    const early = weekday(today) === handoffDay && beforeHandoff ? 1 : 0
    return Math.floor((today - firstHandoff - early) / 7) + 1
  }
  const length = durationMs(layer.rotation)
  const first = zonedToInstant(y, m, d, hh, mm, tz)
  return Math.floor((at - first) / length)
}

/** Instants in (from, to] where the layer's person or coverage may change. */
function layerEdges(layer: Layer, tz: string, from: number, to: number): number[] {
  const out: number[] = []
  const [hh, mm] = layer.handoff.split(':').map(Number) as [number, number]
  const local = localParts(from, tz)
  const today = dayNumber(local.y, local.m, local.d)
  const days = Math.ceil((to - from) / 86_400_000) + 1
  for (let i = 0; i <= days; i++) {
    const date = fromDayNumber(today + i)
    const candidates = [[hh, mm]]
    if (layer.restrict)
      for (const t of [layer.restrict.from, layer.restrict.to])
        candidates.push(t.split(':').map(Number) as [number, number])
    for (const [h, mi] of candidates) out.push(zonedToInstant(date.y, date.m, date.d, h!, mi!, tz))
  }
  if (!['daily', 'weekly'].includes(layer.rotation)) {
    const [y, m, d] = layer.start.split('-').map(Number) as [number, number, number]
    const first = zonedToInstant(y, m, d, hh, mm, tz)
    const length = durationMs(layer.rotation)
    for (let t = first + Math.ceil((from - first) / length) * length; t <= to; t += length)
      out.push(t)
  }
  return out.filter((t) => t > from && t <= to)
}

function inRestriction(r: NonNullable<Layer['restrict']>, tz: string, at: number): boolean {
  const local = localParts(at, tz)
  const day = DAYS[weekday(dayNumber(local.y, local.m, local.d))]!
  if (!r.days.includes(day)) return false
  const minute = local.hh * 60 + local.mm
  const [fh, fm] = r.from.split(':').map(Number) as [number, number]
  const [th, tm] = r.to.split(':').map(Number) as [number, number]
  return minute >= fh * 60 + fm && minute < th * 60 + tm
}

function durationMs(text: string): number {
  const m = /^(\d+)(m|h|d)$/.exec(text)!
  return Number(m[1]) * { m: 60_000, h: 3600_000, d: 86_400_000 }[m[2] as 'm']
}

// ------------------------------------------------------------- calendar

/** Days since 1970-01-01 of a calendar date. */
function dayNumber(y: number, m: number, d: number): number {
  return Math.floor(Date.UTC(y, m - 1, d) / 86_400_000)
}

function fromDayNumber(n: number): { y: number; m: number; d: number } {
  const date = new Date(n * 86_400_000)
  return { y: date.getUTCFullYear(), m: date.getUTCMonth() + 1, d: date.getUTCDate() }
}

/** 0 = Sunday. */
function weekday(dayNo: number): number {
  return (((dayNo + 4) % 7) + 7) % 7 // 1970-01-01 was a Thursday
}

const formatters = new Map<string, Intl.DateTimeFormat>()

/** The local calendar date and time of an instant in a zone. */
export function localParts(at: number, tz: string) {
  let f = formatters.get(tz)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
    formatters.set(tz, f)
  }
  const parts = Object.fromEntries(f.formatToParts(at).map((p) => [p.type, p.value]))
  return {
    y: Number(parts.year),
    m: Number(parts.month),
    d: Number(parts.day),
    hh: Number(parts.hour),
    mm: Number(parts.minute),
    ss: Number(parts.second),
  }
}

/** The instant a local date and time (24:00 = the next midnight) names in a zone. */
export function zonedToInstant(
  y: number,
  m: number,
  d: number,
  hh: number,
  mm: number,
  tz: string,
) {
  const wanted = Date.UTC(y, m - 1, d, hh, mm)
  let guess = wanted
  // Two rounds settle the zone's offset (also across a DST change).
  for (let i = 0; i < 2; i++) {
    const p = localParts(guess, tz)
    const seen = Date.UTC(p.y, p.m - 1, p.d, p.hh, p.mm, p.ss)
    guess += wanted - seen
  }
  return guess
}
