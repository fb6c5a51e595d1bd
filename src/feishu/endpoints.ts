/**
 * The Feishu Open API endpoints this product uses, with the permission scopes
 * that open each one (any one of the list is enough). The client names these
 * scopes in its hints. Source: the API pages under https://open.feishu.cn/document/server-docs.
 */
export const ENDPOINTS = {
  token: {
    method: 'POST',
    path: '/open-apis/auth/v3/tenant_access_token/internal',
    scopes: [],
  },
  createChat: {
    method: 'POST',
    path: '/open-apis/im/v1/chats',
    scopes: ['im:chat', 'im:chat:create'],
  },
  getChat: {
    method: 'GET',
    path: '/open-apis/im/v1/chats/:chat_id',
    scopes: ['im:chat', 'im:chat:read', 'im:chat:readonly'],
  },
  updateChat: {
    method: 'PUT',
    path: '/open-apis/im/v1/chats/:chat_id',
    scopes: ['im:chat', 'im:chat:update'],
  },
  listChats: {
    method: 'GET',
    path: '/open-apis/im/v1/chats',
    scopes: ['im:chat', 'im:chat:readonly', 'im:chat:read', 'im:chat.group_info:readonly'],
  },
  searchChats: {
    method: 'GET',
    path: '/open-apis/im/v1/chats/search',
    scopes: ['im:chat', 'im:chat:readonly', 'im:chat:read', 'im:chat.group_info:readonly'],
  },
  addMembers: {
    method: 'POST',
    path: '/open-apis/im/v1/chats/:chat_id/members',
    scopes: ['im:chat', 'im:chat.members:write_only'],
  },
  // Only the chat's owner may set managers; ≤ 10 of them (20 in large chats). Scope UNCONFIRMED: im:chat.
  addManagers: {
    method: 'POST',
    path: '/open-apis/im/v1/chats/:chat_id/managers/add_managers',
    scopes: ['im:chat'],
  },
  deleteManagers: {
    method: 'POST',
    path: '/open-apis/im/v1/chats/:chat_id/managers/delete_managers',
    scopes: ['im:chat'],
  },
  // The chat's top notice (群置顶): a message shown above the chat to everyone.
  putTopNotice: {
    method: 'POST',
    path: '/open-apis/im/v1/chats/:chat_id/top_notice/put_top_notice',
    scopes: ['im:chat', 'im:chat.top_notice:write_only'],
  },
  listMembers: {
    method: 'GET',
    path: '/open-apis/im/v1/chats/:chat_id/members',
    scopes: ['im:chat', 'im:chat.members:read', 'im:chat:readonly'],
  },
  sendMessage: {
    method: 'POST',
    path: '/open-apis/im/v1/messages',
    scopes: ['im:message', 'im:message:send_as_bot', 'im:message:send'],
  },
  replyMessage: {
    method: 'POST',
    path: '/open-apis/im/v1/messages/:message_id/reply',
    scopes: ['im:message', 'im:message:send_as_bot', 'im:message:send'],
  },
  patchMessage: {
    method: 'PATCH',
    path: '/open-apis/im/v1/messages/:message_id',
    scopes: ['im:message', 'im:message:send_as_bot', 'im:message:update'],
  },
  listMessages: {
    method: 'GET',
    path: '/open-apis/im/v1/messages',
    scopes: ['im:message', 'im:message:readonly', 'im:message.history:readonly'],
  },
  uploadImage: {
    method: 'POST',
    path: '/open-apis/im/v1/images',
    scopes: ['im:resource', 'im:resource:upload'],
  },
  pinMessage: {
    method: 'POST',
    path: '/open-apis/im/v1/pins',
    scopes: ['im:message', 'im:message.pins:write_only', 'im:message:send_as_bot'],
  },
  /** Scope list UNVERIFIED beyond im:message (the pin API page names only the path). */
  listPins: {
    method: 'GET',
    path: '/open-apis/im/v1/pins',
    scopes: ['im:message', 'im:message.pins:read_only', 'im:message:readonly'],
  },
  urgentApp: {
    method: 'PATCH',
    path: '/open-apis/im/v1/messages/:message_id/urgent_app',
    scopes: ['im:message.urgent', 'im:message.urgent:app_send'],
  },
  urgentSms: {
    method: 'PATCH',
    path: '/open-apis/im/v1/messages/:message_id/urgent_sms',
    scopes: ['im:message.urgent', 'im:message.urgent:sms'],
  },
  urgentPhone: {
    method: 'PATCH',
    path: '/open-apis/im/v1/messages/:message_id/urgent_phone',
    scopes: ['im:message.urgent', 'im:message.urgent:phone'],
  },
  getUser: {
    method: 'GET',
    path: '/open-apis/contact/v3/users/:user_id',
    scopes: [
      'contact:user.base:readonly',
      'contact:contact.base:readonly',
      'contact:contact:readonly_as_app',
    ],
  },
  batchGetId: {
    method: 'POST',
    path: '/open-apis/contact/v3/users/batch_get_id',
    scopes: ['contact:user.id:readonly'],
  },
  // A video meeting per incident (vc:reserve): end_time ≤ 30 days ahead, owner_id required with a tenant token.
  reserveMeeting: {
    method: 'POST',
    path: '/open-apis/vc/v1/reserves/apply',
    scopes: ['vc:reserve'],
  },
  releaseMeeting: {
    method: 'DELETE',
    path: '/open-apis/vc/v1/reserves/:reserve_id',
    scopes: ['vc:reserve'],
  },
  /** Scope UNCONFIRMED beyond vc:reserve. */
  activeMeeting: {
    method: 'GET',
    path: '/open-apis/vc/v1/reserves/:reserve_id/get_active_meeting',
    scopes: ['vc:reserve'],
  },
  getMeeting: {
    method: 'GET',
    path: '/open-apis/vc/v1/meetings/:meeting_id',
    scopes: ['vc:meeting:readonly'],
  },
  // The post-mortem document: created, filled from Markdown, shared with the war room (docx, drive).
  createDocument: {
    method: 'POST',
    path: '/open-apis/docx/v1/documents',
    scopes: ['docx:document', 'docx:document:create'],
  },
  convertMarkdown: {
    method: 'POST',
    path: '/open-apis/docx/v1/documents/blocks/convert',
    scopes: ['docx:document.block:convert', 'docx:document'],
  },
  insertBlocks: {
    method: 'POST',
    path: '/open-apis/docx/v1/documents/:document_id/blocks/:block_id/descendant',
    scopes: ['docx:document', 'docx:document:write_only'],
  },
  /** Scope UNCONFIRMED beyond these. */
  shareDocument: {
    method: 'POST',
    path: '/open-apis/drive/v1/permissions/:token/members',
    scopes: ['docs:permission.member:create', 'drive:drive', 'docs:doc'],
  },
  /** A tab at the top of the chat: the post-mortem document, one click from the conversation. */
  addChatTab: {
    method: 'POST',
    path: '/open-apis/im/v1/chats/:chat_id/chat_tabs',
    scopes: ['im:chat', 'im:chat.tabs:write_only'],
  },
  /** Dissolving a war room after its review (review.dissolve_after); only the owner (the bot) may. */
  dissolveChat: {
    method: 'DELETE',
    path: '/open-apis/im/v1/chats/:chat_id',
    scopes: ['im:chat', 'im:chat:delete'],
  },
  /** A follow-up: a Feishu task with its assignee (a tenant token may create them). */
  createTask: {
    method: 'POST',
    path: '/open-apis/task/v2/tasks',
    scopes: ['task:task:write', 'task:task'],
  },
  getMessage: {
    method: 'GET',
    path: '/open-apis/im/v1/messages/:message_id',
    scopes: ['im:message', 'im:message:readonly', 'im:message.history:readonly'],
  },
  /** A reaction (an emoji) on a message: the bot's "noted" on a key moment. */
  addReaction: {
    method: 'POST',
    path: '/open-apis/im/v1/messages/:message_id/reactions',
    scopes: ['im:message', 'im:message.reactions:write_only'],
  },
  // Time-sensitive (即时提醒): the chat stays at the top of these people's chat list until cleared.
  timeSensitive: {
    method: 'PATCH',
    path: '/open-apis/im/v2/feed_cards/:feed_card_id',
    scopes: ['im:datasync.feed_card.time_sensitive:write'],
  },
} as const satisfies Record<string, { method: string; path: string; scopes: readonly string[] }>

