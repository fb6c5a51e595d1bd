import { randomInt } from 'node:crypto'
import { ApiError, type Handler, parseJson } from '../common.js'
import type { SandboxCore } from '../core.js'
import type { RouteName } from '../routes.js'

/** Feishu answers 30 days as the furthest a reservation may end (vc/v1/reserves/apply). */
const MAX_RESERVE_MS = 30 * 86_400_000

/**
 * Video meetings (vc/v1 reserves and meetings) and time-sensitive chats
 * (im/v2 feed cards), as their API pages describe them. The vc error codes
 * are the nearest of Feishu's vc range (121xxx); which one each refusal
 * answers is UNCONFIRMED.
 */
export function attentionHandlers(
  sb: SandboxCore,
  options: { meetingArtifacts?: boolean } = {},
): Partial<Record<RouteName, Handler>> {
  const reserveFor = (id: string) => {
    const m = sb.state.meetings.get(id)
    if (!m || m.released !== undefined) throw new ApiError(400, 121004, 'reserve not found')
    return m
  }
  return {
    reserveMeeting: ({ url, body }) => {
      const input = parseJson(body) as {
        end_time?: string
        owner_id?: string
        meeting_settings?: { topic?: string; assign_host_list?: Array<{ id?: string }> }
      }
      const idType = url.searchParams.get('user_id_type') ?? 'open_id'
      // With a tenant token, owner_id is required and must be a user of the tenant.
      const owner = input.owner_id ? sb.state.userBy(idType, input.owner_id) : undefined
      if (!owner)
        throw new ApiError(400, 121003, 'param error: owner_id must be a user of the tenant')
      const end = Number(input.end_time) * 1000
      if (!Number.isFinite(end) || end <= sb.now() || end > sb.now() + MAX_RESERVE_MS)
        throw new ApiError(400, 121003, 'param error: end_time must be within 30 days from now')
      const hosts = (input.meeting_settings?.assign_host_list ?? []).map((h) => {
        const user = h.id ? sb.state.userBy(idType, h.id) : undefined
        if (!user) throw new ApiError(400, 121003, `param error: host ${h.id} is not a user`)
        return user.open_id
      })
      const meetingNo = String(randomInt(100_000_000, 999_999_999))
      const id = `${Date.now()}${randomInt(100_000, 999_999)}`
      const meeting = {
        id,
        meeting_no: meetingNo,
        url: `https://vc.feishu.cn/j/${meetingNo}`,
        app_link: `https://applink.feishu.cn/client/videochat/open?source=openplatform&action=join&idtype=reservationid&id=${id}`,
        password: '',
        owner: owner.open_id,
        topic: input.meeting_settings?.topic ?? '',
        hosts,
        end_time: end,
        created_at: sb.now(),
      }
      sb.state.meetings.set(id, meeting)
      return {
        reserve: {
          id,
          meeting_no: meetingNo,
          url: meeting.url,
          app_link: meeting.app_link,
          live_link: '',
          end_time: String(Math.floor(end / 1000)),
          expire_status: 1,
        },
      }
    },

    releaseMeeting: ({ params }) => {
      reserveFor(params.reserve_id!).released = sb.now()
      return {}
    },

    activeMeeting: ({ params }) => {
      const m = reserveFor(params.reserve_id!)
      if (!m.active) throw new ApiError(400, 121004, 'no active meeting')
      return {
        meeting: {
          id: m.active.id,
          topic: m.topic,
          meeting_no: m.meeting_no,
          start_time: String(Math.floor(m.active.started_at / 1000)),
        },
      }
    },

    getMeeting: ({ params }) => {
      const m = [...sb.state.meetings.values()].find((x) => x.active?.id === params.meeting_id)
      if (!m?.active) throw new ApiError(400, 121004, 'meeting not found')
      return {
        meeting: {
          id: m.active.id,
          topic: m.topic,
          meeting_no: m.meeting_no,
          start_time: String(Math.floor(m.active.started_at / 1000)),
          ...(options.meetingArtifacts
            ? { related_artifacts: { note_doc_token: `doxcn${m.active.id.slice(-8)}` } }
            : {}),
        },
      }
    },

    addReaction: ({ params, body, appId }) => {
      const message = sb.messageFor(params.message_id!)
      sb.chatFor(message.chat_id, true)
      const input = parseJson(body) as { reaction_type?: { emoji_type?: unknown } }
      const emoji = input.reaction_type?.emoji_type
      if (typeof emoji !== 'string' || !emoji)
        throw new ApiError(400, 231001, 'reaction_type.emoji_type is required')
      message.reactions = [...(message.reactions ?? []), { emoji_type: emoji, by: appId }]
      return {
        reaction_id: `r_${message.reactions.length}`,
        operator: { operator_id: appId, operator_type: 'app' },
        action_time: String(sb.now()),
        reaction_type: { emoji_type: emoji },
      }
    },

    // The chat stays at the top of these people's chat list (group chats only) until cleared.
    timeSensitive: ({ url, params, body }) => {
      const chat = sb.chatFor(params.feed_card_id!, true)
      if (chat.description === 'p2p')
        throw new ApiError(400, 230001, 'feed_card_id must be a group chat')
      const idType = url.searchParams.get('user_id_type')
      if (!idType) throw new ApiError(400, 99992402, 'field validation failed: user_id_type')
      const input = parseJson(body) as { time_sensitive?: unknown; user_ids?: unknown }
      if (typeof input.time_sensitive !== 'boolean' || !Array.isArray(input.user_ids))
        throw new ApiError(400, 99992402, 'field validation failed: time_sensitive, user_ids')
      const marked = sb.state.timeSensitive.get(chat.chat_id) ?? new Set<string>()
      const failed: string[] = []
      for (const id of input.user_ids as string[]) {
        const user = sb.state.userBy(idType, String(id))
        if (!user || !chat.members.has(user.open_id)) {
          failed.push(String(id))
          continue
        }
        if (input.time_sensitive) marked.add(user.open_id)
        else marked.delete(user.open_id)
      }
      sb.state.timeSensitive.set(chat.chat_id, marked)
      return {
        failed_user_reasons: failed.map((user_id) => ({
          user_id,
          error_code: 1,
          error_message: 'not a member',
        })),
      }
    },
  }
}

/** Starts a meeting in a reservation (what a person joining it does): for tests and the page. */
export function startMeeting(sb: SandboxCore, reserveId: string): string {
  const m = sb.state.meetings.get(reserveId)
  if (!m || m.released !== undefined) throw new Error(`no reservation ${reserveId}`)
  m.active ??= { id: `${Date.now()}${randomInt(100_000, 999_999)}`, started_at: sb.now() }
  sb.changed()
  return m.active.id
}
