import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { type Config, ConfigError, loadConfig } from '../config.js'
import { FeishuClient } from '../feishu/client.js'
import { RECOMMENDED_SCOPES } from '../feishu/endpoints.js'
import { FeishuError } from '../feishu/errors.js'
import { httpImageFetcher } from '../images.js'
import { IncidentError, parseIncident } from '../incident.js'
import { jsonLogger, type Logger } from '../log.js'
import { Metrics } from '../metrics.js'
import { Receiver } from '../receiver/server.js'
import { resultJson } from '../result-json.js'
import { routeIncident } from '../routing.js'
import { withDemoRouting } from '../sandbox/demo.js'
import { type FeishuSandbox, startSandbox } from '../sandbox/server.js'
import { sandboxUi } from '../sandbox/ui.js'
import { FileStore, type IncidentStore, MemoryStore } from '../store.js'
import { WarRoom, type WarRoomConfig } from '../warroom.js'

const USAGE = `Usage: warroom <command> [options]     (from a checkout: npx warroom …)

Commands:
  serve     Run the receiver (Alertmanager, Grafana, generic webhooks, Feishu events).
            Without Feishu credentials it runs against the built-in sandbox.
  notify    Open, update or resolve an incident from flags or a JSON file.
  check     Check the config, the Feishu credentials and permissions.
  timeline  Print an incident chat's timeline.

Run warroom <command> --help for its options.
Environment: FEISHU_APP_ID FEISHU_APP_SECRET FEISHU_DOMAIN FEISHU_ENCRYPT_KEY
             FEISHU_VERIFICATION_TOKEN WARROOM_WEBHOOK_TOKEN WARROOM_DATA_DIR PORT`

/** Each command's own help, printed by `warroom <command> --help`. */
export const HELP: Record<string, string> = {
  serve: `Usage: warroom serve [--config FILE] [--host HOST] [--port PORT]

Runs the receiver: POST /alertmanager, /grafana, /incidents; Feishu events at /feishu/events.
Without Feishu credentials it runs against the built-in sandbox (page at /sandbox).

  --config FILE   YAML config (see README); secrets may come from the environment
  --host HOST     address to listen on (default: server.host, 0.0.0.0)
  --port PORT     port (default: the PORT environment variable, then server.port, 8080)
  --help          show this help`,
  notify: `Usage: warroom notify --file FILE|-  [--config FILE] [--data-dir DIR]
       warroom notify --key K --title T [--status firing|resolved] [--severity S]
                      [--summary S] [--member ID]... [--label NAME=VALUE]...
                      [--link LABEL=URL]... [--field NAME=VALUE]... [--config FILE]

Opens, updates or resolves one incident and prints the result as JSON. The routes of
--config apply to its labels, as in warroom serve. A resolution keeps what the incident had.
Exit code: 0 done, 1 Feishu refused, 2 bad input.

  --data-dir DIR  where incidents are remembered between runs (default
                  $XDG_STATE_HOME/feishu-warroom/notify); a key not found there is looked up in Feishu
  --stateless     remember nothing locally: find the chat in Feishu by its marker (CI runners)
  --help          show this help`,
  check: `Usage: warroom check [--config FILE]

Checks the config, the Feishu credentials, the permissions that can be probed without side
effects, and grafana.test_chat_id. Exit code 0 when everything works, 1 otherwise.

  --help          show this help`,
  timeline: `Usage: warroom timeline <chat-id> [--json] [--config FILE] [--data-dir DIR]

Prints an incident chat's timeline (every message merged with the incident's events and the
key figures) as Markdown, or JSON with --json.

  --help          show this help`,
}

export interface Io {
  out: (text: string) => void
  err: (text: string) => void
  /** Resolves when the process should stop (SIGTERM / SIGINT). */
  stopSignal?: Promise<void>
  /** Called once the receiver listens (tests read the URL from it). */
  onListening?: (info: { url: string; sandboxUrl?: string }) => void
}

