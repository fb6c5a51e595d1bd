import { FeishuError } from '../feishu/errors.js'
import type { IncidentRecord } from '../store/store.js'
import type { Messages } from './messages.js'
import { type Core, type Op, reasonOf } from './model.js'

/**
 * The war room kept at the top of paged people's chat list (time-sensitive,
 * 即时提醒) until someone answers: marked for whoever an urgent notice went
 * to; an acknowledgement, a lead or the resolution clears it for everyone,
 * and a person who writes in the chat clears it for themself. Without the
 * scope, the chat is told once and nothing else changes.
 */
export class Attention {
  constructor(
    private readonly core: Core,
    private readonly messages: Messages,
  ) {}

  /** Marks the chat time-sensitive for these people (those not marked yet). */
  async mark(record: IncidentRecord, openIds: string[], op: Op): Promise<void> {
    const marked = record.timeSensitive ?? []
    const fresh = [...new Set(openIds)].filter((id) => !marked.includes(id))
    if (!fresh.length || record.status !== 'open') return
    if (await this.call(record, true, fresh, op)) record.timeSensitive = [...marked, ...fresh]
  }

  /** Clears it for these people, or for everyone marked. */
  async clear(record: IncidentRecord, op: Op, openIds?: string[]): Promise<boolean> {
    const marked = record.timeSensitive ?? []
    const gone = openIds ? marked.filter((id) => openIds.includes(id)) : marked
    if (!gone.length) return false
    if (!(await this.call(record, false, gone, op))) return false
    record.timeSensitive = marked.filter((id) => !gone.includes(id))
    if (!record.timeSensitive.length) delete record.timeSensitive
    return true
  }

  private async call(record: IncidentRecord, on: boolean, ids: string[], op: Op) {
    try {
      await this.core.client.attention.timeSensitive(record.chatId, on, ids)
      return true
    } catch (error) {
      if (!(error instanceof FeishuError) || error.isTransient) {
        op.warnings.push(`time-sensitive ${on ? 'mark' : 'clear'} failed: ${reasonOf(error)}`)
        return false
      }
      op.warnings.push(`the chat was not made time-sensitive: ${reasonOf(error)}`)
      // A missing scope or a refusal: said once per incident, as a plain line.
      if (on && !record.seenEvents.includes('time-sensitive-refused')) {
        record.seenEvents = [...record.seenEvents, 'time-sensitive-refused'].slice(-50)
        await this.messages.post(
          record,
          [[{ tag: 'text', text: this.messages.t.timeSensitiveRefused(reasonOf(error)) }]],
          'time-sensitive-refused',
        )
      }
      return false
    }
  }
}
