import { ApiError, fieldError, type Handler, parseJson } from '../common.js'
import type { SandboxCore } from '../core.js'
import { SANDBOX_LIMITS } from '../limits.js'
import type { RouteName } from '../routes.js'

/** Users: names, and ids from emails and mobiles. */
export function contactHandlers(sb: SandboxCore): Partial<Record<RouteName, Handler>> {
  return {
    getUser: ({ url, params }) => {
      const idType = sb.idType(
        url.searchParams.get('user_id_type'),
        'user_id_type',
        ['open_id', 'union_id', 'user_id'],
        'open_id',
      )
      const user = sb.state.userBy(idType, params.user_id!)
      if (!user)
        throw new ApiError(
          400,
          41050,
          'no user authority error: the user does not exist or is outside the app’s contact scope',
        )
      const leader = user.leader ? sb.state.users.get(user.leader) : undefined
      return {
        user: {
          open_id: user.open_id,
          union_id: user.union_id,
          user_id: user.user_id,
          name: user.name,
          en_name: user.name,
          ...(leader
            ? {
                leader_user_id:
                  idType === 'union_id'
                    ? leader.union_id
                    : idType === 'user_id'
                      ? leader.user_id
                      : leader.open_id,
              }
            : {}),
        },
      }
    },

    batchGetId: ({ url, body }) => {
      const idType = sb.idType(
        url.searchParams.get('user_id_type'),
        'user_id_type',
        ['open_id', 'union_id', 'user_id'],
        'open_id',
      )
      const input = parseJson(body) as {
        emails?: unknown
        mobiles?: unknown
        include_resigned?: unknown
      }
      const emails = input.emails ?? []
      const mobiles = input.mobiles ?? []
      const most = SANDBOX_LIMITS.batchGetIdEach
      if (!Array.isArray(emails) || emails.length > most)
        throw fieldError('emails', `emails takes at most ${most} entries`)
      if (!Array.isArray(mobiles) || mobiles.length > most)
        throw fieldError('mobiles', `mobiles takes at most ${most} entries`)
      const pick = (kind: 'email' | 'mobile', value: string) => {
        const user = sb.state.userBy(kind, value)
        const visible = user && (user.status === 'active' || input.include_resigned === true)
        const id = visible
          ? idType === 'open_id'
            ? user.open_id
            : idType === 'union_id'
              ? user.union_id
              : user.user_id
          : undefined
        return { [kind]: value, ...(id ? { user_id: id } : {}) }
      }
      return {
        user_list: [
          ...(emails as string[]).map((e) => pick('email', e)),
          ...(mobiles as string[]).map((m) => pick('mobile', m)),
        ],
      }
    },
  }
}
