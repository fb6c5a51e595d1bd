import { createHash, randomBytes } from 'node:crypto'

/** A person in the sandbox's directory, with every id kind Feishu has. */
export interface SandboxUser {
  open_id: string
  union_id: string
  user_id: string
  name: string
  email?: string
  mobile?: string
  status: 'active' | 'resigned'
  /** Their manager's open_id (contact's leader_user_id). */
  leader?: string
}

export interface SandboxChat {
  chat_id: string
  name: string
  description: string
  /** Owner: the creating app's id, or a user's open_id. */
  owner: { type: 'app' | 'user'; id: string }
  members: Set<string>
  bots: Set<string>
  botManagers: Set<string>
  /** The message shown at the top of the chat (put_top_notice). */
  topNotice?: string
  /** Custom tabs (chat_tabs): doc or url. */
  tabs?: Array<{
    tab_id: string
    tab_name: string
    tab_type: string
    tab_content: Record<string, string>
  }>
  /** People the owner made managers (add_managers). */
  managers?: Set<string>
  chat_type: 'private' | 'public'
  status: 'normal' | 'dissolved'
  created_at: number
  /** Every name the chat has had, oldest first, with the time of the change. */
  names: Array<{ name: string; at: number }>
  urgent_setting: 'only_owner' | 'all_members'
  at_all_permission: 'only_owner' | 'all_members'
  /** Who may edit name and description (Feishu's default: all_members). */
  edit_permission: 'only_owner' | 'all_members'
}

export interface SandboxMessage {
  message_id: string
  chat_id: string
  msg_type: string
  /** The content string exactly as sent (or as last patched). */
  content: string
  sender: { id: string; id_type: 'app_id' | 'open_id'; sender_type: 'app' | 'user' | 'system' }
  create_time: number
  update_time: number
  parent_id?: string
  root_id?: string
  /** The thread (omt_…) a reply_in_thread reply opened or joined. */
  thread_id?: string
  /** Emoji reactions on it, in order (a person's or the app's). */
  reactions?: Array<{ emoji_type: string; by: string }>
  /** How many PATCHes the message has had. */
  patches: number
  /** Each version of a card and when it was shown (state.cardHistory). */
  history?: Array<{ at: number; content: string }>
  mentions: string[]
  links: string[]
  uuid?: string
  /** A system message as Feishu's client shows it (the history leaves slots empty). */
  shown?: string
}

/** A document in the sandbox: its blocks as inserted, and who it is shared with. */
export interface SandboxDocument {
  document_id: string
  title: string
  folder_token?: string
  created_at: number
  blocks: Array<Record<string, unknown>>
  members: Array<{ member_type: string; member_id: string; perm: string }>
  clientTokens: string[]
}

export interface SandboxMeeting {
  id: string
  meeting_no: string
  url: string
  app_link: string
  password: string
  owner: string
  topic: string
  hosts: string[]
  end_time: number
  created_at: number
  /** Released (DELETE) at this time. */
  released?: number
  /** A meeting under way in the reservation (started with the sandbox's control). */
  active?: { id: string; started_at: number }
}

export interface SandboxImage {
  image_key: string
  image_type: 'message' | 'avatar'
  bytes: Buffer
  format: string
  app_id: string
}

export interface UrgentNotice {
  /** urgent_app, urgent_sms or urgent_phone. */
  kind: 'app' | 'sms' | 'phone'
  message_id: string
  user_ids: string[]
  at: number
}

let counter = 0
/** Ids that look like Feishu's: a prefix and hex. */
export function newId(prefix: string): string {
  counter = (counter + 1) % 0xffffff
  return `${prefix}${randomBytes(12).toString('hex')}${counter.toString(16).padStart(6, '0')}`
}

export const DEFAULT_USERS: Array<
  Omit<SandboxUser, 'open_id' | 'union_id' | 'user_id' | 'status'>
> = [
  { name: 'Alice Wang', email: 'alice@example.com', mobile: '+8613800000001' },
  { name: 'Bob Li', email: 'bob@example.com', mobile: '+8613800000002' },
  { name: 'Carol Zhang', email: 'carol@example.com', mobile: '+8613800000003' },
  { name: 'Dave Chen', email: 'dave@example.com', mobile: '+8613800000004' },
  { name: 'Erin Liu', email: 'erin@example.com', mobile: '+8613800000005' },
]

/** Deterministic ids for a seeded user, so demos and docs can name them. */
export function seededUser(
  seed: { name: string; email?: string; mobile?: string },
  index: number,
): SandboxUser {
  const hash = createHash('sha256')
    .update(seed.email ?? seed.name)
    .digest('hex')
  return {
    open_id: `ou_${hash.slice(0, 32)}`,
    union_id: `on_${hash.slice(32, 64)}`,
    user_id: `u${String(index + 1).padStart(4, '0')}`,
    status: 'active',
    ...seed,
  }
}

