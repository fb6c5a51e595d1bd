import {
  ApiError,
  CHAT_DESCRIPTION_LIMIT,
  CHAT_NAME_LIMIT,
  CREATE_CHAT_UUID_WINDOW_MS,
  fieldError,
  type Handler,
  parseJson,
  SYSTEM_TEMPLATES,
} from '../common.js'
import type { SandboxCore } from '../core.js'
import { SANDBOX_LIMITS } from '../limits.js'
import type { RouteName } from '../routes.js'
import { newId, type SandboxChat } from '../state.js'

/**
 * Longer values are refused as Feishu's CLI refuses them; the server's own
 * answer is UNCONFIRMED, so `longChatText` plays cutting or keeping them too.
 */
function withinLimit(sb: SandboxCore, field: string, value: string, limit: number): string {
  const chars = [...value]
  if (chars.length <= limit || sb.longChatText === 'accept') return value
  if (sb.longChatText === 'truncate') return chars.slice(0, limit).join('')
  throw new ApiError(
    400,
    232001,
    `Your request contains an invalid request parameter: ${field} is longer than ${limit} characters.`,
  )
}

/** Create, read, rename and list chats. */
export function chatHandlers(sb: SandboxCore): Partial<Record<RouteName, Handler>> {
  return {
    createChat: ({ url, body }) => {
      const input = parseJson(body) as Record<string, unknown>
      const idType = sb.idType(
        url.searchParams.get('user_id_type'),
        'user_id_type',
        ['open_id', 'union_id', 'user_id'],
        'open_id',
      )
      const uuid = url.searchParams.get('uuid') ?? undefined
      if (uuid !== undefined && (uuid.length === 0 || uuid.length > 50))
        throw fieldError('uuid', 'uuid must be 1-50 characters')
      const ownerId = typeof input.owner_id === 'string' ? input.owner_id : undefined
      const now = sb.now()
      if (uuid) {
        const seen = sb.state.chatUuids.get(`${uuid}|${ownerId ?? ''}`)
        if (seen && now - seen.at < CREATE_CHAT_UUID_WINDOW_MS) {
          const chat = sb.state.chats.get(seen.chat_id)
          if (chat && sb.repeatedUuid === 'error')
            throw new ApiError(
              400,
              232001,
              'Your request contains an invalid request parameter: uuid has been used.',
            )
          if (chat) return sb.chatInfo(chat)
        }
      }
      const name = withinLimit(
        sb,
        'name',
        typeof input.name === 'string' ? input.name : '',
        CHAT_NAME_LIMIT,
      )
      const description = withinLimit(
        sb,
        'description',
        typeof input.description === 'string' ? input.description : '',
        CHAT_DESCRIPTION_LIMIT,
      )
      const chatType = input.chat_type === 'public' ? 'public' : 'private'
      if (chatType === 'public' && [...name].length < 2)
        throw new ApiError(400, 232020, 'The name of a public chat must be at least 2 characters.')
      const members = input.user_id_list ?? []
      if (!Array.isArray(members) || members.length > SANDBOX_LIMITS.createChatUsers)
        throw new ApiError(
          400,
          232001,
          `user_id_list takes at most ${SANDBOX_LIMITS.createChatUsers} ids.`,
        )
      const resolved = sb.resolveUsers(members, idType)
      if (resolved.missing.length)
        throw new ApiError(400, 232043, 'Your request contains unavailable ids.', {
          details: resolved.missing.map((v) => ({ key: 'user_id_list', value: v })),
        })
      if (resolved.invalid.length) throw new ApiError(400, 232022, 'User has already resigned.')
      let owner: SandboxChat['owner'] = { type: 'app', id: sb.appId }
      if (ownerId) {
        const user = sb.state.userBy(idType, ownerId)
        if (!user)
          throw new ApiError(400, 232032, 'The owner is not in the same tenant or does not exist.')
        owner = { type: 'user', id: user.open_id }
      }
      const chat: SandboxChat = {
        chat_id: newId('oc_'),
        name,
        description,
        owner,
        members: new Set(),
        bots: new Set([sb.appId]),
        botManagers: new Set(
          owner.type === 'user' && url.searchParams.get('set_bot_manager') === 'true'
            ? [sb.appId]
            : [],
        ),
        chat_type: chatType,
        status: 'normal',
        created_at: now,
        names: [{ name, at: now }],
        urgent_setting: input.urgent_setting === 'only_owner' ? 'only_owner' : 'all_members',
        at_all_permission: 'all_members',
        edit_permission: input.edit_permission === 'only_owner' ? 'only_owner' : 'all_members',
      }
      if (owner.type === 'user') chat.members.add(owner.id)
      sb.state.chats.set(chat.chat_id, chat)
      sb.state.addSystemMessage(chat.chat_id, now, SYSTEM_TEMPLATES.created, {
        from_user: [sb.appName],
      })
      sb.addToChat(chat, resolved.valid)
      if (uuid)
        sb.state.chatUuids.set(`${uuid}|${ownerId ?? ''}`, { chat_id: chat.chat_id, at: now })
      return sb.chatInfo(chat)
    },

    getChat: ({ params }) => {
      const chat = sb.chatFor(params.chat_id!, false)
      if (!chat.bots.has(sb.appId)) {
        return {
          name: chat.name,
          avatar: '',
          user_count: String(chat.members.size),
          chat_status: chat.status,
        }
      }
      return sb.chatInfo(chat)
    },

    updateChat: ({ params, body }) => {
      const chat = sb.chatFor(params.chat_id!, true)
      const input = parseJson(body) as Record<string, unknown>
      const now = sb.now()
      if (input.name !== undefined && typeof input.name !== 'string')
        throw fieldError('name', 'name must be a string')
      if (input.description !== undefined && typeof input.description !== 'string')
        throw fieldError('description', 'description must be a string')
      if (
        input.edit_permission !== undefined &&
        input.edit_permission !== 'only_owner' &&
        input.edit_permission !== 'all_members'
      )
        throw fieldError('edit_permission', 'edit_permission must be only_owner or all_members')
      const name =
        typeof input.name === 'string'
          ? withinLimit(sb, 'name', input.name, CHAT_NAME_LIMIT)
          : undefined
      const description =
        typeof input.description === 'string'
          ? withinLimit(sb, 'description', input.description, CHAT_DESCRIPTION_LIMIT)
          : undefined
      // Validated whole before anything changes: a refused update leaves the chat as it was.
      if (name !== undefined && name !== chat.name) {
        const before = chat.name
        chat.name = name
        chat.names.push({ name, at: now })
        sb.state.addSystemMessage(
          chat.chat_id,
          now,
          SYSTEM_TEMPLATES.renamed,
          { from_user: [sb.appName] },
          `${sb.appName} updated the group name from "${before}" to "${name}".`,
        )
      }
      if (description !== undefined) chat.description = description
      if (input.edit_permission !== undefined)
        chat.edit_permission = input.edit_permission as SandboxChat['edit_permission']
      return {}
    },

    listChats: ({ url }) => {
      const sort = url.searchParams.get('sort_type') ?? 'ByCreateTimeAsc'
      if (sort !== 'ByCreateTimeAsc' && sort !== 'ByActiveTimeDesc')
        throw fieldError('sort_type', 'unknown sort_type')
      const chats = [...sb.state.chats.values()].filter(
        (c) => c.bots.has(sb.appId) && c.status === 'normal',
      )
      if (sort === 'ByActiveTimeDesc') chats.reverse()
      return sb.paginate(
        chats.map((c) => sb.chatSummary(c)),
        url,
        20,
        100,
      )
    },

    searchChats: ({ url }) => {
      const query = (url.searchParams.get('query') ?? '').toLowerCase()
      if (!query || query.length > 64) return { items: [], has_more: false }
      const chats = [...sb.state.chats.values()].filter(
        (c) =>
          c.status === 'normal' &&
          (c.bots.has(sb.appId) || c.chat_type === 'public') &&
          (c.name.toLowerCase().includes(query) ||
            [...c.members].some((m) => sb.state.userName(m).toLowerCase().includes(query))),
      )
      return sb.paginate(
        chats.map((c) => sb.chatSummary(c)),
        url,
        20,
        100,
      )
    },
  }
}
