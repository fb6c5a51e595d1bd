import { readFile } from 'node:fs/promises'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import { resolveBaseUrl } from '../feishu/transport.js'
import { resolvedPrefixFor } from '../i18n/index.js'
import { describeZodError, SEVERITIES } from '../model/incident.js'
import { ScheduleSchema, scheduleNamed, scheduleRef, timeZone } from '../model/oncall.js'
import { errorMessage } from '../util/errors.js'
import { duration } from './duration.js'
import { EscalationSchema, HeartbeatSchema, UrgentBudgetSchema } from './escalation.js'
import { ReviewSchema } from './review.js'

export { DEFAULT_SEVERITY_MAP } from '../model/incident.js'
export { type EscalationStep, EscalationStepSchema } from './escalation.js'

/**
 * The receiver's configuration: a YAML file validated up front, with secrets
 * allowed to come from the environment instead. Every error names its key.
 */

const labelMap = z.record(z.string(), z.string())

/** Where `/silence` creates silences: an Alertmanager's API v2, with its credentials. */
export const AlertmanagerSchema = z.strictObject({
  url: z.string().regex(/^https?:\/\//, 'must be an http(s) URL like http://alertmanager:9093'),
  bearer_token: z.string().min(1).optional(),
  basic: z.strictObject({ username: z.string().min(1), password: z.string().min(1) }).optional(),
})

export const RouteSchema = z.strictObject({
  /** Label name → exact value; all must match. */
  match: labelMap.default({}),
  /** Label name → regular expression (anchored); all must match. */
  match_re: z
    .record(z.string(), z.string())
    .default({})
    .refine(
      (m) =>
        Object.values(m).every((re) => {
          try {
            new RegExp(`^(?:${re})$`)
            return true
          } catch {
            return false
          }
        }),
      'every value must be a valid regular expression',
    ),
  members: z.array(z.string().min(1)).default([]),
  severity: z.enum(SEVERITIES).optional(),
  /** Keep evaluating later routes after this one matched. */
  continue: z.boolean().default(false),
  /** Steps while the incident is open and nobody acknowledged it, in order of `after`. */
  escalation: EscalationSchema,
  /** The Alertmanager `/silence` talks to for these incidents (overrides the global one). */
  alertmanager: AlertmanagerSchema.optional(),
  /** The stakeholder feed for these incidents (overrides warroom.broadcast_chat). */
  broadcast_chat: z
    .string()
    .regex(/^oc_[A-Za-z0-9]+$/, 'must be a chat id (oc_…)')
    .optional(),
  /**
   * A PagerDuty Events v2 routing key (integration key) that selects this
   * route: events sent with it are routed here (and it authenticates them).
   */
  routing_key: z.string().min(16, 'must be at least 16 characters (a secret)').optional(),
  /** A video bridge for these incidents (overrides warroom.bridge). */
  bridge: z.enum(['auto', 'button', 'off']).optional(),
})

export const ConfigSchema = z
  .strictObject({
    feishu: z
      .strictObject({
        app_id: z.string().optional(),
        app_secret: z.string().optional(),
        domain: z
          .string()
          .refine((d) => {
            try {
              resolveBaseUrl(d)
              return true
            } catch {
              return false
            }
          }, 'must be feishu, lark or a base URL')
          .default('feishu'),
        encrypt_key: z.string().optional(),
        verification_token: z.string().optional(),
        /** How events reach the receiver: Feishu posts them (webhook) or the receiver connects out (websocket). */
        event_mode: z.enum(['webhook', 'websocket']).default('webhook'),
      })
      .prefault({}),
    server: z
      .strictObject({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8080),
        data_dir: z.string().default('.warroom-data'),
        body_limit_bytes: z
          .number()
          .int()
          .positive()
          .max(64 * 1024 * 1024)
          .default(1024 * 1024),
        /** Public base URL of this receiver, for links (timelines). */
        public_url: z.string().url().optional(),
        /**
         * Connections one address may hold *before their request's headers are complete*
         * (slow-header floods from one host). A busy sender (an ingress, one Alertmanager in a
         * storm) holds many connections with requests in flight: those do not count.
         */
        max_connections_per_ip: z.number().int().positive().default(64),
        /** Open connections in all (bounds file descriptors and memory). */
        max_connections: z.number().int().positive().default(4096),
        /** A request's headers must arrive within this (the slow-header defence). */
        headers_timeout: duration.default(10_000),
        /** Require the webhook credentials on GET /metrics too. */
        metrics_auth: z.boolean().default(false),
        /** PostgreSQL for several replicas (postgres://user:pass@host:5432/db); the file store without it. */
        database_url: z
          .string()
          .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
          .optional(),
        /** The schema the tables live in (created when missing). */
        database_schema: z
          .string()
          .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier')
          .default('public'),
        /** debug shows the Feishu client's retries and token refreshes (WARROOM_LOG_LEVEL). */
        log_level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
      })
      .prefault({}),
    auth: z
      .strictObject({
        bearer_token: z.string().min(8, 'must be at least 8 characters').optional(),
        /**
         * Reading transcripts (GET /incidents/<key>/timeline) needs this bearer token, not the
         * webhook's: a sender of alerts is not a reader of every war room's history. Unset: closed.
         */
        read_token: z.string().min(16, 'must be at least 16 characters').optional(),
        basic: z
          .strictObject({ username: z.string().min(1), password: z.string().min(8) })
          .optional(),
      })
      .prefault({}),
    intake: z
      .strictObject({
        /** New war rooms per minute, in all; critical incidents always open. Beyond: 429. */
        max_new_chats_per_minute: z.number().int().positive().default(60),
        /** New war rooms per minute from one source (alertmanager, grafana, generic). */
        max_new_chats_per_source_per_minute: z.number().int().positive().default(30),
        /** Critical ones pass the budgets above, up to this many per minute and source. */
        max_critical_chats_per_source_per_minute: z.number().int().positive().default(10),
        storm_rooms: z.boolean().default(true), // beyond the budgets: the route's storm room; false: 503
      })
      .prefault({}),
    /** Paid and in-app urgent calls (加急): caps, counted per process, against a flood or a flapping alert. */
    urgent: z
      .strictObject({
        /** Urgent notices (any kind) for one incident per hour, its reopenings included. */
        per_incident_per_hour: z.number().int().min(0).default(3),
        /** SMS and phone calls per hour in all (they spend the tenant's paid quota). */
        paid_per_hour: z.number().int().min(0).default(30),
      })
      .prefault({}),
    silence: z
      .strictObject({
        /** The longest `/silence` a person may set. */
        max_duration: duration.default(24 * 3600_000),
      })
      .prefault({}),
    images: z
      .strictObject({
        /** Hosts, addresses or CIDRs images may come from although private (e.g. an internal Grafana). */
        allow: z.array(z.string().min(1)).default([]),
      })
      .prefault({}),
    grafana: z
      .strictObject({
        hmac_secret: z.string().min(8).optional(),
        /** Header carrying the timestamp when Grafana signs `timestamp:body`. */
        hmac_timestamp_header: z.string().optional(),
        hmac_header: z.string().default('X-Grafana-Alerting-Signature'),
        /** Chat that receives Grafana's "Test" notifications. */
        test_chat_id: z.string().optional(),
      })
      .prefault({}),
    warroom: z
      .strictObject({
        language: z.enum(['zh', 'en']).default('zh'),
        time_zone: timeZone.default('Asia/Shanghai'),
        /** Default: the language's ([已解决] / [Resolved]). */
        resolved_prefix: z.string().max(30).optional(),
        chat_name_template: z.string().max(200).default('{emoji} [{priority}] {title}'),
        reopen_window: duration.default(30 * 60_000),
        max_items: z.number().int().min(1).max(50).default(10),
        urgent_on_critical: z.boolean().default(true),
        /** After an acknowledgement, a status nudge in the chat this often while open (0: never). */
        remind_every: duration.default(0),
        /** A status update (/update) is due this often for critical and error incidents (0: never). */
        update_every: duration.default(30 * 60_000),
        /** A reminder in the chat when nobody leads an open incident after this long (0: none). */
        lead_reminder: duration.default(10 * 60_000),
        /** A new episode's card shows the earlier one when it resolved within this ("last time"). */
        last_time_within: duration.default(30 * 86_400_000),
        /** An acknowledgement with no status update for this long expires: paged again, policy anew (0: never). */
        ack_expires: duration.default(0),
        /** Caps on urgent notices counted across replicas (0: none); a held-back notice is said in the chat. */
        urgent_budget: UrgentBudgetSchema,
        /** A new incident's card lists the changes (deploys, config) of this long before it… */
        changes_window: duration.default(2 * 3600_000),
        /** …that share a value with it for one of these labels. */
        changes_match: z.array(z.string().min(1)).default(['service', 'app', 'component']),
        /** A video meeting per incident: opened for critical ones (auto), on request (button, /bridge), or never. */
        bridge: z.enum(['auto', 'button', 'off']).default('button'),
        /** Incident roles besides the lead, taken with /role <name> (e.g. [comms, scribe]). */
        roles: z
          .array(
            z
              .string()
              .regex(/^[a-z][a-z0-9_-]{0,23}$/, 'must be a short lowercase word (comms, scribe)')
              .refine((r) => r !== 'lead', 'the lead is built in: use /lead'),
          )
          .max(8)
          .refine((r) => new Set(r).size === r.length, 'lists a role twice')
          .default([]),
        /** A standing chat (oc_…) that follows every incident: one thread each (routes may name their own). */
        broadcast_chat: z
          .string()
          .regex(/^oc_[A-Za-z0-9]+$/, 'must be a chat id (oc_…)')
          .optional(),
      })
      .transform((w) => ({
        ...w,
        resolved_prefix: w.resolved_prefix ?? resolvedPrefixFor(w.language),
      }))
      .prefault({}),
    severity: z
      .strictObject({
        /** The alert label that carries the severity. */
        label: z.string().default('severity'),
        /** Label value (lower case) → severity. */
        map: z.record(z.string(), z.enum(SEVERITIES)).default({}),
        default: z.enum(SEVERITIES).default('error'),
      })
      .prefault({}),
    /** Invited to every incident. */
    members: z.array(z.string().min(1)).default([]),
    routes: z.array(RouteSchema).default([]),
    /** The Alertmanager `/silence` talks to, unless a route names another. */
    alertmanager: AlertmanagerSchema.optional(),
    /** On-call schedules, named by members and routes as `oncall:<name>`. */
    schedules: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/), ScheduleSchema).default({}),
    review: ReviewSchema,
    /** Pipelines that must say they are alive: silent for `every` + `grace`, an incident opens. */
    heartbeats: z.array(HeartbeatSchema).default([]),
  })
  .superRefine((config, ctx) => {
    // Every oncall:<name> must name a schedule: a typo would invite nobody at 3 a.m.
    const check = (members: string[], path: (string | number)[]) => {
      for (const m of members) {
        const name = scheduleRef(m)
        if (name && !scheduleNamed(config.schedules, name))
          ctx.addIssue({
            code: 'custom',
            path,
            message: `names the schedule "${name}", which schedules does not define`,
          })
      }
    }
    check(config.members, ['members'])
    for (const [i, r] of config.routes.entries()) {
      check(r.members, ['routes', i, 'members'])
      for (const [j, step] of (Array.isArray(r.escalation) ? r.escalation : []).entries())
        check([...step.to, ...step.invite], ['routes', i, 'escalation', j])
    }
  })