const defaultIo = (): Io => ({
  out: (t) => process.stdout.write(`${t}\n`),
  err: (t) => process.stderr.write(`${t}\n`),
  stopSignal: new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve())
    process.once('SIGINT', () => resolve())
  }),
})

/** Runs a command; returns the exit code (0 ok, 1 failure, 2 bad usage or input). */
export async function main(
  argv: string[],
  env: NodeJS.ProcessEnv,
  io: Io = defaultIo(),
): Promise<number> {
  const [command, ...rest] = argv
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    io.out(USAGE)
    return command ? 0 : 2
  }
  try {
    switch (command) {
      case 'serve':
        return await serve(rest, env, io)
      case 'notify':
        return await notify(rest, env, io)
      case 'check':
        return await check(rest, env, io)
      case 'timeline':
        return await timeline(rest, env, io)
      default:
        io.err(`Unknown command "${command}".\n\n${USAGE}`)
        return 2
    }
  } catch (error) {
    if (error instanceof HelpRequested) {
      io.out(HELP[command] ?? USAGE)
      return 0
    }
    if (
      error instanceof ConfigError ||
      error instanceof IncidentError ||
      error instanceof UsageError
    ) {
      io.err(`warroom ${command}: ${error.message}`)
      return 2
    }
    if (error instanceof FeishuError) {
      io.err(`warroom ${command}: ${error.message}`)
      return 1
    }
    io.err(`warroom ${command}: ${(error as Error).stack ?? String(error)}`)
    return 1
  }
}

class UsageError extends Error {}

/** Asked for a command's help: printed, exit 0. */
class HelpRequested extends Error {}

function parse<
  T extends Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>,
>(command: string, args: string[], options: T) {
  // Before parsing: --help works whatever else is on the line, even an unknown option.
  if (args.includes('--help') || args.includes('-h')) throw new HelpRequested(command)
  try {
    return parseArgs({
      args,
      options: { config: { type: 'string' }, ...options },
      allowPositionals: true,
      strict: true,
    })
  } catch (error) {
    throw new UsageError(`${(error as Error).message} (see warroom ${command} --help)`)
  }
}

/** A client for the configured app; commands other than serve need real credentials. */
function clientFromConfig(
  config: Config,
  command: string,
  options: { retry?: { maxAttempts: number; maxElapsedMs: number } } = {},
) {
  if (!config.feishu.app_id)
    throw new UsageError(
      `${command} needs Feishu credentials: set FEISHU_APP_ID and FEISHU_APP_SECRET (or feishu.app_id in --config)`,
    )
  return new FeishuClient({
    appId: config.feishu.app_id,
    appSecret: config.feishu.app_secret!,
    domain: config.feishu.domain,
    ...(options.retry ? { retry: options.retry } : {}),
  })
}

/**
 * Where notify and timeline remember incidents between runs on one machine, so
 * that a bare `--status resolved` keeps the card the incident had. Elsewhere
 * (a CI runner) the chat is found in Feishu by its marker.
 */
export function notifyStateDir(env: NodeJS.ProcessEnv): string | undefined {
  const base = env.XDG_STATE_HOME || (env.HOME && join(env.HOME, '.local', 'state'))
  // No home of its own (a bare CI container): remember nothing rather than share /tmp.
  return base ? join(base, 'feishu-warroom', 'notify') : undefined
}

/** notify and timeline: the configured app, and the local state as a cache. */
async function warRoomFromConfig(
  config: Config,
  command: string,
  options: {
    dataDir?: string | undefined
    stateless?: boolean | undefined
    env: NodeJS.ProcessEnv
  },
) {
  const client = clientFromConfig(config, command)
  const dir = options.stateless ? undefined : (options.dataDir ?? notifyStateDir(options.env))
  const store = dir ? await FileStore.open(dir) : undefined
  const warroom = new WarRoom({
    client,
    ...(store ? { store, storeIsCache: true } : {}),
    config: warRoomConfig(config),
  })
  return { client, warroom }
}

