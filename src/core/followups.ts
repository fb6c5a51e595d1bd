import { FeishuError } from '../feishu/errors.js'
import { formatTime } from '../i18n/index.js'
import type { Person } from '../model/incident.js'
import { safePlainText, singleLine, truncate } from '../render/text.js'
import type { IncidentRecord } from '../store/store.js'
import type { Messages } from './messages.js'
import { type Core, deriveUuid, type Op, reasonOf } from './model.js'

/** What `/followup` asks for: the task, its owner, when it is due, the message that asked. */
export interface FollowUpInput {
  text: string
  owner: Person
  due?: number
  messageId?: string
}

/**
 * Follow-ups (`/followup`, 待办): a Feishu task (task v2) assigned to its
 * owner and linked back to the war room, listed in the review and the
 * post-mortem. The message that asked is the task's client_token, so a
 * redelivered command makes the same task. A missing task scope is a line.
 */
export class FollowUps {
  constructor(
    private readonly core: Core,
    private readonly messages: Messages,
  ) {}

  async add(
    record: IncidentRecord,
    by: Person,
    item: FollowUpInput,
    op: Op,
  ): Promise<string | undefined> {
    const t = this.messages.t
    const text = truncate(safePlainText(singleLine(item.text)).trim(), 500)
    if (!text) return t.followUpUsage
    if (!item.owner.openId) return t.followUpUsage
    const at = this.core.now()
    const token = deriveUuid('followup', record.keyHash, item.messageId ?? `${text}:${at}`)
    let task: { guid: string; url?: string }
    try {
      task = await this.core.client.documents.createTask({
        summary: text,
        assignee: item.owner.openId,
        ...(item.due ? { due: item.due } : {}),
        origin: {
          name: 'feishu-warroom',
          url: this.core.client.chatLink(record.chatId),
          title: record.chatName,
        },
        clientToken: token,
      })
    } catch (error) {
      if (!(error instanceof FeishuError) || error.isTransient) throw error
      op.warnings.push(`no task for the follow-up: ${reasonOf(error)}`)
      return t.followUpRefused(reasonOf(error))
    }
    if (record.followUps?.some((f) => f.guid === task.guid)) return undefined
    record.followUps = [
      ...(record.followUps ?? []),
      {
        guid: task.guid,
        text,
        owner: item.owner,
        at,
        ...(item.due ? { due: item.due } : {}),
        ...(task.url ? { url: task.url } : {}),
      },
    ].slice(-50)
    record.events.push({ type: 'updated', at, by, detail: `follow-up: ${text}` })
    const { timeZone, language } = this.core.config
    const due = item.due ? t.followUpDue(formatTime(item.due, timeZone, language, at)) : ''
    await this.messages.post(
      record,
      [
        [
          { tag: 'text', text: t.followUpParts[0] },
          { tag: 'text', text: `${text} → ` },
          ...this.messages.personNodes(item.owner),
          { tag: 'text', text: due },
          ...(task.url ? [{ tag: 'a', text: t.followUpOpen, href: task.url }] : []),
        ],
      ],
      `followup:${task.guid}`,
    )
    return undefined
  }
}
