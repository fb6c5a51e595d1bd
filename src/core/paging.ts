import type { Person } from '../model/incident.js'
import { expandOnCall } from '../model/oncall.js'
import { safePlainText, truncate } from '../render/text.js'
import type { IncidentRecord } from '../store/store.js'
import type { Members } from './members.js'
import type { Messages } from './messages.js'
import type { Core, Op } from './model.js'
import type { Urgency } from './urgency.js'

/**
 * More people from the chat: `/invite` adds them, `/page` adds them and sends
 * an in-app urgent notice for the card: once per person per /page (a person
 * named twice is paged once), again only when asked again, within the urgent
 * caps; in-app notices spend no paid quota.
 */
export class Paging {
  constructor(
    private readonly core: Core,
    private readonly members: Members,
    private readonly messages: Messages,
    private readonly urgency: Urgency,
  ) {}

  /** A reason when nobody could be added. */
  async bring(
    record: IncidentRecord,
    by: Person,
    ids: string[],
    how: { page: boolean; note?: string | undefined },
    op: Op,
  ): Promise<string | undefined> {
    const t = this.messages.t
    const named = expandOnCall(ids, this.core.config.schedules ?? {}, this.core.now())
    const resolved = await this.members.resolve(named, op)
    for (const f of resolved.failed)
      if (!record.failedMembers.some((x) => x.id === f.id)) record.failedMembers.push(f)
    const missing = resolved.openIds.filter((id) => !record.members.includes(id))
    await this.members.add(record, missing, 'open_id', op)
    // Named twice (an email and a mention of the same person): added and paged once.
    const people = [...new Set(resolved.openIds)].filter((id) => record.members.includes(id))
    if (!people.length)
      return t.nobodyBrought(
        [...resolved.failed, ...op.failedMembers].map((f) => f.id).join(', ') || ids.join(', '),
      )
    const now = this.core.now()
    record.events.push({
      type: 'updated',
      at: now,
      by,
      detail: `${how.page ? 'paged' : 'invited'} ${people.length}`,
    })
    const [before, verb] = how.page ? t.pagedParts : t.invitedParts
    const line: Array<Record<string, unknown>> = [
      { tag: 'text', text: before },
      ...this.messages.personNodes(by),
      { tag: 'text', text: verb },
    ]
    for (const id of people)
      line.push(...this.messages.personNodes({ openId: id }), { tag: 'text', text: ' ' })
    if (how.note) line.push({ tag: 'text', text: `：${safePlainText(truncate(how.note, 500))}` })
    if (how.page && record.cardMessageId) {
      const held = await this.urgency.take(record, 'app')
      if (held) line.push({ tag: 'text', text: `\n${t.urgentHeld(held)}` })
      else await this.urgency.sendApp(record, people, op)
    }
    await this.messages.post(record, [line], `bring:${now}`)
    return undefined
  }
}
