import { FeishuError } from '../feishu/errors.js'
import type { Person } from '../model/incident.js'
import type { IncidentRecord } from '../store/store.js'
import type { Messages } from './messages.js'
import { type Core, type Op, reasonOf } from './model.js'
import type { Urgency } from './urgency.js'

/** How long a reservation stays valid: a week, well inside Feishu's 30 days. */
const BRIDGE_FOR_MS = 7 * 86_400_000

/**
 * A video meeting per incident (vc/v1/reserves/apply, scope vc:reserve):
 * opened for critical incidents with `bridge: auto`, on request with
 * /bridge or the card's button, never with `off`. One per incident: the
 * reservation is written to the record at once, under the incident's lock,
 * so a retry or another replica finds it. Released on resolution; the
 * meeting held in it is kept for the review.
 */
export class Bridges {
  constructor(
    private readonly core: Core,
    private readonly messages: Messages,
    private readonly urgency: Urgency,
    private readonly save: (record: IncidentRecord) => Promise<void>,
  ) {}

  mode(record: IncidentRecord): 'auto' | 'button' | 'off' {
    return this.core.config.bridgeFor?.(record.incident?.labels ?? {}) ?? 'button'
  }

  /** `bridge: auto`: a critical open episode gets its bridge (once; a retry finds it). */
  async auto(record: IncidentRecord, op: Op): Promise<void> {
    if (this.mode(record) !== 'auto' || record.incident?.severity !== 'critical') return
    if (record.status !== 'open' || (record.bridge && !record.bridge.released)) return
    // Refused once this episode (a missing scope): not asked again at every notification.
    if (record.seenEvents.includes(`bridge-refused:${record.openedAt}`)) return
    await this.open(record, undefined, op)
  }

  /** Reserves the bridge and posts it; a reason when there is nothing to do. */
  async open(record: IncidentRecord, by: Person | undefined, op: Op): Promise<string | undefined> {
    const t = this.messages.t
    if (record.bridge && !record.bridge.released)
      return t.bridgeExists(record.bridge.meetingNo ?? '')
    if (this.mode(record) === 'off') return t.bridgeOff
    // A tenant token must name an owner: the lead, who asked, who acknowledged, a paged responder.
    const owner =
      record.lead?.by.openId ??
      by?.openId ??
      record.ack?.by.openId ??
      this.urgency.pageable(record)[0] ??
      record.members[0]
    if (!owner) return t.bridgeNoOwner
    const now = this.core.now()
    let reserve: Awaited<ReturnType<Core['client']['attention']['reserve']>>
    try {
      reserve = await this.core.client.attention.reserve({
        ownerOpenId: owner,
        topic: record.chatName,
        endTime: now + BRIDGE_FOR_MS,
        ...(record.lead?.by.openId ? { hosts: [record.lead.by.openId] } : {}),
      })
    } catch (error) {
      if (!(error instanceof FeishuError) || error.isTransient) throw error
      // A missing scope or a refusal: a plain line naming it; the war room carries on.
      op.warnings.push(`no video bridge: ${reasonOf(error)}`)
      record.seenEvents = [...record.seenEvents, `bridge-refused:${record.openedAt}`].slice(-50)
      await this.messages.post(
        record,
        [[{ tag: 'text', text: t.bridgeRefused(reasonOf(error)) }]],
        `bridge-refused:${record.openedAt}`,
      )
      return undefined
    }
    record.bridge = {
      reserveId: reserve.id,
      url: reserve.url,
      ...(reserve.app_link ? { appLink: reserve.app_link } : {}),
      ...(reserve.meeting_no ? { meetingNo: reserve.meeting_no } : {}),
      owner,
      at: now,
      endsAt: reserve.end_time ? Number(reserve.end_time) * 1000 : now + BRIDGE_FOR_MS,
    }
    record.events.push({
      type: 'updated',
      at: now,
      ...(by ? { by } : {}),
      detail: `video bridge ${reserve.meeting_no ?? reserve.id}`,
    })
    // Written before anything else can fail: a retry must not reserve a second meeting.
    await this.save(record)
    await this.messages.post(
      record,
      [
        [
          { tag: 'text', text: t.bridgeOpened },
          { tag: 'a', text: t.bridgeJoin, href: reserve.url },
          ...(reserve.meeting_no ? [{ tag: 'text', text: t.bridgeNo(reserve.meeting_no) }] : []),
        ],
      ],
      `bridge:${reserve.id}`,
    )
    return undefined
  }

  /** At the resolution: the meeting held (for the review), then the reservation released. */
  async release(record: IncidentRecord, op: Op): Promise<void> {
    const bridge = record.bridge
    if (!bridge || bridge.released) return
    const vc = this.core.client.attention
    try {
      const active = await vc.activeMeeting(bridge.reserveId).catch(() => undefined)
      if (active) {
        bridge.meetingId = active.id
        const info = await vc.meeting(active.id).catch(() => undefined)
        if (info?.note_doc_token) bridge.notesToken = info.note_doc_token
      }
      await vc.release(bridge.reserveId)
      bridge.released = this.core.now()
    } catch (error) {
      op.warnings.push(`the video bridge was not released: ${reasonOf(error)}`)
    }
  }
}