export type Config = z.output<typeof ConfigSchema>
export type Route = z.output<typeof RouteSchema>
export type AlertmanagerTarget = z.output<typeof AlertmanagerSchema>

/** Severity label values understood without configuration. */

export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}

/** Environment variables that override (or supply) the file's secrets. */
/** Environment variables and the config path each one sets (they win over the file). */
const ENV_PATHS: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['FEISHU_APP_ID', ['feishu', 'app_id']],
  ['FEISHU_APP_SECRET', ['feishu', 'app_secret']],
  ['FEISHU_DOMAIN', ['feishu', 'domain']],
  ['FEISHU_ENCRYPT_KEY', ['feishu', 'encrypt_key']],
  ['FEISHU_EVENT_MODE', ['feishu', 'event_mode']],
  ['FEISHU_VERIFICATION_TOKEN', ['feishu', 'verification_token']],
  ['WARROOM_WEBHOOK_TOKEN', ['auth', 'bearer_token']],
  ['WARROOM_READ_TOKEN', ['auth', 'read_token']],
  ['WARROOM_DATA_DIR', ['server', 'data_dir']],
  ['WARROOM_LOG_LEVEL', ['server', 'log_level']],
  ['WARROOM_DATABASE_URL', ['server', 'database_url']],
  ['WARROOM_DATABASE_SCHEMA', ['server', 'database_schema']],
  ['WARROOM_GRAFANA_HMAC_SECRET', ['grafana', 'hmac_secret']],
]

