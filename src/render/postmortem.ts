import { formatDuration, formatTime, type Language, POSTMORTEM_TEXTS } from '../i18n/index.js'
import type { IncidentRecord } from '../store/store.js'
import { episodeMoments, momentText } from './moments.js'
import { singleLine, truncate } from './text.js'
import { stamp } from './timeline.js'

/** Markdown text from elsewhere, on one line, without what would start a heading or a list. */
const line = (text: string) => truncate(singleLine(text), 500).replace(/^[#>*\-\s]+/, '')

/**
 * The post-mortem document's Markdown (Feishu converts it to blocks): the
 * summary, the key moments, the incident's own timeline, the figures, and
 * the sections people fill in (impact, root cause, what went well, actions).
 */
export function postmortemMarkdown(
  record: IncidentRecord,
  options: { language: Language; timeZone: string; now: number; names?: Map<string, string> },
): string {
  const t = POSTMORTEM_TEXTS[options.language]
  const when = (ms: number) => formatTime(ms, options.timeZone, options.language)
  const d = (ms: number | undefined) =>
    ms === undefined ? '-' : formatDuration(ms, options.language)
  const stamped = (ms: number) => stamp(ms, options.timeZone)
  const who = (p: { openId?: string; name?: string }) =>
    p.name ?? options.names?.get(p.openId ?? '') ?? p.openId ?? '?'
  const incident = record.incident
  const firstLead = record.events.find((e) => e.detail === 'took the lead')?.at ?? record.lead?.at
  const out = [`# ${t.title(line(record.openTitle ?? incident?.title ?? record.chatName))}`, '']
  out.push(`## ${t.summary}`, '')
  out.push(`- ${t.severity}: ${incident?.severity ?? '-'}`)
  out.push(`- ${t.opened}: ${when(record.openedAt)}`)
  if (record.resolvedAt !== undefined) out.push(`- ${t.resolved}: ${when(record.resolvedAt)}`)
  if (record.lead) out.push(`- ${t.lead}: ${who(record.lead.by)}`)
  if (record.resolutionNote) out.push(`- ${t.fix}: ${line(record.resolutionNote)}`)
  if (incident?.summary) out.push('', line(incident.summary))
  out.push('', `## ${t.impact}`, '', t.toFill, '')
  const moments = episodeMoments(record)
  out.push(`## ${t.moments}`, '')
  if (moments.length)
    for (const m of moments) out.push(`- ${stamped(m.at)} ${line(momentText(m, who))}`)
  else out.push(t.none)
  out.push('', `## ${t.timeline}`, '')
  for (const e of record.events.filter((x) => x.at >= record.openedAt).slice(-100))
    out.push(
      `- ${stamped(e.at)} ${t.events[e.type] ?? e.type}${e.by ? ` (${who(e.by)})` : ''}${e.detail ? `: ${line(e.detail)}` : ''}`,
    )
  out.push('', `## ${t.figures}`, '')
  out.push(`- ${t.tta}: ${d(record.ack ? record.ack.at - record.openedAt : undefined)}`)
  out.push(`- ${t.ttl}: ${d(firstLead !== undefined ? firstLead - record.openedAt : undefined)}`)
  out.push(
    `- ${t.ttr}: ${d(record.resolvedAt !== undefined ? record.resolvedAt - record.openedAt : undefined)}`,
  )
  out.push('', `## ${t.rootCause}`, '', t.toFill, '', `## ${t.wentWell}`, '', t.toFill, '')
  out.push(`## ${t.actions}`, '')
  const followUps = (record.followUps ?? []).filter((f) => f.at >= record.openedAt)
  if (followUps.length)
    for (const f of followUps)
      out.push(`- ${line(f.text)} (${who(f.owner)}${f.due ? `, ${when(f.due)}` : ''})`)
  else out.push(t.toFill)
  out.push('')
  return out.join('\n')
}
