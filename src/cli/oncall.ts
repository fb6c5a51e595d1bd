import { loadConfig } from '../config/config.js'
import { localParts, nextHandoffs, onCall, scheduleNamed } from '../model/oncall.js'
import { type Io, parse, UsageError } from './common.js'

/** `warroom oncall [<schedule>] [--at TIME]`: who is on call, and the next three handoffs. */
export async function oncall(args: string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  const { values, positionals } = parse('oncall', args, { at: { type: 'string' } })
  const config = await loadConfig(values.config, env)
  const names = Object.keys(config.schedules)
  if (!names.length)
    throw new UsageError(
      values.config
        ? `${values.config} defines no schedules (see README "On call")`
        : 'on-call schedules come from a config: give --config FILE (see README "On call")',
    )
  const wanted = positionals[0]
  if (wanted && !scheduleNamed(config.schedules, wanted))
    throw new UsageError(`no schedule "${wanted}" (schedules: ${names.join(', ')})`)
  const at = values.at === undefined ? Date.now() : Date.parse(values.at)
  if (Number.isNaN(at) || (values.at !== undefined && !/(Z|[+-]\d\d:\d\d)$/.test(values.at)))
    throw new UsageError(`--at must be an ISO 8601 time with an offset, got "${values.at}"`)
  for (const name of wanted ? [wanted] : names) {
    const schedule = config.schedules[name]!
    const when = (t: number) => {
      const p = localParts(t, schedule.time_zone)
      const two = (n: number) => String(n).padStart(2, '0')
      return `${p.y}-${two(p.m)}-${two(p.d)} ${two(p.hh)}:${two(p.mm)}`
    }
    io.out(`${name} (${schedule.time_zone}) at ${when(at)}: ${onCall(schedule, at) ?? 'nobody'}`)
    for (const h of nextHandoffs(schedule, at)) io.out(`  ${when(h.at)}  ${h.user ?? 'nobody'}`)
  }
  return 0
}
