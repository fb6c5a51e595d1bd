// The sandbox in a process of its own, for the storms: Feishu counts calls when
// they arrive, and a sandbox sharing its event loop with the load generator
// would count late and in bunches. Prints its address as one JSON line.
import { startSandbox } from '../lib/src/sandbox/server.js'

const sandbox = await startSandbox({
  rateLimits: true,
  rateLimitWindows: process.argv[2] === 'fixed' ? 'fixed' : 'sliding',
})
// Every version of every card, with its time: when each change became visible.
sandbox.state.cardHistory = true
process.stdout.write(
  `${JSON.stringify({ url: sandbox.url, appId: sandbox.appId, appSecret: sandbox.appSecret })}\n`,
)
process.once('SIGTERM', () => sandbox.close().then(() => process.exit(0)))
