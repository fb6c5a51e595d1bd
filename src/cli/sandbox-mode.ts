/**
 * Sandbox mode (npm start, --sandbox, WARROOM_SANDBOX=1): the built-in Feishu
 * stand-in, its page, an Alertmanager stand-in, the demo routing and a
 * temporary folder. Loaded on demand by serve, so a production receiver never
 * loads the sandbox.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Config } from '../config/config.js'
import { ALERTMANAGER_PATH } from '../sandbox/alertmanager.js'
import { type FeishuSandbox, startSandbox } from '../sandbox/server.js'
import { sandboxUi } from '../sandbox/ui.js'
import { withDemoRouting } from './sandbox-demo.js'

export async function startSandboxMode(
  input: Config,
  env: NodeJS.ProcessEnv,
  port: number,
  started: Array<() => unknown>,
) {
  const api = await startSandboxApi(env.WARROOM_SANDBOX_API_PORT, port)
  started.push(() => api.close())
  // Sandbox chats live in memory; their timelines go to a temporary folder, not the working tree.
  const dir = await mkdtemp(join(tmpdir(), 'feishu-warroom-sandbox-'))
  started.push(() => rm(dir, { recursive: true, force: true }))
  const demo = withDemoRouting({ ...input, server: { ...input.server, data_dir: dir } })
  const feeds = withFeeds(api, demo.config)
  let config = feeds.config
  const demoRouting = demo.applied
  // /silence and the card's Silence button work without an Alertmanager of one's own.
  const standinAlertmanager = !config.alertmanager
  if (standinAlertmanager)
    config = { ...config, alertmanager: { url: `${api.url}${ALERTMANAGER_PATH}` } }
  return {
    api,
    config,
    page: sandboxUi(api, { language: config.warroom.language, timeZone: config.warroom.time_zone }),
    /** Points the sandbox's events at the receiver; the banner to print. */
    connect(url: string, c: Config): string {
      api.events = {
        url: `${url}/feishu/events`,
        ...(c.feishu.encrypt_key ? { encryptKey: c.feishu.encrypt_key } : {}),
        ...(c.feishu.verification_token ? { verificationToken: c.feishu.verification_token } : {}),
      }
      return [
        '',
        '  feishu-warroom is running against the BUILT-IN FEISHU SANDBOX (npm start, --sandbox or WARROOM_SANDBOX=1,',
        '  or no config and no credentials): nothing is sent to Feishu. For real Feishu, run `warroom serve --config …`',
        '  with FEISHU_APP_ID and FEISHU_APP_SECRET (or feishu.app_id).',
        '  Chats and cards live in memory until you stop the process.',
        '',
        `  Watch the sandbox:   ${url}/sandbox`,
        `  Alertmanager hook:   ${url}/alertmanager     Grafana hook: ${url}/grafana`,
        `  Generic incidents:   ${url}/incidents        Metrics: ${url}/metrics`,
        `  Sandbox Feishu API:  ${api.url} (state: ${api.url}/_sandbox/state)`,
        '  Try the CLI against it (another terminal):',
        `    export FEISHU_DOMAIN=${api.url} FEISHU_APP_ID=${api.appId} FEISHU_APP_SECRET=${api.appSecret}`,
        "    npx warroom notify --key demo:1 --title 'Disk almost full' --member alice@example.com",
        '    npx warroom check; npx warroom timeline <chat_id>',
        `  Timelines:           ${dir} (removed when you stop)`,
        ...(standinAlertmanager
          ? [
              `  Silences:            ${api.url}${ALERTMANAGER_PATH}/ (an Alertmanager stand-in: /silence 30m in a war room)`,
            ]
          : []),
        ...(demoRouting
          ? [
              '  Who is invited:      your config names nobody, so the demo routing applies:',
              '                       team=payments → Alice Wang, Bob Li; every incident → Carol Zhang',
            ]
          : []),
        feeds.made
          ? `  Stakeholder feed:    the chat "${feeds.made}" (warroom.broadcast_chat): one thread per incident`
          : '  Stakeholder feed:    the broadcast_chat of your config, made in the sandbox',
        `  Sandbox users:       ${[...api.state.users.values()].map((u) => `${u.name} <${u.email}>`).join(', ')}`,
        '',
      ].join('\n')
    },
    async close() {
      await api.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/**
 * The sandbox's Feishu API on a port people can write down: WARROOM_SANDBOX_API_PORT, else
 * the receiver's port + 1 (8081 by default); any free one when that is taken.
 */
async function startSandboxApi(
  wanted: string | undefined,
  receiverPort: number,
): Promise<FeishuSandbox> {
  // Feishu's client takes only app ids of cli_ + 16 hex digits (the long connection).
  const options = {
    host: '127.0.0.1',
    appId: 'cli_5a9d0b0c5a9d0b0c',
    appSecret: 'sandbox-app-secret',
  }
  const port =
    wanted !== undefined
      ? Number(wanted)
      : receiverPort > 0 && receiverPort < 65535
        ? receiverPort + 1
        : 0
  try {
    return await startSandbox({ ...options, port })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || wanted !== undefined) throw error
    return startSandbox({ ...options, port: 0 })
  }
}

/**
 * The stakeholder feed in the sandbox: the chats the config names as
 * broadcast_chat, made there with every sandbox user; a feed of its own when
 * the config names none, so the first incident shows one.
 */
function withFeeds(api: FeishuSandbox, config: Config): { config: Config; made?: string } {
  const people = [...api.state.users.values()]
    .filter((u) => u.status === 'active')
    .map((u) => u.open_id)
  const name =
    config.warroom.language === 'en' ? 'Incident feed (stakeholders)' : '事件通报（相关方）'
  const named = [config.warroom.broadcast_chat, ...config.routes.map((r) => r.broadcast_chat)]
  const ids = [...new Set(named.filter((id): id is string => !!id))]
  for (const id of ids) {
    if (!api.state.chats.has(id)) api.standingChat(name, people, id)
    api.state.feeds.add(id)
  }
  if (ids.length) return { config }
  const feed = api.standingChat(name, people)
  api.state.feeds.add(feed.chat_id)
  return {
    config: { ...config, warroom: { ...config.warroom, broadcast_chat: feed.chat_id } },
    made: name,
  }
}
