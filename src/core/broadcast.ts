import { safePlainText } from '../render/text.js'
import type { IncidentRecord } from '../store/store.js'
import type { Messages } from './messages.js'
import { type Core, deriveUuid, errorMessage, type Op } from './model.js'

/**
 * The stakeholder feed (`broadcast_chat`): one standing chat where each
 * incident's opening is a message and its severity changes, status updates
 * and resolution follow in that message's thread (reply_in_thread), so people
 * who are not responders follow without joining. Nothing else goes there.
 * A feed that cannot be written to is a warning, never a failed war room.
 */
export class Broadcast {
  constructor(
    private readonly core: Core,
    private readonly messages: Messages,
  ) {}

  /** The opening, as the thread's first message. */
  async opened(record: IncidentRecord, op: Op): Promise<void> {
    const chatId = this.core.config.broadcastFor?.(record.incident?.labels ?? {})
    if (!chatId || record.broadcast?.chatId === chatId) return
    const t = this.messages.t
    try {
      const sent = await this.core.client.sendMessage({
        receiveIdType: 'chat_id',
        receiveId: chatId,
        msgType: 'post',
        content: this.messages.content(
          [
            [
              { tag: 'text', text: t.feedOpened },
              { tag: 'a', text: t.feedJoin, href: this.core.client.chatLink(record.chatId) },
            ],
          ],
          safePlainText(record.chatName),
        ),
        uuid: deriveUuid('feed', record.keyHash, String(record.openedAt)),
      })
      record.broadcast = { chatId, messageId: sent.message_id }
    } catch (error) {
      op.warnings.push(`the stakeholder feed ${chatId} was not told: ${errorMessage(error)}`)
    }
  }

  /** A line in the incident's thread of the feed (severity, a status update, the resolution). */
  async note(record: IncidentRecord, text: string, event: string, op: Op): Promise<void> {
    const feed = record.broadcast
    if (!feed) return
    try {
      await this.core.client.reply(feed.messageId, {
        msgType: 'post',
        content: this.messages.content([[{ tag: 'text', text }]], safePlainText(record.chatName)),
        uuid: deriveUuid('feed', record.keyHash, event),
        replyInThread: true,
        chatId: feed.chatId,
      })
    } catch (error) {
      op.warnings.push(`the stakeholder feed ${feed.chatId} was not told: ${errorMessage(error)}`)
    }
  }
}
