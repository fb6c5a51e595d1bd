import { type Config, loadConfig } from '../config/config.js'
import { NewChatBudget } from '../core/admission.js'
import { warRoomConfig } from '../core/from-config.js'
import { WarRoom } from '../core/warroom.js'
import { FeishuClient } from '../feishu/client.js'
import { resolveBaseUrl } from '../feishu/transport.js'
import { httpImageFetcher } from '../outbound/images.js'
import { LongConnectionClient } from '../receiver/longconn.js'
import { Metrics } from '../receiver/metrics.js'
import { Receiver } from '../receiver/server.js'
import type { PostgresStore } from '../store/postgres/store.js'
import {
  FileStore,
  type IncidentStore,
  MemoryStore,
  StoreUnavailableError,
} from '../store/store.js'
import { errorMessage } from '../util/errors.js'
import { jsonLogger, type Logger, registerSecret } from '../util/log.js'
import { type Io, parse, UsageError } from './common.js'

export async function serve(args: string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  const { values } = parse('serve', args, {
    host: { type: 'string' },
    port: { type: 'string' },
    sandbox: { type: 'boolean' },
  })
  let config = await loadConfig(values.config, env)
  const useSandbox = sandboxMode(
    config,
    { asked: !!values.sandbox, configFile: values.config },
    env,
  )
  // The sandbox answers anyone who reaches it: loopback unless --host says otherwise.
  const host = values.host ?? (useSandbox ? '127.0.0.1' : config.server.host)
  // A platform's PORT (containers, PaaS) wins over the config file; --port over both.
  const portText = values.port ?? env.PORT
  const port = portText !== undefined ? Number(portText) : config.server.port
  if (!/^\d+$/.test(portText ?? String(port)) || port > 65535)
    throw new UsageError(
      `${values.port !== undefined ? '--port' : 'PORT'} must be a port number 0-65535, got "${portText}"`,
    )
  // Alertmanager credentials never reach a log either.
  for (const am of [config.alertmanager, ...config.routes.map((r) => r.alertmanager)]) {
    registerSecret(am?.bearer_token)
    registerSecret(am?.basic?.password)
  }
  const logger = jsonLogger((line) => io.err(line.trimEnd()), config.server.log_level)
  const metrics = new Metrics()
  // What a failed start must undo, newest first: nothing may be left running or on disk.
  const started: Array<() => unknown> = []
  try {
    // Loaded only here, as the PostgreSQL store is: a production receiver never loads the sandbox.
    const sandbox = useSandbox
      ? await (await import('./sandbox-mode.js')).startSandboxMode(config, env, port, started)
      : undefined
    if (sandbox) config = sandbox.config
    const client = new FeishuClient({
      appId: sandbox?.api.appId ?? config.feishu.app_id!,
      appSecret: sandbox?.api.appSecret ?? config.feishu.app_secret!,
      domain: sandbox?.api.url ?? config.feishu.domain,
      logger,
      onCall: metrics.onFeishuCall,
      // Stay well inside Alertmanager's notification timeout.
      retry: { maxElapsedMs: 20_000 },
    })
    started.push(() => client.close())
    const { store, postgres } = await openStore(config, !!sandbox, logger)
    started.push(() => store.close?.())
    // Replicas count their Feishu calls together: the quota is the app's, not each process's.
    if (postgres) client.transport.shareQuota(postgres.quota)
    const open = new Map<string, boolean>()
    const countOpen = () => metrics.openIncidents.set([...open.values()].filter(Boolean).length)
    let openTimer: NodeJS.Timeout | undefined
    if (postgres) {
      // Other replicas open and resolve too: the gauge counts what the database holds.
      const refresh = () =>
        postgres.countOpen().then(
          (n) => metrics.openIncidents.set(n),
          () => {},
        )
      await refresh()
      openTimer = setInterval(refresh, 5000)
      openTimer.unref()
    } else {
      for (const r of await store.list()) open.set(r.keyHash, r.status === 'open')
      countOpen()
    }
    const warroom = new WarRoom({
      client,
      store,
      logger,
      config: warRoomConfig(config),
      fetchImage: httpImageFetcher({ allow: config.images.allow }),
      budget: new NewChatBudget({
        perMinute: config.intake.max_new_chats_per_minute,
        perSourcePerMinute: config.intake.max_new_chats_per_source_per_minute,
        criticalPerSourcePerMinute: config.intake.max_critical_chats_per_source_per_minute,
      }),
      onRecord: (r) => {
        if (postgres) return
        open.set(r.keyHash, r.status === 'open')
        countOpen()
      },
    })
    const receiver = new Receiver({
      config,
      warroom,
      logger,
      metrics,
      ...(sandbox ? { extra: sandbox.page } : {}),
      ...(postgres ? { archive: postgres.timelines, jobs: postgres.jobs } : {}),
    })
    receiver.readiness = () => postgres?.readiness()
    started.push(() => receiver.close())
    const url = await listenOn(receiver, host, port)
    let longConnection: LongConnectionClient | undefined
    if (config.feishu.event_mode === 'websocket') {
      longConnection = new LongConnectionClient({
        appId: sandbox?.api.appId ?? config.feishu.app_id!,
        appSecret: sandbox?.api.appSecret ?? config.feishu.app_secret!,
        baseUrl: sandbox?.api.url ?? resolveBaseUrl(config.feishu.domain),
        interactions: receiver.interactions,
        logger,
        metrics,
      })
      receiver.readiness = async () =>
        longConnection?.up ? await postgres?.readiness() : 'the long connection to Feishu is down'
      await longConnection.start()
      logger.info('connected to Feishu over the long connection: no public URL needed for events')
    }
    const resumed = await receiver.recoverTimelines(
      await store.list({ resolvedSince: Date.now() - 3600_000 }),
    )
    if (resumed) logger.info('finishing the timelines of recent resolutions', { count: resumed })
    if (sandbox) {
      io.out(sandbox.connect(url, config))
    } else {
      io.out(`feishu-warroom receiver listening on ${url} (Feishu ${config.feishu.domain})`)
    }
    // The sandbox is on loopback with nothing to protect: the warnings are for a real receiver.
    if (!sandbox && !config.auth.bearer_token && !config.auth.basic)
      logger.warn(
        'webhook endpoints accept requests without authentication: set auth.bearer_token or WARROOM_WEBHOOK_TOKEN',
      )
    if (!sandbox && !config.feishu.encrypt_key && !config.feishu.verification_token)
      logger.warn(
        'Feishu events are not verified: set feishu.encrypt_key (FEISHU_ENCRYPT_KEY) or feishu.verification_token',
      )
    if (postgres)
      logger.info('incidents in PostgreSQL, shared with other replicas', {
        schema: postgres.schema,
        replica: postgres.replicaId,
        replicas: postgres.replicas.live,
      })
    io.onListening?.({ url, ...(sandbox ? { sandboxUrl: sandbox.api.url } : {}) })

    await (io.stopSignal ?? new Promise<void>(() => {}))
    logger.info('shutting down: finishing in-flight work')
    longConnection?.close()
    await receiver.close()
    if (openTimer) clearInterval(openTimer)
    await store.close?.()
    await client.close()
    await sandbox?.close()
    logger.info('stopped')
    return 0
  } catch (error) {
    for (const undo of started.reverse()) await Promise.resolve(undo()).catch(() => {})
    throw error
  }
}

