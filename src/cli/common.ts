import { join } from 'node:path'
import { parseArgs } from 'node:util'
import type { Config } from '../config/config.js'
import { warRoomConfig } from '../core/from-config.js'
import { WarRoom } from '../core/warroom.js'
import { FeishuClient } from '../feishu/client.js'
import { FileStore } from '../store/store.js'
import { errorMessage } from '../util/errors.js'
import { jsonLogger } from '../util/log.js'
import { closest } from '../util/suggest.js'

/** Where a command writes: stdout and stderr, and the signal to stop on (serve). */
export interface Io {
  out: (text: string) => void
  err: (text: string) => void
  /** Resolves when the process should stop (SIGTERM / SIGINT). */
  stopSignal?: Promise<void>
  /** Called once the receiver listens (tests read the URL from it). */
  onListening?: (info: { url: string; sandboxUrl?: string }) => void
}

/** Bad usage or input: exit code 2 with the message. */
export class UsageError extends Error {}

/** Asked for a command's help: printed, exit 0. */
export class HelpRequested extends Error {}

export function parse<
  T extends Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>,
>(command: string, args: string[], options: T) {
  // Before parsing: --help works whatever else is on the line, even an unknown option.
  if (args.includes('--help') || args.includes('-h')) throw new HelpRequested(command)
  // Node's own text for an unknown option talks of positionals; say which option, and the one meant.
  const known = ['config', ...Object.keys(options)]
  for (const arg of args) {
    if (arg === '--') break
    if (!arg.startsWith('--')) continue
    const name = arg.slice(2).split('=')[0]!
    if (known.includes(name)) continue
    const meant = closest(name, known)
    throw new UsageError(
      `unknown option --${name}${meant ? ` (did you mean --${meant}?)` : ''} (see warroom ${command} --help)`,
    )
  }
  try {
    return parseArgs({
      args,
      options: { config: { type: 'string' }, ...options },
      allowPositionals: true,
      strict: true,
    })
  } catch (error) {
    throw new UsageError(`${errorMessage(error)} (see warroom ${command} --help)`)
  }
}

/** A client for the configured app; commands other than serve need real credentials. */

export function clientFromConfig(
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
    // One-shot commands are quiet unless asked: WARROOM_LOG_LEVEL=debug shows the client's retries.
    ...(config.server.log_level === 'debug'
      ? { logger: jsonLogger((line) => process.stderr.write(line), 'debug') }
      : {}),
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
export async function warRoomFromConfig(
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
    // A one-shot command runs no timers: escalation steps and reminders need `warroom serve`.
    config: { ...warRoomConfig(config), escalationFor: () => [], remindEveryMs: 0 },
  })
  return { client, warroom }
}
