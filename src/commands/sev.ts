import type { Severity } from '../model/incident.js'
import { defineCommand, nothing } from './command.js'

const NAMES: Record<string, Severity> = {
  critical: 'critical',
  crit: 'critical',
  p0: 'critical',
  严重: 'critical',
  error: 'error',
  p1: 'error',
  错误: 'error',
  warning: 'warning',
  warn: 'warning',
  p2: 'warning',
  警告: 'warning',
  info: 'info',
  p3: 'info',
  提示: 'info',
}

const USAGE = {
  zh: '用法：/sev <critical|error|warning|info>（或 P0–P3），例如 /sev P0',
  en: 'Usage: /sev <critical|error|warning|info> (or P0–P3), e.g. /sev P0',
}

/** `/sev <severity>`: the card's colour, the chat's priority, routing and escalation follow. */
export default defineCommand({
  name: 'sev',
  words: ['sev', 'severity', '级别'],
  who: 'member',
  usage: {
    zh: '/sev <级别>（级别）改级别：P0 严重、P1 错误、P2 警告、P3 提示',
    en: '/sev <severity>: change it (critical, error, warning, info or P0–P3)',
  },
  parse: (rest) => {
    const severity = NAMES[rest.trim().split(/\s+/)[0]!.toLowerCase()]
    return severity ? { severity } : {}
  },
  run: ({ room, ref, by, language }, { severity }: { severity?: Severity }) =>
    severity ? room.setSeverity(ref, by, severity) : Promise.resolve(nothing('', USAGE[language])),
})
