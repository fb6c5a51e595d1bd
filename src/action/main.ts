import { writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type FailedJob, type GitHubContext, githubIncident } from '../../adapters/github.js'
import { classify } from '../core/failures.js'
import { WarRoom, type WarRoomResult } from '../core/warroom.js'
import { FeishuClient } from '../feishu/client.js'
import { CANCELLED, formatDuration } from '../i18n/index.js'
import type { Figures } from '../render/timeline.js'
import { errorMessage } from '../util/errors.js'
import type { Logger } from '../util/log.js'
import { recordChange } from './change.js'
import { type ActionConfig, type Core, InputError, readInputs } from './inputs.js'

export interface ActionDeps {
  /** Lists a run attempt's jobs with the workflow token (octokit in production). */
  listJobs?: (
    token: string,
    ctx: GitHubContext,
    runId: number,
    attempt: number,
  ) => Promise<FailedJob[]>
}

/**
 * The action: inputs → incident → war room → outputs and job summary.
 * Everything is reported through `core` here and nowhere else.
 */
export async function run(
  core: Core,
  ctx: GitHubContext,
  env: NodeJS.ProcessEnv,
  deps: ActionDeps = {},
): Promise<void> {
  let config: ActionConfig
  try {
    config = readInputs(core, env.GITHUB_WORKSPACE ?? process.cwd())
  } catch (error) {
    core.setFailed(
      error instanceof InputError ? error.message : `Invalid inputs: ${errorMessage(error)}`,
    )
    return
  }
  const logger = coreLogger(core)
  const client = new FeishuClient({
    appId: config.appId,
    appSecret: config.appSecret,
    domain: config.domain,
    logger,
  })
  try {
    const token = config.githubToken
    const gh = await githubIncident(ctx, {
      ...(config.status ? { status: config.status } : {}),
      ...(config.key ? { key: config.key } : {}),
      ...(config.title ? { title: config.title } : {}),
      severity: config.severity,
      language: config.language,
      members: config.members,
      githubUsers: config.githubUsers,
      env,
      forks: config.forks,
      ...(token && deps.listJobs
        ? {
            listJobs: (runId: number, attempt: number) =>
              deps.listJobs!(token, ctx, runId, attempt),
          }
        : {}),
    })
    const key = gh.incident.key
    core.setOutput('incident-key', key)
    if (gh.status === 'skip') {
      core.notice(`feishu-warroom did nothing: ${gh.skipReason}`)
      setOutputs(core, { action: 'none', key, failedMembers: [], feishuCalls: 0, warnings: [] })
      return
    }
    const room = new WarRoom({
      client,
      logger,
      config: {
        language: config.language,
        resolvedPrefix: config.resolvedPrefix,
        ...(config.chatName ? { chatNameTemplate: config.chatName } : {}),
      },
    })
    const run = `#${ctx.payload.workflow_run?.run_number ?? ctx.runNumber}`
    const result =
      gh.status === 'cancelled'
        ? await room.notice(
            key,
            CANCELLED[config.language](run),
            `cancelled:${gh.incident.event ?? ''}`,
          )
        : await room.handle(gh.incident)
    for (const w of result.warnings) core.warning(w)
    if (result.failedMembers.length)
      core.warning(
        `Could not invite: ${result.failedMembers.map((f) => `${f.id} (${f.reason})`).join('; ')}`,
      )
    // An error annotation, not a failed step: the incident is recorded and the chat is there to add people to.
    if (result.empty)
      core.error(
        `Nobody is in the war room ${result.chatUrl ?? ''}: check the members input and their ids.`,
      )
    setOutputs(core, result)
    core.info(describe(result))
    const figures =
      result.action === 'resolved'
        ? await afterResolution(room, result, env, core, config.timelineFile, ctx)
        : undefined
    await writeSummary(core, result, gh.status, figures)
    if (config.receiverUrl)
      await recordChange(core, ctx, gh, {
        url: config.receiverUrl,
        token: config.receiverToken ?? '',
        service: config.service ?? ctx.repo.repo,
      })
  } catch (error) {
    const failure = classify(error)
    // fail-on-error: false lets a Feishu failure pass the step; bad inputs and bugs still fail it.
    const lenient =
      !config.failOnError &&
      (failure.class === 'feishu_transient' || failure.class === 'feishu_refused')
    if (lenient) core.warning(`${failure.message} (fail-on-error is false, so the step passes)`)
    else core.setFailed(failure.class === 'internal' ? errorText(error) : failure.message)
  } finally {
    await client.close()
  }
}