/**
 * The config from a parsed file (or nothing) and the environment, merged
 * before validation: a value from the environment is checked by the same
 * schema as the file's, and an error names the variable it came from.
 */
export function configFrom(raw: unknown, env: NodeJS.ProcessEnv, where = 'config'): Config {
  const merged = structuredClone(
    raw && typeof raw === 'object' && !Array.isArray(raw) ? raw : {},
  ) as Record<string, unknown>
  const sources = new Map<string, string>()
  for (const [name, path] of ENV_PATHS) {
    const value = env[name]
    if (!value) continue
    let node = merged
    for (const key of path.slice(0, -1)) {
      const next = node[key]
      node[key] = next && typeof next === 'object' ? { ...(next as object) } : {}
      node = node[key] as Record<string, unknown>
    }
    node[path.at(-1)!] = name === 'WARROOM_LOG_LEVEL' ? value.toLowerCase() : value
    sources.set(path.join('.'), name)
  }
  return parseConfig(merged, where, sources)
}

/** Validates a parsed config object. */
export function parseConfig(
  value: unknown,
  where = 'config',
  /** Config paths set from the environment, and the variable that set each. */
  sources: ReadonlyMap<string, string> = new Map(),
): Config {
  const result = ConfigSchema.safeParse(value ?? {})
  if (!result.success) {
    const issues = describeZodError(result.error, ConfigSchema)
    const named = (path: string) => (sources.has(path) ? `${sources.get(path)} (${path})` : path)
    throw new ConfigError(
      `Invalid ${where}: ${issues.map((i) => `${named(i.path) || '(root)'}: ${i.message}`).join('; ')}`,
    )
  }
  const config = result.data
  if (config.feishu.app_id && !config.feishu.app_secret)
    throw new ConfigError(
      `Invalid ${where}: feishu.app_secret is missing (or set FEISHU_APP_SECRET)`,
    )
  return config
}