export type EndpointName = keyof typeof ENDPOINTS

/** Reading group history needs this sensitive scope on top of the listMessages ones. */
export const GROUP_HISTORY_SCOPE = 'im:message.group_msg'

/** Every scope the product needs, one per line, for the README and `warroom check`. */
export const RECOMMENDED_SCOPES: ReadonlyArray<{ scope: string; why: string }> = [
  { scope: 'im:chat', why: 'create incident chats, read and rename them, list the bot’s chats' },
  { scope: 'im:chat.members:write_only', why: 'invite responders (covered by im:chat too)' },
  { scope: 'im:message:send_as_bot', why: 'post the alert card and follow-up messages' },
  { scope: 'im:message', why: 'update (PATCH) the card and pin it' },
  { scope: 'im:message.group_msg', why: 'read the chat history for the post-incident timeline' },
  { scope: 'im:message.group_at_msg:readonly', why: 'receive /ack and /resolve sent to the bot' },
  { scope: 'im:message.urgent', why: 'send an urgent (加急) notice for critical incidents' },
  { scope: 'im:resource', why: 'upload alert images (Grafana panel renders) to the card' },
  { scope: 'contact:user.id:readonly', why: 'turn responder emails and mobiles into open_ids' },
  { scope: 'vc:reserve', why: 'optional: a video meeting per incident (warroom.bridge, /bridge)' },
  {
    scope: 'im:datasync.feed_card.time_sensitive:write',
    why: 'optional: keep the war room at the top of paged people’s chat list until they answer',
  },
  {
    scope: 'contact:user.base:readonly',
    why: 'optional: show people’s names in the timeline instead of their ids',
  },
]

/** Replaces `:param` segments with values, URI-encoding each one. */
export function fillPath(path: string, params: Record<string, string> = {}): string {
  return path.replace(/:([a-z_]+)/g, (_, name: string) => {
    const value = params[name]
    if (value === undefined || value === '') throw new Error(`missing path parameter ${name}`)
    return encodeURIComponent(value)
  })
}
