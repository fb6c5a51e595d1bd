import { readFile } from 'node:fs/promises'
import { type Config, loadConfig } from '../config/config.js'
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
    change: { type: 'boolean' },
    receiver: { type: 'string' },
  })
  const config = await loadConfig(values.config, env)
  if (values.change) return recordChange(values, config, env, io)
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
    const pairs = pairsOf
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

/** `notify --change`: a change for the cards of incidents that open after it (here, or at a receiver). */
async function recordChange(
  values: {
    title?: string | undefined
    label?: string[] | undefined
    link?: string[] | undefined
    source?: string | undefined
    receiver?: string | undefined
    'data-dir'?: string | undefined
    stateless?: boolean | undefined
  },
  config: Config,
  env: NodeJS.ProcessEnv,
  io: Io,
): Promise<number> {
  if (!values.title)
    throw new UsageError('--change needs --title: what changed (e.g. "Deployed checkout v42")')
  const labels = Object.fromEntries(pairsOf(values.label, 'label'))
  const links = pairsOf(values.link, 'link').map(([label, url]) => ({ label, url }))
  for (const l of links)
    if (!/^https?:\/\//.test(l.url))
      throw new UsageError(`--link ${l.label}: "${l.url}" is not an http(s) URL`)
  const change = {
    at: Date.now(),
    summary: values.title,
    ...(values.source ? { source: values.source } : {}),
    labels,
    links,
  }
  if (values.receiver) {
    const token = env.WARROOM_WEBHOOK_TOKEN ?? config.auth.bearer_token ?? ''
    const res = await fetch(`${values.receiver.replace(/\/+$/, '')}/v2/change/enqueue`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        routing_key: token,
        payload: {
          summary: change.summary,
          timestamp: new Date(change.at).toISOString(),
          ...(values.source ? { source: values.source } : {}),
          custom_details: labels,
        },
        links: links.map((l) => ({ href: l.url, text: l.label })),
      }),
    }).catch((error: Error) => {
      throw new UsageError(`cannot reach the receiver ${values.receiver}: ${error.message}`)
    })
    const answer = await res.text()
    if (res.status !== 202) {
      io.err(
        `warroom notify: the receiver refused the change: HTTP ${res.status} ${answer.slice(0, 300)}`,
      )
      return 1
    }
    io.out(JSON.stringify({ action: 'recorded', at: values.receiver }))
    return 0
  }
  const { client, warroom } = await warRoomFromConfig(config, 'notify', {
    dataDir: values['data-dir'],
    stateless: values.stateless,
    env,
  })
  try {
    await warroom.changes().add(change)
    io.out(JSON.stringify({ action: 'recorded' }))
    return 0
  } finally {
    await client.close()
  }
}

function pairsOf(list: string[] | undefined, what: string) {
  return (list ?? []).map((p) => {
    const i = p.indexOf('=')
    if (i < 1) throw new UsageError(`--${what} takes NAME=VALUE, got "${p}"`)
    return [p.slice(0, i), p.slice(i + 1)] as const
  })
}