/** Everything the sandbox knows. Plain data, mutated only by the server's handlers and the test API. */
export class SandboxState {
  readonly users = new Map<string, SandboxUser>()
  readonly chats = new Map<string, SandboxChat>()
  readonly messages = new Map<string, SandboxMessage>()
  /** message_ids per chat, in creation order. */
  readonly chatMessages = new Map<string, string[]>()
  readonly pins = new Map<
    string,
    { message_id: string; chat_id: string; create_time: number; operator: string }
  >()
  readonly images = new Map<string, SandboxImage>()
  readonly urgent: UrgentNotice[] = []
  /** Standing chats a war room reports into (broadcast_chat): the page marks them. */
  readonly feeds = new Set<string>()
  /** Tasks (task v2), by guid. */
  readonly tasks = new Map<
    string,
    {
      guid: string
      summary: string
      members: Array<{ id: string; role: string }>
      due?: number
      origin?: string
      client_token: string
      created_at: number
    }
  >()
  /** Documents (docx), by document id. */
  readonly documents = new Map<string, SandboxDocument>()
  /** Reserved meetings (vc/v1/reserves), by reserve id. */
  readonly meetings = new Map<string, SandboxMeeting>()
  /** Chats marked time-sensitive (即时提醒), per chat: for whom. */
  readonly timeSensitive = new Map<string, Set<string>>()
  /** open_ids whose joining a chat waits for approval (answered as pending_approval_id_list). */
  readonly approvalRequired = new Set<string>()
  /** uuid → result, with the time it was first seen. */
  readonly chatUuids = new Map<string, { chat_id: string; at: number }>()
  readonly messageUuids = new Map<string, { message_id: string; at: number }>()

  addUser(user: Partial<SandboxUser> & { name: string }): SandboxUser {
    const full = { ...seededUser(user, this.users.size), ...user }
    this.users.set(full.open_id, full)
    return full
  }

  userBy(idType: string, id: string): SandboxUser | undefined {
    for (const u of this.users.values()) {
      if (idType === 'open_id' && u.open_id === id) return u
      if (idType === 'union_id' && u.union_id === id) return u
      if (idType === 'user_id' && u.user_id === id) return u
      if (idType === 'email' && u.email?.toLowerCase() === id.toLowerCase()) return u
      if (idType === 'mobile' && u.mobile === id) return u
    }
    return undefined
  }

  messagesIn(chatId: string): SandboxMessage[] {
    return (this.chatMessages.get(chatId) ?? []).map((id) => this.messages.get(id)!).filter(Boolean)
  }

  /** Keep every version of every card with its time (the storm benchmark's time to visible). */
  cardHistory = false

  /** A card's content now, kept with its time when cardHistory is on. */
  cardVersion(message: SandboxMessage): void {
    if (!this.cardHistory || message.msg_type !== 'interactive') return
    message.history ??= []
    message.history.push({ at: message.update_time, content: message.content })
  }

  addMessage(message: SandboxMessage): SandboxMessage {
    this.cardVersion(message)
    this.messages.set(message.message_id, message)
    const list = this.chatMessages.get(message.chat_id) ?? []
    list.push(message.message_id)
    this.chatMessages.set(message.chat_id, list)
    return message
  }

  /**
   * A system message as Feishu's history answers it: its own template, and
   * only from_user, to_chatters and divider_text filled (slots such as
   * {old_group_name} never are). `shown` is what Feishu's client displays,
   * for the /sandbox page only.
   */
  addSystemMessage(
    chatId: string,
    at: number,
    template: string,
    people: { from_user?: string[]; to_chatters?: string[] },
    shown?: string,
  ): SandboxMessage {
    return this.addMessage({
      message_id: newId('om_'),
      chat_id: chatId,
      msg_type: 'system',
      content: JSON.stringify({
        template,
        from_user: people.from_user ?? [],
        to_chatters: people.to_chatters ?? [],
        divider_text: { text: '', i18n_text: {} },
      }),
      sender: { id: '', id_type: 'app_id', sender_type: 'system' },
      create_time: at,
      update_time: at,
      patches: 0,
      mentions: [],
      links: [],
      ...(shown ? { shown } : {}),
    })
  }

  userName(openId: string): string {
    return this.users.get(openId)?.name ?? openId
  }

  /** A JSON-friendly snapshot of everything, for tests, the /sandbox page and `--dump`. */
  dump() {
    return {
      users: [...this.users.values()],
      chats: [...this.chats.values()].map((c) => ({
        chat_id: c.chat_id,
        name: c.name,
        description: c.description,
        owner: c.owner,
        members: [...c.members],
        bots: [...c.bots],
        bot_managers: [...c.botManagers],
        managers: [...(c.managers ?? [])],
        ...(c.topNotice ? { top_notice: c.topNotice } : {}),
        ...(c.tabs ? { tabs: c.tabs } : {}),
        chat_type: c.chat_type,
        status: c.status,
        edit_permission: c.edit_permission,
        created_at: c.created_at,
        names: c.names,
        pinned: [...this.pins.values()]
          .filter((p) => p.chat_id === c.chat_id)
          .map((p) => p.message_id),
        messages: this.messagesIn(c.chat_id).map((m) => m.message_id),
      })),
      messages: [...this.messages.values()].map((m) => ({
        ...m,
        content: safeParse(m.content),
      })),
      pins: [...this.pins.values()],
      images: [...this.images.values()].map((i) => ({
        image_key: i.image_key,
        image_type: i.image_type,
        format: i.format,
        size: i.bytes.length,
        sha256: createHash('sha256').update(i.bytes).digest('hex'),
      })),
      urgent: this.urgent,
      feeds: [...this.feeds],
      meetings: [...this.meetings.values()],
      documents: [...this.documents.values()],
      tasks: [...this.tasks.values()],
      time_sensitive: Object.fromEntries(
        [...this.timeSensitive].map(([chat, people]) => [chat, [...people]]),
      ),
    }
  }
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}