export function warRoomConfig(config: Config): Partial<WarRoomConfig> {
  return {
    language: config.warroom.language,
    timeZone: config.warroom.time_zone,
    resolvedPrefix: config.warroom.resolved_prefix,
    chatNameTemplate: config.warroom.chat_name_template,
    reopenWindowMs: config.warroom.reopen_window,
    maxItems: config.warroom.max_items,
    urgentOnCritical: config.warroom.urgent_on_critical,
  }
}

// ------------------------------------------------------------------- serve

async function serve(args: string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  const { values } = parse('serve', args, { host: { type: 'string' }, port: { type: 'string' } })
  let config = await loadConfig(values.config, env)
  const host = values.host ?? config.server.host
  // A platform's PORT (containers, PaaS) wins over the config file; --port over both.
  const portText = values.port ?? env.PORT
  const port = portText !== undefined ? Number(portText) : config.server.port
  if (!/^\d+$/.test(portText ?? String(port)) || port > 65535)
    throw new UsageError(
      `${values.port !== undefined ? '--port' : 'PORT'} must be a port number 0-65535, got "${portText}"`,
    )
  const logger = jsonLogger((line) => io.err(line.trimEnd()))
  const metrics = new Metrics()

  let sandbox: FeishuSandbox | undefined
  let sandboxDir: string | undefined
  let demoRouting = false
  if (!config.feishu.app_id) {
    sandbox = await startSandbox({ host: '127.0.0.1', port: 0 })
    // Sandbox chats live in memory; their timelines go to a temporary folder, not the working tree.
    sandboxDir = await mkdtemp(join(tmpdir(), 'feishu-warroom-sandbox-'))
    config = { ...config, server: { ...config.server, data_dir: sandboxDir } }
    const demo = withDemoRouting(config)
    config = demo.config
    demoRouting = demo.applied
  }
  const client = new FeishuClient({
    appId: sandbox?.appId ?? config.feishu.app_id!,
    appSecret: sandbox?.appSecret ?? config.feishu.app_secret!,
    domain: sandbox?.url ?? config.feishu.domain,
    logger,
    onCall: metrics.onFeishuCall,
    // Stay well inside Alertmanager's notification timeout.
    retry: { maxElapsedMs: 20_000 },
  })
  // The sandbox forgets everything on exit, so its incidents are not written to disk.
  const store: IncidentStore = sandbox
    ? new MemoryStore()
    : await FileStore.open(config.server.data_dir)
  const open = new Map<string, boolean>()
  for (const r of await store.list()) open.set(r.keyHash, r.status === 'open')
  const countOpen = () => metrics.openIncidents.set([...open.values()].filter(Boolean).length)
  countOpen()
  const warroom = new WarRoom({
    client,
    store,
    logger,
    config: warRoomConfig(config),
    fetchImage: httpImageFetcher(),
    onRecord: (r) => {
      open.set(r.keyHash, r.status === 'open')
      countOpen()
    },
  })
  const receiver = new Receiver({
    config,
    warroom,
    logger,
    metrics,
    ...(sandbox ? { extra: sandboxUi(sandbox) } : {}),
  })
  const url = await receiver.listen(host, port)
  if (sandbox) {
    sandbox.events = {
      url: `${url}/feishu/events`,
      ...(config.feishu.encrypt_key ? { encryptKey: config.feishu.encrypt_key } : {}),
      ...(config.feishu.verification_token
        ? { verificationToken: config.feishu.verification_token }
        : {}),
    }
    io.out(
      [
        '',
        '  feishu-warroom is running against the BUILT-IN FEISHU SANDBOX: no Feishu credentials were given',
        '  (set FEISHU_APP_ID and FEISHU_APP_SECRET, or feishu.app_id in --config, to use real Feishu).',
        '  Nothing is sent to Feishu; chats and cards live in memory until you stop the process.',
        '',
        `  Watch the sandbox:   ${url}/sandbox`,
        `  Alertmanager hook:   ${url}/alertmanager     Grafana hook: ${url}/grafana`,
        `  Generic incidents:   ${url}/incidents        Metrics: ${url}/metrics`,
        `  Sandbox Feishu API:  ${sandbox.url} (state: ${sandbox.url}/_sandbox/state)`,
        `  Timelines:           ${sandboxDir} (removed when you stop)`,
        ...(demoRouting
          ? [
              '  Who is invited:      your config names nobody, so the demo routing applies:',
              '                       team=payments → Alice Wang, Bob Li; every incident → Carol Zhang',
            ]
          : []),
        `  Sandbox users:       ${[...sandbox.state.users.values()].map((u) => `${u.name} <${u.email}>`).join(', ')}`,
        '',
      ].join('\n'),
    )
  } else {
    io.out(`feishu-warroom receiver listening on ${url} (Feishu ${config.feishu.domain})`)
  }
  if (!config.auth.bearer_token && !config.auth.basic)
    logger.warn(
      'webhook endpoints accept requests without authentication: set auth.bearer_token or WARROOM_WEBHOOK_TOKEN',
    )
  if (!config.feishu.encrypt_key && !config.feishu.verification_token)
    logger.warn(
      'Feishu events are not verified: set feishu.encrypt_key (FEISHU_ENCRYPT_KEY) or feishu.verification_token',
    )
  io.onListening?.({ url, ...(sandbox ? { sandboxUrl: sandbox.url } : {}) })

  await (io.stopSignal ?? new Promise<void>(() => {}))
  logger.info('shutting down: finishing in-flight work')
  await receiver.close()
  await client.close()
  await sandbox?.close()
  if (sandboxDir) await rm(sandboxDir, { recursive: true, force: true })
  logger.info('stopped')
  return 0
}

