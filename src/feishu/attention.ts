import type { FeishuTransport } from './transport.js'

/** A reserved meeting, as `vc/v1/reserves/apply` answers it. */
export interface Reserve {
  id: string
  meeting_no?: string
  password?: string
  url: string
  app_link?: string
  end_time?: string
}

/** What the review may link from a meeting (`vc/v1/meetings/:meeting_id`). */
export interface MeetingInfo {
  id: string
  topic?: string
  start_time?: string
  end_time?: string
  note_doc_token?: string
  verbatim_doc_token?: string
}

/**
 * The calls that get people's attention beyond a message: a video meeting
 * (vc/v1 reserves) and the chat kept at the top of chosen people's chat list
 * (im/v2 feed cards, 即时提醒). Documented at open.feishu.cn under
 * server-docs/vc-v1/reserve and im-v2/groups-bots/feed_card.
 */
export class AttentionApi {
  constructor(private readonly transport: FeishuTransport) {}

  /** Reserves a meeting owned by `ownerOpenId` (a tenant token must name one); not retried after a maybe-sent failure. */
  async reserve(args: {
    ownerOpenId: string
    topic: string
    endTime: number
    hosts?: string[]
  }): Promise<Reserve> {
    const hosts = (args.hosts ?? []).map((id) => ({ id, user_type: 1 }))
    const data = await this.transport.call<{ reserve: Reserve }>({
      endpoint: 'reserveMeeting',
      query: { user_id_type: 'open_id' },
      body: {
        end_time: String(Math.floor(args.endTime / 1000)),
        owner_id: args.ownerOpenId,
        meeting_settings: {
          topic: args.topic,
          ...(hosts.length ? { assign_host_list: hosts } : {}),
        },
      },
      idempotent: false,
    })
    return data.reserve
  }

  /** Releases a reservation (deleting one that is gone is Feishu's error, told to the caller). */
  async release(reserveId: string): Promise<void> {
    await this.transport.call({
      endpoint: 'releaseMeeting',
      params: { reserve_id: reserveId },
      idempotent: true,
    })
  }

  /** The meeting under way in a reservation, if any. */
  async activeMeeting(reserveId: string): Promise<{ id: string } | undefined> {
    const data = await this.transport.call<{ meeting?: { id?: string } }>({
      endpoint: 'activeMeeting',
      params: { reserve_id: reserveId },
      idempotent: true,
    })
    return data.meeting?.id ? { id: data.meeting.id } : undefined
  }

  /**
   * A meeting's details, with its notes and transcript documents when Feishu
   * answers them (`related_artifacts`: UNCONFIRMED for a tenant token, and the
   * official schema lists no `query_mode`; both answers are handled).
   */
  async meeting(meetingId: string): Promise<MeetingInfo> {
    const data = await this.transport.call<{
      meeting?: MeetingInfo & {
        related_artifacts?: { note_doc_token?: string; verbatim_doc_token?: string }
      }
    }>({
      endpoint: 'getMeeting',
      params: { meeting_id: meetingId },
      idempotent: true,
    })
    const m = data.meeting ?? { id: meetingId }
    return {
      id: m.id ?? meetingId,
      ...(m.topic ? { topic: m.topic } : {}),
      ...(m.start_time ? { start_time: m.start_time } : {}),
      ...(m.end_time ? { end_time: m.end_time } : {}),
      ...(m.related_artifacts?.note_doc_token
        ? { note_doc_token: m.related_artifacts.note_doc_token }
        : {}),
      ...(m.related_artifacts?.verbatim_doc_token
        ? { verbatim_doc_token: m.related_artifacts.verbatim_doc_token }
        : {}),
    }
  }

  /** Adds an emoji reaction (Feishu's emoji_type: OK, DONE, Pin…) to a message. */
  async react(messageId: string, emojiType: string): Promise<void> {
    await this.transport.call({
      endpoint: 'addReaction',
      params: { message_id: messageId },
      body: { reaction_type: { emoji_type: emojiType } },
      idempotent: false,
    })
  }

  /** A message's chat, type and content (for a reaction's event, which names only the message). */
  async message(messageId: string): Promise<
    | {
        chat_id: string
        msg_type: string
        content: string
        sender?: { id: string; sender_type: string }
      }
    | undefined
  > {
    const data = await this.transport.call<{
      items?: Array<{
        chat_id: string
        msg_type: string
        body?: { content?: string }
        sender?: { id: string; sender_type: string }
      }>
    }>({ endpoint: 'getMessage', params: { message_id: messageId }, idempotent: true })
    const m = data.items?.[0]
    return m
      ? {
          chat_id: m.chat_id,
          msg_type: m.msg_type,
          content: m.body?.content ?? '',
          ...(m.sender ? { sender: m.sender } : {}),
        }
      : undefined
  }

  /** A person's manager (`leader_user_id`; needs a contact scope), as an open_id. */
  async leaderOf(openId: string): Promise<string | undefined> {
    const data = await this.transport.call<{ user?: { leader_user_id?: string } }>({
      endpoint: 'getUser',
      params: { user_id: openId },
      query: { user_id_type: 'open_id' },
      idempotent: true,
    })
    return data.user?.leader_user_id || undefined
  }

  /** Marks the chat time-sensitive (or clears it) for these people. */
  async timeSensitive(chatId: string, on: boolean, openIds: string[]): Promise<void> {
    if (!openIds.length) return
    await this.transport.call({
      endpoint: 'timeSensitive',
      params: { feed_card_id: chatId },
      query: { user_id_type: 'open_id' },
      body: { time_sensitive: on, user_ids: [...new Set(openIds)] },
      idempotent: true,
    })
  }
}
