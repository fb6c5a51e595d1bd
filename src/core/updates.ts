import { formatDuration, formatTime } from '../i18n/index.js'
import type { Person } from '../model/incident.js'
import { SEVERITY_STYLE } from '../render/card.js'
import { safePlainText, truncate } from '../render/text.js'
import type { JobQueue } from '../store/jobs.js'
import type { IncidentRecord } from '../store/store.js'
import type { Broadcast } from './broadcast.js'
import type { Messages } from './messages.js'
import type { Core, Op } from './model.js'

export const UPDATE_DUE = 'update-due'

/** A reminder that the next status update is due: for the update posted at `at`, the n-th. */
export interface UpdateDueJob {
  at: number
  n: number
}

/**
 * Status updates with a cadence (`/update`): a formatted update in the chat,
 * the latest on the card, and a reminder to the lead when the next is due
 * (`warroom.update_every`, for critical and error incidents). A newer update
 * makes the older one's reminder moot.
 */
export class StatusUpdates {
  constructor(
    private readonly core: Core,
    private readonly messages: Messages,
    private readonly jobs: JobQueue,
    private readonly broadcast: Broadcast,
  ) {}

  /** How often updates are due for this incident (0: not at all). */
  every(record: IncidentRecord): number {
    const severity = record.incident?.severity
    if (severity !== 'critical' && severity !== 'error') return 0
    return this.core.config.updateEveryMs ?? 0
  }

  async post(record: IncidentRecord, by: Person, text: string, op: Op): Promise<void> {
    const t = this.messages.t
    const now = this.core.now()
    const every = this.every(record)
    const next = every ? now + every : undefined
    const clean = truncate(text.trim(), 2000)
    record.updates = [
      ...(record.updates ?? []),
      { by, at: now, text: clean, ...(next ? { next } : {}) },
    ].slice(-20)
    record.events.push({
      type: 'updated',
      at: now,
      by,
      detail: `status update: ${truncate(clean, 200)}`,
    })
    const incident = record.incident
    const state = [
      record.ack ? t.acknowledged : t.firing,
      incident
        ? `${SEVERITY_STYLE[incident.severity].priority} ${t.severityNames[incident.severity]}`
        : '',
    ].filter(Boolean)
    const paragraphs: Array<Array<Record<string, unknown>>> = [
      [{ tag: 'text', text: t.updateTitle }, ...this.messages.personNodes(by)],
      [{ tag: 'text', text: `${t.status}: ${state.join(' · ')}` }, ...this.leadNodes(record)],
      [{ tag: 'text', text: safePlainText(clean) }],
    ]
    if (next) paragraphs.push([{ tag: 'text', text: t.nextUpdate(this.when(next)) }])
    await this.messages.post(record, paragraphs, `update:${now}`)
    await this.broadcast.note(record, t.feedUpdate(safePlainText(clean)), `update:${now}`, op)
    if (next) await this.schedule(record, now, 1, next)
  }

  /** Due while this is still the latest update and the incident is open. */
  due(record: IncidentRecord | undefined, job: UpdateDueJob): boolean {
    return !!record && record.status === 'open' && record.updates?.at(-1)?.at === job.at
  }

  /** Reminds the lead (or who acknowledged) and schedules the next reminder. */
  async remind(record: IncidentRecord, job: UpdateDueJob): Promise<void> {
    const t = this.messages.t
    const who = record.lead?.by ?? record.ack?.by
    const since = formatDuration(this.core.now() - job.at, this.core.config.language)
    await this.messages.post(
      record,
      [
        [
          { tag: 'text', text: '⏰ ' },
          ...(who ? this.messages.personNodes(who) : []),
          { tag: 'text', text: t.updateDue(since) },
        ],
      ],
      `update-due:${job.at}:${job.n}`,
    )
    const every = this.every(record)
    if (every) await this.schedule(record, job.at, job.n + 1, this.core.now() + every)
  }

  private schedule(record: IncidentRecord, at: number, n: number, dueAt: number) {
    return this.jobs.schedule({
      id: `${UPDATE_DUE}:${record.keyHash}:${at}:${n}`,
      kind: UPDATE_DUE,
      keyHash: record.keyHash,
      dueAt,
      data: { at, n } satisfies UpdateDueJob as unknown as Record<string, unknown>,
    })
  }

  private leadNodes(record: IncidentRecord): Array<Record<string, unknown>> {
    if (!record.lead) return []
    return [
      { tag: 'text', text: ` · ${this.messages.t.leadLabel}: ` },
      ...this.messages.personNodes(record.lead.by),
    ]
  }

  private when(ms: number): string {
    return formatTime(ms, this.core.config.timeZone, this.core.config.language)
  }
}
