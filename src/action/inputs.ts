import { existsSync, readFileSync, realpathSync } from 'node:fs'
import { isAbsolute, join, relative, resolve } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import { resolveBaseUrl } from '../feishu/transport.js'
import { resolvedPrefixFor } from '../i18n/index.js'
import { SEVERITIES } from '../model/incident.js'

/** The part of @actions/core the action uses; passed in so tests can supply their own. */
export type Core = Pick<
  typeof import('@actions/core'),
  | 'getInput'
  | 'setSecret'
  | 'setOutput'
  | 'setFailed'
  | 'warning'
  | 'error'
  | 'info'
  | 'debug'
  | 'notice'
  | 'summary'
>

export class InputError extends Error {
  override readonly name = 'InputError'
}

const ActionConfig = z.object({
  appId: z
    .string()
    .min(1, 'app-id is required: the Feishu app id (cli_…), e.g. from secrets.FEISHU_APP_ID'),
  appSecret: z
    .string()
    .min(1, 'app-secret is required: the Feishu app secret, e.g. from secrets.FEISHU_APP_SECRET'),
  domain: z.string().refine((d) => {
    try {
      resolveBaseUrl(d)
      return true
    } catch {
      return false
    }
  }, 'domain must be feishu, lark or a base URL such as https://open.feishu.cn'),
  status: z.enum(['failure', 'success', 'cancelled']).optional(),
  members: z.array(z.string()),
  githubUsers: z.record(z.string(), z.array(z.string())),
  key: z.string().max(512).optional(),
  title: z.string().max(500).optional(),
  severity: z.enum(SEVERITIES),
  chatName: z.string().max(200).optional(),
  resolvedPrefix: z.string().max(30),
  language: z.enum(['zh', 'en']),
  failOnError: z.boolean(),
  timelineFile: z.boolean(),
  forks: z.enum(['ignore', 'separate']),
  githubToken: z.string().optional(),
  receiverUrl: z
    .string()
    .regex(/^https?:\/\/[^\s]+$/, 'must be an http(s) URL of a feishu-warroom receiver')
    .optional(),
  receiverToken: z.string().optional(),
  service: z.string().max(200).optional(),
})

export type ActionConfig = z.output<typeof ActionConfig>

/**
 * Reads and validates every input up front, masking the secrets before
 * anything is logged. Throws InputError naming the bad input.
 */
export function readInputs(
  core: Core,
  workspace = process.env.GITHUB_WORKSPACE ?? process.cwd(),
): ActionConfig {
  const input = (name: string) => core.getInput(name).trim()
  const appSecret = input('app-secret')
  if (appSecret) core.setSecret(appSecret)
  const githubToken = input('github-token')
  if (githubToken) core.setSecret(githubToken)
  const receiverToken = input('receiver-token')
  if (receiverToken) core.setSecret(receiverToken)

  const bool = (name: string, fallback: boolean) => {
    const v = input(name).toLowerCase()
    if (!v) return fallback
    if (v === 'true') return true
    if (v === 'false') return false
    throw new InputError(`Invalid input ${name}: "${v}" is not true or false`)
  }
  const status = input('status').toLowerCase()
  const raw = {
    appId: input('app-id'),
    appSecret,
    domain: input('domain') || 'feishu',
    status: status === '' ? undefined : status,
    members: splitList(core.getInput('members')),
    githubUsers: readGithubUsers(core.getInput('github-users'), workspace),
    key: input('key') || undefined,
    title: input('title') || undefined,
    severity: input('severity').toLowerCase() || 'error',
    chatName: input('chat-name') || undefined,
    // Not trimmed: the prefix's trailing space is part of it.
    resolvedPrefix:
      core.getInput('resolved-prefix', { trimWhitespace: false }) ||
      resolvedPrefixFor(input('language').toLowerCase() === 'en' ? 'en' : 'zh'),
    language: input('language').toLowerCase() || 'zh',
    failOnError: bool('fail-on-error', true),
    timelineFile: bool('timeline-file', false),
    forks: input('forks').toLowerCase() || 'ignore',
    githubToken: githubToken || undefined,
    receiverUrl: input('receiver-url') || undefined,
    receiverToken: receiverToken || undefined,
    service: input('service') || undefined,
  }
  const result = ActionConfig.safeParse(raw)
  if (!result.success) {
    const issue = result.error.issues[0]!
    const name = INPUT_NAMES[String(issue.path[0])] ?? String(issue.path[0])
    const got =
      issue.path[0] === 'appSecret'
        ? ''
        : ` (got "${String((raw as Record<string, unknown>)[String(issue.path[0])] ?? '')}")`
    throw new InputError(`Invalid input ${name}: ${issue.message}${got}`)
  }
  return result.data
}

const INPUT_NAMES: Record<string, string> = {
  appId: 'app-id',
  appSecret: 'app-secret',
  domain: 'domain',
  status: 'status',
  severity: 'severity',
  language: 'language',
  key: 'key',
  title: 'title',
  chatName: 'chat-name',
  resolvedPrefix: 'resolved-prefix',
  forks: 'forks',
  receiverUrl: 'receiver-url',
  service: 'service',
}

/** Comma- or newline-separated, blanks dropped. */
export function splitList(value: string): string[] {
  return value
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean)
}

/**
 * `github-users`: inline YAML or JSON (`alice: alice@corp.com`), or the path
 * of such a file in the repository. Values may be one id/email or a list.
 */
export function readGithubUsers(value: string, workspace: string): Record<string, string[]> {
  const text = value.trim()
  if (!text) return {}
  let source = text
  let where = 'the github-users input'
  const looksInline = /[:{\n]/.test(text)
  if (!looksInline) {
    const path = isAbsolute(text) ? text : resolve(workspace, text)
    const rel = relative(workspace, path)
    if (rel.startsWith('..') || isAbsolute(rel))
      throw new InputError(`Invalid input github-users: the file ${text} is outside the workspace`)
    if (!existsSync(path))
      throw new InputError(
        `Invalid input github-users: no file ${join(workspace, rel)} (give a mapping like "octocat: octo@corp.com" or a path in the repository)`,
      )
    // The real path, after symlinks: a link in the repository must not reach outside the workspace.
    const real = relative(realpathSync(workspace), realpathSync(path))
    if (real.startsWith('..') || isAbsolute(real))
      throw new InputError(
        `Invalid input github-users: the file ${text} links outside the workspace`,
      )
    source = readFileSync(path, 'utf8')
    where = `the file ${text}`
  }
  let parsed: unknown
  try {
    parsed = parseYaml(source)
  } catch (error) {
    // Where, not what: the parser's message quotes the file's lines, which may hold secrets.
    const at = (error as { linePos?: Array<{ line: number; col: number }> }).linePos?.[0]
    throw new InputError(
      `Invalid input github-users: ${where} is not valid YAML/JSON${at ? ` (line ${at.line}, column ${at.col})` : ''}`,
    )
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new InputError(
      `Invalid input github-users: ${where} must map GitHub logins to Feishu ids or emails`,
    )
  const out: Record<string, string[]> = {}
  for (const [login, v] of Object.entries(parsed as Record<string, unknown>)) {
    const list = Array.isArray(v) ? v : [v]
    if (!list.every((x) => typeof x === 'string' && x.trim()))
      throw new InputError(
        `Invalid input github-users: the value for ${login} must be an id, an email or a list of them`,
      )
    out[login] = list.map((x) => (x as string).trim())
    out[login.toLowerCase()] ??= out[login]
  }
  return out
}
