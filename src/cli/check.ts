import { loadConfig } from '../config/config.js'
import { RECOMMENDED_SCOPES } from '../feishu/endpoints.js'
import { FeishuError } from '../feishu/errors.js'
import { errorMessage } from '../util/errors.js'
import { clientFromConfig, type Io, parse } from './common.js'

export async function check(args: string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  const { values } = parse('check', args, {})
  const config = await loadConfig(values.config, env)
  io.out(
    `config: ok${values.config ? ` (${values.config})` : ''}; ${config.routes.length} route(s), ${config.members.length} default member(s)`,
  )
  if (!config.feishu.app_id) {
    io.err(
      'credentials: none set (FEISHU_APP_ID / FEISHU_APP_SECRET); `warroom serve` would use the sandbox',
    )
    return 1
  }
  const client = clientFromConfig(config, 'check', {
    retry: { maxAttempts: 2, maxElapsedMs: 15_000 },
  })
  const problems: string[] = []
  const probe = async (what: string, fn: () => Promise<string>) => {
    try {
      const detail = await fn()
      io.out(`${what}: ok${detail ? ` (${detail})` : ''}`)
    } catch (error) {
      const message =
        error instanceof FeishuError
          ? `code ${error.code}: ${error.hint ?? error.msg}`
          : errorMessage(error)
      problems.push(`${what}: ${message}`)
      io.err(`${what}: FAILED ${message}`)
    }
  }
  try {
    let firstChat: string | undefined
    await probe('credentials (tenant_access_token)', async () => {
      await client.transport.call({
        endpoint: 'listChats',
        query: { page_size: 1 },
        idempotent: true,
      })
      return ''
    })
    // Without a token every other probe fails the same way: say it once.
    if (problems.length) {
      io.err('check failed: fix the credentials first; nothing else can be probed without them')
      return 1
    }
    const testChat = config.grafana.test_chat_id
    if (testChat)
      await probe(`grafana.test_chat_id (${testChat})`, async () => {
        const chat = await client.getChat(testChat)
        // For a chat the bot is not in, Feishu answers with the name and member count only.
        if (!('chat_mode' in chat))
          throw new Error(
            'the bot is not a member of this chat, so Grafana tests cannot be posted there: add the bot to it',
          )
        return chat.name ? `"${chat.name}"` : ''
      })
    await probe('im:chat (list the bot’s chats)', async () => {
      let count = 0
      for await (const chat of client.listChats({ pageSize: 20 })) {
        firstChat ??= chat.chat_id
        if (++count >= 20) break
      }
      return `${count}${count >= 20 ? '+' : ''} chat(s)`
    })
    await probe('contact:user.id:readonly (emails to open_ids)', async () => {
      await client.batchGetId({ emails: ['warroom-check@example.invalid'] })
      return ''
    })
    if (firstChat) {
      const chatId = firstChat
      await probe('im:message.group_msg (read chat history for timelines)', async () => {
        const it = client.listMessages(chatId, { pageSize: 1 })
        await it.next()
        await it.return(undefined)
        return ''
      })
    } else {
      io.out('im:message.group_msg: not probed (the bot is in no chat yet)')
    }
    io.out(
      `not probed without side effects (make sure they are enabled): ${RECOMMENDED_SCOPES.filter(
        (s) => !['im:chat', 'contact:user.id:readonly', 'im:message.group_msg'].includes(s.scope),
      )
        .map((s) => s.scope)
        .join(', ')}`,
    )
  } finally {
    await client.close()
  }
  if (problems.length) {
    io.err(`check failed: ${problems.length} problem(s)`)
    return 1
  }
  io.out('check passed')
  return 0
}
