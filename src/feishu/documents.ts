import { DOMAINS } from './domain.js'
import type { FeishuTransport } from './transport.js'

/**
 * Feishu documents for the post-mortem (docx v1, drive v1 permissions):
 * create one, fill it from Markdown (Feishu converts it to blocks), share it
 * with a chat. Documented at open.feishu.cn under server-docs/docs/docs/docx-v1
 * and drive-v1/permission-member.
 */
export class DocumentsApi {
  constructor(private readonly transport: FeishuTransport) {}

  /** A new document in the app's space (or `folderToken`): its id. Not retried after a maybe-sent failure. */
  async create(title: string, folderToken?: string): Promise<string> {
    const data = await this.transport.call<{ document: { document_id: string } }>({
      endpoint: 'createDocument',
      body: { title: title.slice(0, 800), ...(folderToken ? { folder_token: folderToken } : {}) },
      idempotent: false,
    })
    return data.document.document_id
  }

  /** Markdown converted to blocks and appended to the document; `clientToken` makes a retry harmless. */
  async write(documentId: string, markdown: string, clientToken: string): Promise<number> {
    const converted = await this.transport.call<{
      first_level_block_ids?: string[]
      blocks?: Array<Record<string, unknown>>
    }>({
      endpoint: 'convertMarkdown',
      body: { content_type: 'markdown', content: markdown },
      idempotent: true,
    })
    const children = converted.first_level_block_ids ?? []
    // Table cells come back with merge information Feishu refuses on insert (its docs say to drop it).
    const blocks = (converted.blocks ?? []).map((b) => {
      const table = b.table as { property?: Record<string, unknown> } | undefined
      if (table?.property) delete table.property.merge_info
      return b
    })
    if (!children.length) return 0
    await this.transport.call({
      endpoint: 'insertBlocks',
      params: { document_id: documentId, block_id: documentId },
      query: { document_revision_id: -1, client_token: clientToken },
      body: { children_id: children, index: 0, descendants: blocks },
      idempotent: true,
    })
    return blocks.length
  }

  /** Everyone in the chat may edit the document (it is theirs to fill in). */
  async shareWithChat(documentId: string, chatId: string): Promise<void> {
    await this.transport.call({
      endpoint: 'shareDocument',
      params: { token: documentId },
      query: { type: 'docx', need_notification: false },
      body: { member_type: 'openchat', member_id: chatId, perm: 'edit' },
      idempotent: true,
    })
  }

  /** A tab at the top of the chat opening the document (name ≤ 30 characters, its API page). */
  async addChatTab(chatId: string, name: string, url: string): Promise<string | undefined> {
    const data = await this.transport.call<{
      chat_tabs?: Array<{ tab_id?: string; tab_name?: string }>
    }>({
      endpoint: 'addChatTab',
      params: { chat_id: chatId },
      body: {
        chat_tabs: [{ tab_name: name.slice(0, 30), tab_type: 'doc', tab_content: { doc: url } }],
      },
      // Not idempotent on Feishu's side (a second call adds a second tab): the record says it was added.
      idempotent: false,
    })
    return data.chat_tabs?.find((t) => t.tab_name === name.slice(0, 30))?.tab_id
  }

  /** A task assigned to `assignee`, linked back to the war room; `clientToken` makes a retry the same task. */
  async createTask(args: {
    summary: string
    assignee: string
    due?: number
    origin: { name: string; url: string; title: string }
    clientToken: string
  }): Promise<{ guid: string; url?: string }> {
    const data = await this.transport.call<{ task: { guid: string; url?: string } }>({
      endpoint: 'createTask',
      query: { user_id_type: 'open_id' },
      body: {
        summary: args.summary.slice(0, 3000),
        members: [{ id: args.assignee, type: 'user', role: 'assignee' }],
        ...(args.due ? { due: { timestamp: String(args.due), is_all_day: false } } : {}),
        origin: {
          platform_i18n_name: { zh_cn: args.origin.name, en_us: args.origin.name },
          href: { url: args.origin.url, title: args.origin.title.slice(0, 512) },
        },
        client_token: args.clientToken,
      },
      idempotent: true,
    })
    return data.task
  }

  /** Dissolves a chat the app owns (the review's last step, review.dissolve_after). */
  async dissolveChat(chatId: string): Promise<void> {
    await this.transport.call({
      endpoint: 'dissolveChat',
      params: { chat_id: chatId },
      idempotent: true,
    })
  }

  /** Where people open it: Feishu's or Lark's web, or the private deployment's own. */
  url(documentId: string): string {
    const base = this.transport.baseUrl
    const web =
      base === DOMAINS.feishu.api
        ? 'https://www.feishu.cn'
        : base === DOMAINS.lark.api
          ? 'https://www.larksuite.com'
          : base
    return `${web}/docx/${encodeURIComponent(documentId)}`
  }
}
