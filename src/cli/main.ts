import { classify, type FailureClass } from '../core/failures.js'
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
/** The exit code for each class of failure (core/failures.ts). */
const EXIT_CODE: Record<FailureClass, number> = {
  bad_input: 2,
  busy: 1,
  store_unavailable: 1,
  feishu_transient: 1,
  feishu_refused: 1,
  internal: 1,
}

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
    if (error instanceof UsageError) {
      io.err(`warroom ${command}: ${error.message}`)
      return 2
    }
    const failure = classify(error)
    io.err(`warroom ${command}: ${failure.message}`)
    return EXIT_CODE[failure.class]
  }
}
