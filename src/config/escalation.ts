import { z } from 'zod'
import { SEVERITIES } from '../model/incident.js'
import { WhenSchema } from '../model/window.js'
import { duration } from './duration.js'

/** In `to:` or `invite:`, the managers (contact `leader_user_id`) of the incident's responders. */
export const MANAGER = 'manager'

/** One escalation step: after this long, an urgent notice of this kind, while the incident is unanswered. */
export const EscalationStepSchema = z.strictObject({
  after: duration,
  urgent: z.enum(['app', 'sms', 'phone']).default('app'),
  /** Who is buzzed (ids, emails, oncall:<schedule>, manager); with neither this nor invite, every responder. */
  to: z.array(z.string().min(1)).default([]),
  /** Invited to the chat first (Feishu buzzes only members), then buzzed too. */
  invite: z.array(z.string().min(1)).default([]),
  /** Stop at the acknowledgement (default), or keep on while it is open. */
  until: z.enum(['ack', 'resolve']).default('ack'),
  /** Only inside this window; a step due outside it waits for the window. */
  when: WhenSchema.optional(),
})

type Step = z.output<typeof EscalationStepSchema>

/** A step as the core runs it: `round` counts the policy's repeats (1 the first time). */
export type EscalationStep = Step & { round?: number }

/**
 * A route's policy: a list of steps, or `{ repeat: N, steps: [...] }` (the
 * steps again after the last one, N more times). Flattened here into one list
 * ordered by time: round r starts one period after round r-1, the period
 * being the last step's `after` plus the first's, so the first step of a
 * round comes as long after the last one as it came after the opening (at
 * least a minute, or the last step's wait when that is shorter).
 */
export const EscalationSchema = z
  .union([
    z.array(EscalationStepSchema),
    z.strictObject({
      repeat: z.number().int().min(0).max(10).default(0),
      steps: z.array(EscalationStepSchema).min(1),
    }),
  ])
  .default([])
  .transform((policy): EscalationStep[] => {
    const { repeat, steps } = Array.isArray(policy) ? { repeat: 0, steps: policy } : policy
    const sorted = [...steps].sort((a, b) => a.after - b.after)
    if (!repeat || !sorted.length) return sorted
    // A first step at 0 would come with the last one again: then a minute (or the last's wait, if shorter).
    const last = sorted.at(-1)!.after
    const period = last + Math.max(sorted[0]!.after, Math.min(60_000, last || 60_000))
    return Array.from({ length: repeat + 1 }, (_, r) =>
      sorted.map((s) => ({ ...s, after: s.after + r * period, round: r + 1 })),
    ).flat()
  })

/**
 * A heartbeat: `POST /heartbeat/<name>` renews it; silent for `every` plus
 * `grace`, an incident opens (its labels route it; `members` are invited),
 * and the next renewal resolves it.
 */
export const HeartbeatSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be a short name (letters, digits, . _ -)'),
  every: duration.refine((ms) => ms >= 1000, 'must be at least 1s'),
  grace: duration.default(60_000),
  severity: z.enum(SEVERITIES).default('critical'),
  labels: z.record(z.string(), z.string()).default({}),
  members: z.array(z.string().min(1)).default([]),
})

export type Heartbeat = z.output<typeof HeartbeatSchema>

/** warroom.urgent_budget: caps on urgent notices counted across replicas (0: none). */
export const UrgentBudgetSchema = z
  .strictObject({
    /** Urgent notices of any kind for one incident (over a day). */
    per_incident: z.number().int().min(0).default(0),
    phone_per_hour: z.number().int().min(0).default(0),
    sms_per_hour: z.number().int().min(0).default(0),
  })
  .prefault({})
