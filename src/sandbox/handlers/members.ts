import { ApiError, type Handler, parseJson } from '../common.js'
import type { SandboxCore } from '../core.js'
import { SANDBOX_LIMITS } from '../limits.js'
import type { RouteName } from '../routes.js'
import { newId } from '../state.js'

/** Add people (and bots) to a chat. */
export function memberHandlers(sb: SandboxCore): Partial<Record<RouteName, Handler>> {
  return {
    listMembers: ({ url, params }) => {
      const chat = sb.chatFor(params.chat_id!, true)
      const idType = sb.idType(
        url.searchParams.get('member_id_type'),
        'member_id_type',
        ['open_id', 'union_id', 'user_id'],
        'open_id',
      )
      const members = [...chat.members].map((openId) => {
        const user = sb.state.users.get(openId)
        const id =
          idType === 'union_id' ? user?.union_id : idType === 'user_id' ? user?.user_id : openId
        return {
          member_id_type: idType,
          member_id: id ?? openId,
          name: user?.name ?? '',
          tenant_key: 'sandbox-tenant',
        }
      })
      return { ...sb.paginate(members, url, 20, 100), member_total: members.length }
    },

    // Documented: only the owner sets managers, ≤ 10 per ordinary chat. The codes for a
    // non-owner, a non-member and too many are UNCONFIRMED; these are Feishu's nearest.
    addManagers: ({ url, params, body }) => managers(sb, 'add', url, params, body),
    deleteManagers: ({ url, params, body }) => managers(sb, 'delete', url, params, body),

    putTopNotice: ({ params, body }) => {
      const chat = sb.chatFor(params.chat_id!, true)
      const notices = (parseJson(body) as { chat_top_notice?: unknown }).chat_top_notice
      const first = Array.isArray(notices) ? (notices[0] as Record<string, unknown>) : undefined
      if (!first) throw new ApiError(400, 232001, 'chat_top_notice is required')
      if (first.action_type === '1') {
        const message = sb.state.messages.get(String(first.message_id ?? ''))
        if (!message || message.chat_id !== chat.chat_id)
          throw new ApiError(400, 230001, 'message_id is not a message of this chat')
        chat.topNotice = message.message_id
      } else chat.topNotice = 'announcement'
      return {}
    },

    // Documented: doc or url tabs only, a name of 30 characters at most, 20 custom tabs a
    // chat, links starting with http(s). The codes for each refusal are UNCONFIRMED.
    addChatTab: ({ params, body }) => {
      const chat = sb.chatFor(params.chat_id!, true)
      const input = parseJson(body) as { chat_tabs?: Array<Record<string, unknown>> }
      const tabs = Array.isArray(input.chat_tabs) ? input.chat_tabs : []
      if (!tabs.length) throw new ApiError(400, 99992402, 'field validation failed: chat_tabs')
      chat.tabs ??= []
      if (chat.tabs.length + tabs.length > 20)
        throw new ApiError(400, 99992402, 'a chat has 20 custom tabs at most')
      for (const tab of tabs) {
        const type = String(tab.tab_type ?? '')
        const name = String(tab.tab_name ?? '')
        const content = (tab.tab_content ?? {}) as Record<string, unknown>
        const link = String(content[type] ?? '')
        if (type !== 'doc' && type !== 'url')
          throw new ApiError(400, 99992402, `only doc and url tabs may be added, not ${type}`)
        if (name.length > 30) throw new ApiError(400, 99992402, 'tab_name is over 30 characters')
        if (!/^https?:\/\//.test(link))
          throw new ApiError(400, 99992402, `tab_content.${type} must start with http or https`)
        chat.tabs.push({
          tab_id: newId(''),
          tab_name: name,
          tab_type: type,
          tab_content: { [type]: link },
        })
      }
      return { chat_tabs: chat.tabs }
    },

    addMembers: ({ url, params, body }) => {
      const chat = sb.chatFor(params.chat_id!, true)
      const idType = sb.idType(
        url.searchParams.get('member_id_type'),
        'member_id_type',
        ['open_id', 'union_id', 'user_id', 'app_id'],
        'open_id',
      )
      const succeedType = Number(url.searchParams.get('succeed_type') ?? 0)
      const input = parseJson(body) as { id_list?: unknown }
      if (!Array.isArray(input.id_list) || input.id_list.length === 0)
        throw new ApiError(400, 232001, 'id_list must not be empty.')
      if (input.id_list.length > SANDBOX_LIMITS.addMemberIds)
        throw new ApiError(400, 232001, `id_list takes at most ${SANDBOX_LIMITS.addMemberIds} ids.`)
      if (idType === 'app_id') {
        for (const id of input.id_list as string[]) chat.bots.add(id)
        return { invalid_id_list: [], not_existed_id_list: [], pending_approval_id_list: [] }
      }
      const { valid, invalid, missing } = sb.resolveUsers(input.id_list, idType)
      const missingCode =
        idType === 'open_id' ? 99992351 : idType === 'user_id' ? 99992360 : 99992364
      if (succeedType === 0 && missing.length)
        throw new ApiError(400, missingCode, `The ${idType} does not exist: ${missing.join(',')}`)
      if (succeedType === 2 && (missing.length || invalid.length))
        throw new ApiError(400, 232043, 'Your request contains unavailable ids.', {
          invalid_id_list: invalid,
          not_existed_id_list: missing,
        })
      if (valid.length === 0 && succeedType !== 1)
        throw new ApiError(400, 232027, 'No valid members.')
      // People whose joining waits for an owner's or admin's approval are not members yet.
      const pending = valid.filter((id) => sb.state.approvalRequired.has(id))
      sb.addToChat(
        chat,
        valid.filter((id) => !pending.includes(id)),
      )
      const asGiven = (input.id_list as string[]).filter((id) => {
        const user = sb.state.userBy(idType, id)
        return user && pending.includes(user.open_id)
      })
      return {
        invalid_id_list: invalid,
        not_existed_id_list: missing,
        pending_approval_id_list: asGiven,
      }
    },
  }
}

function managers(
  sb: SandboxCore,
  change: 'add' | 'delete',
  url: URL,
  params: Record<string, string>,
  body: Buffer,
) {
  const chat = sb.chatFor(params.chat_id!, true)
  sb.idType(url.searchParams.get('member_id_type'), 'member_id_type', ['open_id'], 'open_id')
  if (chat.owner.type !== 'app' || chat.owner.id !== sb.appId)
    throw new ApiError(400, 232017, 'operator is not the chat owner')
  const ids = (parseJson(body) as { manager_ids?: unknown }).manager_ids
  if (!Array.isArray(ids) || !ids.length || ids.some((i) => typeof i !== 'string'))
    throw new ApiError(400, 232001, 'manager_ids is required')
  chat.managers ??= new Set()
  for (const id of ids as string[]) {
    if (change === 'delete') {
      chat.managers.delete(id)
      continue
    }
    if (!chat.members.has(id)) throw new ApiError(400, 232024, `${id} is not in the chat`)
    chat.managers.add(id)
  }
  if (chat.managers.size > 10) {
    for (const id of ids as string[]) chat.managers.delete(id)
    throw new ApiError(400, 232043, 'the chat has 10 managers already')
  }
  return { chat_managers: [...chat.managers], chat_bot_managers: [...chat.botManagers] }
}
