import { readFile } from 'node:fs/promises'
import { loadConfig } from '../config/config.js'
import { resultJson } from '../core/result-json.js'
import { intake } from '../intake/intake.js'
import type { Incident } from '../model/incident.js'
import { errorMessage } from '../util/errors.js'
import { type Io, parse, UsageError, warRoomFromConfig } from './common.js'

export async function notify(args: string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  const { values } = parse('notify', args, {
    file: { type: 'string' },
    label: { type: 'string', multiple: true },
    key: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'string' },
    severity: { type: 'string' },
    summary: { type: 'string' },
    source: { type: 'string' },
    member: { type: 'string', multiple: true },
    link: { type: 'string', multiple: true },
    field: { type: 'string', multiple: true },
    'data-dir': { type: 'string' },
    stateless: { type: 'boolean' },
  })
  const config = await loadConfig(values.config, env)
  let input: unknown
  if (values.file) {
    const text =
      values.file === '-'
        ? await readStdin()
        : await readFile(values.file, 'utf8').catch((e: NodeJS.ErrnoException) => {
            throw new UsageError(`cannot read ${values.file}: ${e.code ?? e.message}`)
          })
    try {
      input = JSON.parse(text)
    } catch (error) {
      throw new UsageError(`${values.file} is not valid JSON: ${errorMessage(error)}`)
    }
  } else {
    const pairs = (list: string[] | undefined, what: string) =>
      (list ?? []).map((p) => {
        const i = p.indexOf('=')
        if (i < 1) throw new UsageError(`--${what} takes NAME=VALUE, got "${p}"`)
        return [p.slice(0, i), p.slice(i + 1)] as const
      })
    input = {
      key: values.key,
      title: values.title,
      ...(values.status ? { status: values.status } : {}),
      ...(values.severity ? { severity: values.severity } : {}),
      ...(values.summary ? { summary: values.summary } : {}),
      ...(values.source ? { source: values.source } : {}),
      members: values.member ?? [],
      labels: Object.fromEntries(pairs(values.label, 'label')),
      links: pairs(values.link, 'link').map(([label, url]) => ({ label, url })),
      fields: pairs(values.field, 'field').map(([name, value]) => ({ name, value })),
    }
  }
  const { incident } = intake('generic', input, config, undefined, true) as { incident: Incident }
  const { client, warroom } = await warRoomFromConfig(config, 'notify', {
    dataDir: values['data-dir'],
    stateless: values.stateless,
    env,
  })
  try {
    // Through the same intake as `warroom serve`: the routes add members and severity.
    const result = await warroom.handle(incident)
    io.out(JSON.stringify(resultJson(result)))
    if (result.action === 'resolved' && result.chatId) {
      // Every resolution ends with the review summary in the chat, whoever reported it.
      const { warning } = await warroom.summarize({ chatId: result.chatId })
      if (warning) io.err(`warroom notify: ${warning}`)
    }
    if (result.empty) {
      // Exit 0 would tell a script the right people were told: nobody was.
      const failed = result.failedMembers.map((f) => `${f.id} (${f.reason})`).join('; ')
      io.err(
        `warroom notify: the war room ${result.chatUrl ?? result.chatId} opened with nobody in it: ${
          failed
            ? `could not invite ${failed}`
            : 'no --member, and no route or member in the config'
        }. Add people with --member (an email, mobile, open_id or user_id) or config routes.`,
      )
      return 3
    }
    return 0
  } finally {
    await client.close()
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}
