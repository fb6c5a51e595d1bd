import { ApiError, type Handler, parseJson } from '../common.js'
import type { SandboxCore } from '../core.js'
import type { RouteName } from '../routes.js'
import { newId } from '../state.js'

const HEADINGS: Record<number, number> = { 1: 3, 2: 4, 3: 5 }

/** Markdown → docx blocks, the subset a post-mortem uses: headings, bullets, paragraphs. */
function convert(markdown: string) {
  const blocks: Array<Record<string, unknown>> = []
  for (const raw of markdown.split('\n')) {
    const line = raw.trimEnd()
    if (!line.trim()) continue
    const heading = /^(#{1,3}) (.*)$/.exec(line)
    const bullet = /^[-*] (.*)$/.exec(line)
    const text = heading ? heading[2]! : bullet ? bullet[1]! : line
    const elements = [{ text_run: { content: text } }]
    const block_id = `tmp_${blocks.length + 1}`
    if (heading) {
      const type = HEADINGS[heading[1]!.length]!
      blocks.push({ block_id, block_type: type, [`heading${heading[1]!.length}`]: { elements } })
    } else if (bullet) blocks.push({ block_id, block_type: 12, bullet: { elements } })
    else blocks.push({ block_id, block_type: 2, text: { elements } })
  }
  return blocks
}

/**
 * Documents (docx v1) and their sharing (drive v1 permission members), as
 * their API pages describe them; the Markdown conversion covers headings,
 * bullets and paragraphs (Feishu's covers all of Markdown).
 */
export function documentHandlers(sb: SandboxCore): Partial<Record<RouteName, Handler>> {
  const docs = sb.state.documents
  const docFor = (id: string) => {
    const d = docs.get(id)
    if (!d) throw new ApiError(404, 1770002, 'document not found')
    return d
  }
  return {
    createDocument: ({ body }) => {
      sb.limitDocuments('create')
      const input = parseJson(body) as { title?: unknown; folder_token?: unknown }
      const title = typeof input.title === 'string' ? input.title : ''
      if (title.length > 800) throw new ApiError(400, 1770001, 'invalid param: title')
      const document_id = newId('doxcn')
      docs.set(document_id, {
        document_id,
        title,
        ...(typeof input.folder_token === 'string' && input.folder_token
          ? { folder_token: input.folder_token }
          : {}),
        created_at: sb.now(),
        blocks: [],
        members: [],
        clientTokens: [],
      })
      return { document: { document_id, revision_id: 1, title } }
    },

    convertMarkdown: ({ body }) => {
      const input = parseJson(body) as { content_type?: unknown; content?: unknown }
      if (input.content_type !== 'markdown' || typeof input.content !== 'string')
        throw new ApiError(400, 1770001, 'invalid param: content_type, content')
      const blocks = convert(input.content)
      return {
        first_level_block_ids: blocks.map((b) => b.block_id),
        blocks,
        block_id_to_image_urls: [],
      }
    },

    insertBlocks: ({ params, url, body }) => {
      const doc = docFor(params.document_id!)
      sb.limitDocuments(`edit:${doc.document_id}`)
      if (params.block_id !== doc.document_id)
        throw new ApiError(
          400,
          1770001,
          'invalid param: block_id (the page block is the document id)',
        )
      const token = url.searchParams.get('client_token') ?? ''
      const input = parseJson(body) as { children_id?: unknown; descendants?: unknown }
      const children = Array.isArray(input.children_id) ? (input.children_id as string[]) : []
      const descendants = Array.isArray(input.descendants)
        ? (input.descendants as Array<Record<string, unknown>>)
        : []
      if (!children.length || children.some((id) => !descendants.some((d) => d.block_id === id)))
        throw new ApiError(400, 1770001, 'invalid param: every children_id must be a descendant')
      if (descendants.length > 1000)
        throw new ApiError(400, 1770001, 'too many blocks (1000 at most)')
      // The same client_token again: the insert already happened.
      if (!token || !doc.clientTokens.includes(token)) {
        doc.blocks.push(...descendants.map((d) => ({ ...d, block_id: newId('doxcn') })))
        if (token) doc.clientTokens.push(token)
      }
      return {
        children: doc.blocks.slice(-descendants.length),
        document_revision_id: doc.blocks.length + 1,
      }
    },

    // Only the owner dissolves a chat; the bot is the owner of the chats it created. Code UNCONFIRMED.
    dissolveChat: ({ params }) => {
      const chat = sb.chatFor(params.chat_id!, true)
      if (chat.owner.type !== 'app' || chat.owner.id !== sb.appId)
        throw new ApiError(400, 232014, 'only the chat owner may dissolve it')
      chat.status = 'dissolved'
      chat.members.clear()
      return {}
    },

    // Tasks (task v2): a client_token seen before answers the task it made.
    createTask: ({ url, body }) => {
      const input = parseJson(body) as {
        summary?: unknown
        members?: Array<{ id?: string; role?: string }>
        due?: { timestamp?: string }
        origin?: { href?: { url?: string } }
        client_token?: string
      }
      if (typeof input.summary !== 'string' || !input.summary)
        throw new ApiError(400, 1470400, 'summary is required')
      const idType = url.searchParams.get('user_id_type') ?? 'open_id'
      const members = (input.members ?? []).map((m) => {
        const user = m.id ? sb.state.userBy(idType, m.id) : undefined
        if (!user) throw new ApiError(400, 1470400, `member ${m.id} is not a user`)
        return { id: user.open_id, role: m.role ?? 'assignee' }
      })
      const token = input.client_token ?? ''
      const seen = token
        ? [...sb.state.tasks.values()].find((t) => t.client_token === token)
        : undefined
      const task = seen ?? {
        guid: newId('t'),
        summary: input.summary,
        members,
        ...(input.due?.timestamp ? { due: Number(input.due.timestamp) } : {}),
        ...(input.origin?.href?.url ? { origin: input.origin.href.url } : {}),
        client_token: token,
        created_at: sb.now(),
      }
      sb.state.tasks.set(task.guid, task)
      return {
        task: {
          guid: task.guid,
          summary: task.summary,
          url: `https://applink.feishu.cn/client/todo/detail?guid=${task.guid}`,
        },
      }
    },

    shareDocument: ({ params, url, body }) => {
      if (url.searchParams.get('type') !== 'docx')
        throw new ApiError(400, 1063001, 'invalid param: type must match the token (docx)')
      const doc = docFor(params.token!)
      const input = parseJson(body) as {
        member_type?: unknown
        member_id?: unknown
        perm?: unknown
      }
      if (input.member_type === 'openchat') sb.chatFor(String(input.member_id ?? ''), true)
      const member = {
        member_type: String(input.member_type ?? ''),
        member_id: String(input.member_id ?? ''),
        perm: String(input.perm ?? 'view'),
      }
      doc.members = [...doc.members.filter((m) => m.member_id !== member.member_id), member]
      return { member }
    },
  }
}
