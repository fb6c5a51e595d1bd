import { ConfigError } from '../config/config.js'
import { FeishuError } from '../feishu/errors.js'
import { IncidentError } from '../model/incident.js'
import { StoreLockedError, StoreUnavailableError } from '../store/store.js'
import { redact } from '../util/log.js'
import { check } from './check.js'
import { HelpRequested, type Io, UsageError } from './common.js'
import { HELP, USAGE } from './help.js'
import { notify } from './notify.js'
import { oncall } from './oncall.js'
import { serve } from './serve.js'
import { timeline } from './timeline.js'
import { VERSION } from './version.js'

export { warRoomConfig } from '../core/from-config.js'
export type { Io } from './common.js'
export { notifyStateDir } from './common.js'
export { HELP } from './help.js'

const defaultIo = (): Io => ({
  out: (t) => process.stdout.write(`${t}\n`),
  err: (t) => process.stderr.write(`${t}\n`),
  stopSignal: new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve())
    process.once('SIGINT', () => resolve())
  }),
})

/** Runs a command; returns the exit code (0 ok, 1 failure, 2 bad usage or input, 3 notify: nobody in the chat). */
export async function main(
  argv: string[],
  env: NodeJS.ProcessEnv,
  io: Io = defaultIo(),
): Promise<number> {
  const [command, ...rest] = argv
  if (command === '--version' || command === '-v' || command === 'version') {
    io.out(`feishu-warroom ${VERSION}`)
    return 0
  }
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
      case 'oncall':
        return await oncall(rest, env, io)
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
      error instanceof StoreLockedError ||
      error instanceof UsageError
    ) {
      io.err(`warroom ${command}: ${error.message}`)
      return 2
    }
    if (error instanceof FeishuError || error instanceof StoreUnavailableError) {
      io.err(`warroom ${command}: ${redact(error.message)}`)
      return 1
    }
    io.err(`warroom ${command}: ${(error instanceof Error && error.stack) || String(error)}`)
    return 1
  }
}
