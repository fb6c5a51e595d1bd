import type { Person, Severity } from '../model/incident.js'
import { SEVERITY_STYLE } from '../render/card.js'
import { safePlainText, singleLine, truncate } from '../render/text.js'
import type { IncidentRecord } from '../store/store.js'
import type { Broadcast } from './broadcast.js'
import type { Escalations } from './escalation.js'
import type { Messages } from './messages.js'
import type { Core, Op } from './model.js'
import type { Urgency } from './urgency.js'

/**
 * What people decide about an incident from the chat: its severity and its
 * title. A person's severity holds against later notifications from the
 * source (the source reports what it sees; the responders judge impact) until
 * the next /sev; the title was never the source's to change once opened.
 */
export class Triage {
  constructor(
    private readonly core: Core,
    private readonly messages: Messages,
    private readonly escalations: Escalations,
    private readonly urgency: Urgency,
    private readonly broadcast: Broadcast,
  ) {}

  /** `/sev`: colour, the name's priority, routing and escalation re-evaluated. A reason when nothing is done. */
  async setSeverity(
    record: IncidentRecord,
    by: Person,
    severity: Severity,
    op: Op,
  ): Promise<string | undefined> {
    const t = this.messages.t
    const incident = record.incident
    if (!incident) return t.notAWarRoom
    if (incident.severity === severity) return t.sameSeverity
    const now = this.core.now()
    record.manualSeverity = severity
    // Routes see it as the label `severity`: `match: { severity: critical }` applies from now.
    record.incident = { ...incident, severity, labels: { ...incident.labels, severity } }
    record.events.push({
      type: 'updated',
      at: now,
      by,
      detail: `severity ${incident.severity} → ${severity}`,
    })
    await this.rename(record)
    // The steps that apply to the new severity, from now; none when nothing routes them.
    await this.escalations.cancel(record)
    if (!record.ack) await this.escalations.plan(record)
    const style = SEVERITY_STYLE[severity]
    const [before, after] = t.severityParts
    await this.messages.post(
      record,
      [
        [
          { tag: 'text', text: before },
          ...this.messages.personNodes(by),
          { tag: 'text', text: `${after}${style.priority} ${t.severityNames[severity]}` },
        ],
      ],
      `sev:${now}`,
    )
    await this.broadcast.note(
      record,
      t.feedSeverity(`${style.priority} ${t.severityNames[severity]}`),
      `sev:${now}`,
      op,
    )
    // Raised to critical: the urgent notice, once per episode as on opening.
    await this.urgency.page(record, op)
    return undefined
  }

  /** `/title`: the chat renamed, its status prefix and priority kept. */
  async retitle(record: IncidentRecord, by: Person, title: string): Promise<string | undefined> {
    const t = this.messages.t
    const clean = truncate(singleLine(title), 200)
    if (!clean) return t.sameTitle
    const now = this.core.now()
    record.openTitle = clean
    if (record.incident) record.incident = { ...record.incident, title: clean }
    record.events.push({ type: 'updated', at: now, by, detail: `title: ${clean}` })
    await this.rename(record)
    const [before, after] = t.titleParts
    await this.messages.post(
      record,
      [
        [
          { tag: 'text', text: before },
          ...this.messages.personNodes(by),
          { tag: 'text', text: `${after}${safePlainText(clean)}` },
        ],
      ],
      `title:${now}`,
    )
    return undefined
  }

  private async rename(record: IncidentRecord): Promise<void> {
    if (!record.incident) return
    const open = this.messages.chatName({
      ...record.incident,
      title: record.openTitle ?? record.incident.title,
    })
    if (open === record.chatName) return
    const name = record.status === 'resolved' ? this.messages.resolvedName(open) : open
    await this.core.client.updateChat(record.chatId, { name })
    record.chatName = open
  }
}