/**
 * On resolution: the review summary in the chat, and, only when asked
 * (timeline-file: true), the chat's whole transcript to a file for
 * actions/upload-artifact. The transcript never goes into the job summary:
 * on a public repository anyone can read that, and war-room chats hold
 * addresses and credentials people paste in a hurry.
 */
const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error))

async function afterResolution(
  room: WarRoom,
  result: WarRoomResult,
  env: NodeJS.ProcessEnv,
  core: Core,
  transcript: boolean,
  ctx: GitHubContext,
) {
  const parts: string[] = []
  const outputs = transcript
    ? [{ format: 'markdown' as const, sink: { write: (c: string) => void parts.push(c) } }]
    : []
  const { figures, warning } = await room.summarize({ chatId: result.chatId! }, outputs)
  if (warning) core.warning(warning)
  if (!transcript || !figures) return figures
  if (ctx.payload.repository?.private === false)
    core.warning(
      'timeline-file holds the whole war-room chat and this repository is public: anyone who can download the workflow artifacts can read it',
    )
  const path = join(env.RUNNER_TEMP || tmpdir(), `feishu-warroom-timeline-${result.chatId}.md`)
  await writeFile(path, parts.join(''))
  core.setOutput('timeline-file', path)
  return figures
}

function setOutputs(core: Core, result: WarRoomResult): void {
  core.setOutput('action', result.action === 'acknowledged' ? 'updated' : result.action)
  core.setOutput('incident-key', result.key)
  core.setOutput('chat-id', result.chatId ?? '')
  core.setOutput('chat-url', result.chatUrl ?? '')
  core.setOutput('message-id', result.cardMessageId ?? '')
}

function describe(result: WarRoomResult): string {
  if (result.action === 'none')
    return `feishu-warroom: nothing to do (${result.reason ?? 'no change'})`
  return `feishu-warroom: ${result.action} ${result.chatUrl} (${result.feishuCalls} Feishu calls)`
}

async function writeSummary(
  core: Core,
  result: WarRoomResult,
  status: string,
  figures?: Figures,
): Promise<void> {
  try {
    const verb: Record<string, string> = {
      opened: result.reopened ? '🔁 Reopened the war room' : '🚨 Opened a war room',
      updated: '📝 Updated the war room',
      resolved: '✅ Resolved the war room',
      none: 'ℹ️ Nothing to do',
    }
    const summary = core.summary
      .addHeading('Feishu war room', 3)
      .addRaw(`${verb[result.action] ?? result.action}`, true)
    const rows = [
      [{ data: 'Run status', header: true }, { data: status }],
      [{ data: 'Incident key', header: true }, { data: escapeHtml(result.key) }],
      [{ data: 'Feishu calls', header: true }, { data: String(result.feishuCalls) }],
    ]
    if (result.reason)
      rows.push([{ data: 'Reason', header: true }, { data: escapeHtml(result.reason) }])
    if (result.failedMembers.length)
      rows.push([
        { data: 'Not invited', header: true },
        { data: escapeHtml(result.failedMembers.map((f) => `${f.id}: ${f.reason}`).join('; ')) },
      ])
    // The figures only: the chat's words stay in Feishu (see afterResolution).
    if (figures) {
      const d = (ms: number | undefined) => (ms === undefined ? '-' : formatDuration(ms, 'en'))
      rows.push(
        [{ data: 'Time to acknowledge', header: true }, { data: d(figures.timeToAcknowledgeMs) }],
        [{ data: 'Time to resolve', header: true }, { data: d(figures.timeToResolveMs) }],
        [{ data: 'Responders', header: true }, { data: String(figures.responders) }],
        [{ data: 'Messages from people', header: true }, { data: String(figures.messages) }],
      )
    }
    summary.addTable(rows)
    if (result.chatUrl) summary.addLink('Open the chat in Feishu', result.chatUrl)
    await summary.write()
  } catch (error) {
    core.debug(`job summary not written: ${errorMessage(error)}`)
  }
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

function coreLogger(core: Core): Logger {
  const fmt = (m: string, f?: Record<string, unknown>) => (f ? `${m} ${JSON.stringify(f)}` : m)
  return {
    debug: (m, f) => core.debug(fmt(m, f)),
    info: (m, f) => core.info(fmt(m, f)),
    warn: (m, f) => core.warning(fmt(m, f)),
    error: (m, f) => core.warning(fmt(m, f)),
  }
}