/** Listens, or says plainly why not (a port in use is a usage mistake, not a stack trace). */
async function listenOn(receiver: Receiver, host: string, port: number): Promise<string> {
  try {
    return await receiver.listen(host, port)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EADDRINUSE')
      throw new UsageError(
        `port ${port} on ${host} is in use: stop what uses it, or pick another with --port (or PORT)`,
      )
    if (code === 'EACCES' || code === 'EADDRNOTAVAIL')
      throw new UsageError(
        `cannot listen on ${host}:${port} (${code}): pick another --host or --port`,
      )
    throw error
  }
}

/**
 * PostgreSQL when a database URL is given (several replicas), else the file
 * store (one receiver), or memory for the sandbox (it forgets on exit too).
 */
async function openStore(
  config: Config,
  sandbox: boolean,
  logger: Logger,
): Promise<{ store: IncidentStore; postgres?: PostgresStore }> {
  const url = config.server.database_url
  if (url) {
    registerSecret(safeDecode(new URL(url).password))
    // Loaded only here: the GitHub Action's bundle does not carry the PostgreSQL driver.
    const { PostgresStore } = await import('../store/postgres/store.js')
    try {
      const postgres = await PostgresStore.open({
        url,
        schema: config.server.database_schema,
        logger,
      })
      return { store: postgres, postgres }
    } catch (error) {
      const where = new URL(url)
      where.password = where.password ? '***' : ''
      throw new StoreUnavailableError(
        `cannot use the database ${where}: ${errorMessage(error)}. Check WARROOM_DATABASE_URL (or server.database_url) and that PostgreSQL is running`,
      )
    }
  }
  if (sandbox) return { store: new MemoryStore() }
  return { store: await FileStore.open(config.server.data_dir, { lock: true }) }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/**
 * Whether to run against the built-in sandbox: when asked (npm start,
 * --sandbox, WARROOM_SANDBOX=1), or with no config, no credentials and no
 * database outside production (a first try). A config or a database without
 * credentials is a mistake to name, not a sandbox to start: a production
 * replica that lost its Secret must not answer alerts "opened" into memory,
 * nor take other replicas' jobs.
 */
export function sandboxMode(
  config: Config,
  how: { asked: boolean; configFile: string | undefined },
  env: NodeJS.ProcessEnv,
): boolean {
  const asked = how.asked || env.WARROOM_SANDBOX === '1' || env.WARROOM_SANDBOX === 'true'
  if (asked && config.server.database_url)
    throw new UsageError(
      'the sandbox never runs on a database: unset WARROOM_DATABASE_URL (server.database_url), or drop --sandbox / WARROOM_SANDBOX to use real Feishu',
    )
  if (asked) return true
  if (config.feishu.app_id) return false
  const why = how.configFile
    ? `the config file ${how.configFile} gives none`
    : config.server.database_url
      ? 'a database is configured'
      : env.NODE_ENV === 'production'
        ? 'NODE_ENV is production'
        : undefined
  if (why === undefined) return true
  throw new UsageError(
    `warroom serve needs Feishu credentials (${why}): set FEISHU_APP_ID and FEISHU_APP_SECRET, or feishu.app_id and feishu.app_secret in the config; to try it without Feishu, add --sandbox (or run npm start)`,
  )
}
