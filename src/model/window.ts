import { z } from 'zod'
import { localParts, timeZone, zonedToInstant } from './oncall.js'

const DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const
const HOURS = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$/

/**
 * When an escalation step may fire: days of the week, hours of the day (an
 * overnight range like 22:00-06:00 runs into the next day), holidays off, in
 * one time zone. A step due outside it waits for its next start.
 */
export const WhenSchema = z.strictObject({
  time_zone: timeZone.default('Asia/Shanghai'),
  days: z
    .array(z.enum(DAYS))
    .min(1)
    .default([...DAYS]),
  hours: z.string().regex(HOURS, 'must be a range like 09:00-18:00').default('00:00-24:00'),
  holidays: z
    .array(z.string().regex(/^\d{4}-\d\d-\d\d$/, 'must be a date like 2026-10-01'))
    .default([]),
})

export type When = z.output<typeof WhenSchema>

/** `at` when it is inside the window, else when the window next opens (undefined: never, in a year). */
export function nextInWindow(at: number, when: When): number | undefined {
  const [, fh, fm, th, tm] = HOURS.exec(when.hours)!.map(Number) as number[]
  const from = fh! * 60 + fm!
  const to = th! * 60 + tm!
  const local = localParts(at, when.time_zone)
  // Yesterday first: its overnight range may still be running.
  for (let i = -1; i <= 370; i++) {
    const date = new Date(Date.UTC(local.y, local.m - 1, local.d + i))
    const [y, m, d] = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()]
    const iso = `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`
    if (!when.days.includes(DAYS[date.getUTCDay()]!) || when.holidays.includes(iso)) continue
    const start = zonedToInstant(y, m, d, fh!, fm!, when.time_zone)
    const end =
      to > from
        ? zonedToInstant(y, m, d, th!, tm!, when.time_zone)
        : zonedToInstant(y, m, d + 1, th!, tm!, when.time_zone)
    if (at < end && Math.max(at, start) < end) return Math.max(at, start)
  }
  return undefined
}

/** An escalation step as planned on a record (the config's step, repeats flattened). */
export interface PlannedStep {
  after: number
  urgent: 'app' | 'sms' | 'phone'
  to: string[]
  invite: string[]
  until?: 'ack' | 'resolve'
  when?: When | undefined
  /** Which repeat of the policy (1 the first time). */
  round?: number
}