// ------------------------------------------------------------------ notify

async function notify(args: string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
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
      throw new UsageError(`${values.file} is not valid JSON: ${(error as Error).message}`)
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
  const incident = parseIncident(input)
  const { client, warroom } = await warRoomFromConfig(config, 'notify', {
    dataDir: values['data-dir'],
    stateless: values.stateless,
    env,
  })
  try {
    // The same routes as `warroom serve`: members and severity from the labels.
    const result = await warroom.handle(routeIncident(incident, config))
    io.out(JSON.stringify(resultJson(result)))
    if (result.action === 'resolved' && result.chatId) {
      // Every resolution ends with the review summary in the chat, whoever reported it.
      const { warning } = await warroom.summarize({ chatId: result.chatId })
      if (warning) io.err(`warroom notify: ${warning}`)
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

// ---------------------------------------------------------------- timeline

async function timeline(args: string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  const { values, positionals } = parse('timeline', args, {
    json: { type: 'boolean' },
    'data-dir': { type: 'string' },
  })
  const chatId = positionals[0]
  if (!chatId || !/^oc_\w+$/.test(chatId))
    throw new UsageError('give the incident chat id: warroom timeline oc_… [--json]')
  const config = await loadConfig(values.config, env)
  // The chat is named: its history and marker come from Feishu, so the local state is not used.
  const { client, warroom } = await warRoomFromConfig(config, 'timeline', {
    dataDir: values['data-dir'],
    stateless: values['data-dir'] === undefined,
    env,
  })
  try {
    let buffer = ''
    const figures = await warroom.timeline({ chatId }, [
      {
        format: values.json ? 'json' : 'markdown',
        sink: {
          // Whole lines to the output as they come, so a long chat streams.
          write: (chunk) => {
            buffer += chunk
            const cut = buffer.lastIndexOf('\n')
            if (cut >= 0) {
              io.out(buffer.slice(0, cut))
              buffer = buffer.slice(cut + 1)
            }
          },
        },
      },
    ])
    if (buffer) io.out(buffer)
    if (!figures) {
      io.err(`warroom timeline: ${chatId} is not an incident war room of this app`)
      return 1
    }
    return 0
  } finally {
    await client.close()
  }
}

// ------------------------------------------------------------------- check

async function check(args: string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
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
          : (error as Error).message
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

export type { Logger }
