import { parse } from 'yaml'
import { type Config, parseConfig } from '../config/config.js'

/**
 * Who the sandbox invites when `npm start` runs without a config that names
 * anyone: the README shows the same YAML, so a new user sees people join and
 * can type /ack as one of them.
 */
export const SANDBOX_DEMO_ROUTING = `# Who is invited in the sandbox when your config names nobody.
members: [carol@example.com] # Carol Zhang joins every war room
routes:
  - match: { team: payments } # the sample payloads carry team=payments
    members: [alice@example.com, bob@example.com]
`

/** The config with the demo routing, when it names no members and no routes. */
export function withDemoRouting(config: Config): { config: Config; applied: boolean } {
  if (config.members.length || config.routes.length) return { config, applied: false }
  const demo = parseConfig(parse(SANDBOX_DEMO_ROUTING), 'the sandbox demo routing')
  return { config: { ...config, members: demo.members, routes: demo.routes }, applied: true }
}
