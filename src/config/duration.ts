import { z } from 'zod'

/** A duration in the config: seconds as a number, or 30s, 10m, 2h, 1d; milliseconds after parsing. */
export const duration = z
  .union([
    z.number().nonnegative(),
    z.string().regex(/^\d+(ms|s|m|h|d)$/, 'must be a duration like 30s, 10m or 2h'),
  ])
  .transform((v) => {
    if (typeof v === 'number') return v * 1000
    const m = /^(\d+)(ms|s|m|h|d)$/.exec(v)!
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 }[m[2] as 'ms']
    return Number(m[1]) * unit
  })