/** Reads a YAML (or JSON) file, or the defaults when no path is given, then the environment. */
export async function loadConfig(
  path: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Config> {
  let raw: unknown = {}
  if (path) {
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      throw new ConfigError(
        code === 'ENOENT'
          ? `the config file ${path} does not exist (check the path given to --config)`
          : code === 'EACCES'
            ? `the config file ${path} cannot be read: permission denied`
            : `Cannot read config file ${path}: ${code ?? errorMessage(error)}`,
      )
    }
    // An empty file is a wrong path or a lost edit, not "use every default".
    if (!text.replace(/#.*$/gm, '').trim())
      throw new ConfigError(
        `the config file ${path} is empty (nothing but comments or whitespace); give it settings or leave out --config`,
      )
    try {
      raw = parseYaml(text) ?? {}
    } catch (error) {
      // Where, never what: the offending line can be the app secret or the database password.
      const at = (error as { linePos?: Array<{ line: number; col: number }> }).linePos?.[0]
      const code = (error as { code?: string }).code
      throw new ConfigError(
        `Config file ${path} is not valid YAML${at ? ` at line ${at.line}, column ${at.col}` : ''}${code ? ` (${code.toLowerCase().replaceAll('_', ' ')})` : ''}`,
      )
    }
  }
  const config = configFrom(raw, env, path ? `config file ${path}` : 'config')
  if (config.feishu.app_id && !config.feishu.app_secret)
    throw new ConfigError(
      'feishu.app_secret is missing (set it in the config file or FEISHU_APP_SECRET)',
    )
  if (!config.feishu.app_id && config.feishu.app_secret)
    throw new ConfigError('feishu.app_id is missing (set it in the config file or FEISHU_APP_ID)')
  return config
}
