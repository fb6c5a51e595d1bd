/** Shapes of the Feishu objects this product reads. Only the fields we use are typed. */

export type UserIdType = 'open_id' | 'union_id' | 'user_id'
export type ReceiveIdType = UserIdType | 'email' | 'chat_id'
export type MsgType = 'text' | 'post' | 'image' | 'interactive' | 'share_chat' | 'file'

export interface ChatSummary {
  chat_id: string
  name?: string
  description?: string
  avatar?: string
  owner_id?: string
  owner_id_type?: string
  external?: boolean
  tenant_key?: string
  chat_status?: 'normal' | 'dissolved' | 'dissolved_save'
}

export interface ChatInfo {
  chat_id?: string
  name?: string
  description?: string
  owner_id?: string
  owner_id_type?: string
  user_manager_id_list?: string[]
  bot_manager_id_list?: string[]
  chat_mode?: string
  chat_type?: string
  user_count?: string
  bot_count?: string
  chat_status?: 'normal' | 'dissolved' | 'dissolved_save'
  urgent_setting?: string
  at_all_permission?: string
}

export interface CreateChatBody {
  name?: string
  description?: string
  owner_id?: string
  user_id_list?: string[]
  bot_id_list?: string[]
  chat_mode?: 'group'
  chat_type?: 'private' | 'public'
  avatar?: string
  i18n_names?: { zh_cn?: string; en_us?: string; ja_jp?: string }
  urgent_setting?: 'only_owner' | 'all_members'
  edit_permission?: 'only_owner' | 'all_members'
  [key: string]: unknown
}

export interface UpdateChatBody {
  name?: string
  description?: string
  i18n_names?: { zh_cn?: string; en_us?: string; ja_jp?: string }
  [key: string]: unknown
}

export interface AddMembersResult {
  /** Resigned, invisible or not-activated ids that were skipped. */
  invalid_id_list: string[]
  /** Ids that do not exist. */
  not_existed_id_list: string[]
  /** Waiting for an owner's approval. */
  pending_approval_id_list: string[]
}

export interface Message {
  message_id: string
  root_id?: string
  parent_id?: string
  thread_id?: string
  msg_type: string
  create_time: string
  update_time?: string
  deleted?: boolean
  updated?: boolean
  chat_id: string
  sender: { id: string; id_type: string; sender_type: string; tenant_key?: string }
  body: { content: string }
  mentions?: Array<{ key: string; id: string; id_type: string; name: string; tenant_key?: string }>
  upper_message_id?: string
}

export interface Pin {
  message_id: string
  chat_id: string
  operator_id: string
  operator_id_type: string
  create_time: string
}

export interface BatchGetIdUser {
  user_id?: string
  email?: string
  mobile?: string
  status?: Record<string, boolean>
}

/** One page of a paged list answer. */
export interface Page<T> {
  items?: T[]
  has_more?: boolean
  page_token?: string
}
