/**
 * The sandbox's own route table. Methods and paths come from Feishu's official
 * request schemas (reference/feishu-schemas.json, generated from
 * @larksuiteoapi/lark-mcp by scripts/feishu-schemas.mjs), not from the
 * client's endpoint table, so a wrong path in the client is a 404 here as it
 * would be on Feishu. Scopes per the API pages of https://open.feishu.cn/document.
 */
import { OFFICIAL_TOOLS } from './official.js'

export const SANDBOX_ROUTES = {
  token: { tool: 'auth.v3.auth.tenantAccessTokenInternal', scopes: [] },
  createChat: { tool: 'im.v1.chat.create', scopes: ['im:chat', 'im:chat:create'] },
  getChat: {
    tool: 'im.v1.chat.get',
    scopes: ['im:chat', 'im:chat:read', 'im:chat:readonly'],
  },
  updateChat: { tool: 'im.v1.chat.update', scopes: ['im:chat', 'im:chat:update'] },
  dissolveChat: { tool: 'im.v1.chat.delete', scopes: ['im:chat', 'im:chat:delete'] },
  addChatTab: { tool: 'im.v1.chatTab.create', scopes: ['im:chat', 'im:chat.tabs:write_only'] },
  listChats: {
    tool: 'im.v1.chat.list',
    scopes: ['im:chat', 'im:chat:readonly', 'im:chat:read', 'im:chat.group_info:readonly'],
  },
  searchChats: {
    tool: 'im.v1.chat.search',
    scopes: ['im:chat', 'im:chat:readonly', 'im:chat:read', 'im:chat.group_info:readonly'],
  },
  addMembers: {
    tool: 'im.v1.chatMembers.create',
    scopes: ['im:chat', 'im:chat.members:write_only'],
  },
  addManagers: { tool: 'im.v1.chatManagers.addManagers', scopes: ['im:chat'] },
  deleteManagers: { tool: 'im.v1.chatManagers.deleteManagers', scopes: ['im:chat'] },
  putTopNotice: {
    tool: 'im.v1.chatTopNotice.putTopNotice',
    scopes: ['im:chat', 'im:chat.top_notice:write_only'],
  },
  listMembers: {
    tool: 'im.v1.chatMembers.get',
    scopes: ['im:chat', 'im:chat.members:read', 'im:chat:readonly'],
  },
  sendMessage: {
    tool: 'im.v1.message.create',
    scopes: ['im:message', 'im:message:send_as_bot', 'im:message:send'],
  },
  replyMessage: {
    tool: 'im.v1.message.reply',
    scopes: ['im:message', 'im:message:send_as_bot', 'im:message:send'],
  },
  patchMessage: {
    tool: 'im.v1.message.patch',
    scopes: ['im:message', 'im:message:send_as_bot', 'im:message:update'],
  },
  getMessage: {
    tool: 'im.v1.message.get',
    scopes: ['im:message', 'im:message:readonly', 'im:message.history:readonly'],
  },
  listMessages: {
    tool: 'im.v1.message.list',
    scopes: ['im:message', 'im:message:readonly', 'im:message.history:readonly'],
  },
  uploadImage: { tool: 'im.v1.image.create', scopes: ['im:resource', 'im:resource:upload'] },
  pinMessage: {
    tool: 'im.v1.pin.create',
    scopes: ['im:message', 'im:message.pins:write_only', 'im:message:send_as_bot'],
  },
  listPins: {
    tool: 'im.v1.pin.list',
    scopes: ['im:message', 'im:message.pins:read_only', 'im:message:readonly'],
  },
  urgentApp: {
    tool: 'im.v1.message.urgentApp',
    scopes: ['im:message.urgent', 'im:message.urgent:app_send'],
  },
  urgentSms: {
    tool: 'im.v1.message.urgentSms',
    scopes: ['im:message.urgent', 'im:message.urgent:sms'],
  },
  urgentPhone: {
    tool: 'im.v1.message.urgentPhone',
    scopes: ['im:message.urgent', 'im:message.urgent:phone'],
  },
  getUser: {
    tool: 'contact.v3.user.get',
    scopes: [
      'contact:user.base:readonly',
      'contact:contact.base:readonly',
      'contact:contact:readonly_as_app',
    ],
  },
  batchGetId: { tool: 'contact.v3.user.batchGetId', scopes: ['contact:user.id:readonly'] },
  addReaction: {
    tool: 'im.v1.messageReaction.create',
    scopes: ['im:message', 'im:message.reactions:write_only'],
  },
  createDocument: {
    tool: 'docx.v1.document.create',
    scopes: ['docx:document', 'docx:document:create'],
  },
  convertMarkdown: {
    tool: 'docx.v1.document.convert',
    scopes: ['docx:document.block:convert', 'docx:document'],
  },
  insertBlocks: {
    tool: 'docx.v1.documentBlockDescendant.create',
    scopes: ['docx:document', 'docx:document:write_only'],
  },
  shareDocument: {
    tool: 'drive.v1.permissionMember.create',
    scopes: ['docs:permission.member:create', 'drive:drive', 'docs:doc'],
  },
  createTask: { tool: 'task.v2.task.create', scopes: ['task:task:write', 'task:task'] },
  reserveMeeting: { tool: 'vc.v1.reserve.apply', scopes: ['vc:reserve'] },
  releaseMeeting: { tool: 'vc.v1.reserve.delete', scopes: ['vc:reserve'] },
  activeMeeting: { tool: 'vc.v1.reserve.getActiveMeeting', scopes: ['vc:reserve'] },
  getMeeting: { tool: 'vc.v1.meeting.get', scopes: ['vc:meeting:readonly'] },
  timeSensitive: {
    tool: 'im.v2.feedCard.patch',
    scopes: ['im:datasync.feed_card.time_sensitive:write'],
  },
} as const satisfies Record<string, { tool: string; scopes: readonly string[] }>

export type RouteName = keyof typeof SANDBOX_ROUTES

export interface Route {
  name: RouteName
  tool: string
  method: string
  path: string
  pattern: RegExp
  keys: string[]
  scopes: readonly string[]
}

/** Image upload is not among the MCP tools; its path and method per @larksuiteoapi/node-sdk (im.image.create). */
const EXTRA: Record<string, { method: string; path: string }> = {
  'im.v1.image.create': { method: 'POST', path: '/open-apis/im/v1/images' },
}

export const ROUTES: readonly Route[] = Object.entries(SANDBOX_ROUTES)
  .map(([name, def]) => {
    const official = OFFICIAL_TOOLS[def.tool] ?? EXTRA[def.tool]
    if (!official) throw new Error(`no official definition for ${def.tool}`)
    const keys: string[] = []
    const pattern = new RegExp(
      `^${official.path.replace(/:([a-z_]+)/g, (_, k: string) => {
        keys.push(k)
        return '([^/]+)'
      })}$`,
    )
    return {
      name: name as RouteName,
      tool: def.tool,
      method: official.method,
      path: official.path,
      pattern,
      keys,
      scopes: def.scopes,
    }
  })
  // Literal paths before parameterised ones: /chats/search must not match /chats/:chat_id.
  .sort((a, b) => a.keys.length - b.keys.length)

/** The route for a request and its decoded path parameters, or undefined (404). */
export function matchRoute(
  method: string,
  pathname: string,
): { route: Route; params: Record<string, string> } | undefined {
  for (const route of ROUTES) {
    if (route.method !== method) continue
    const match = route.pattern.exec(pathname)
    if (!match) continue
    const params: Record<string, string> = {}
    route.keys.forEach((k, i) => {
      params[k] = decodeURIComponent(match[i + 1] ?? '')
    })
    return { route, params }
  }
  return undefined
}
