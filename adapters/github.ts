import { GITHUB_TEXTS } from '../src/i18n/index.js'
import { clampIncident, type IncidentInput, type Severity } from '../src/model/incident.js'
import { errorMessage } from '../src/util/errors.js'

/**
 * GitHub Actions → Incident. Knows the shapes of the events a notifier step
 * runs under (push / pull_request jobs, workflow_run watchers, deployment_status,
 * check_run / check_suite) and describes the run that failed, never the
 * watcher that reports it.
 */

/** The fields of @actions/github's context this adapter reads. */
export interface GitHubContext {
  eventName: string
  sha: string
  ref: string
  workflow: string
  actor: string
  runId: number
  runNumber: number
  runAttempt: number
  serverUrl: string
  repo: { owner: string; repo: string }
  // biome-ignore lint/suspicious/noExplicitAny: webhook payloads are read defensively, field by field
  payload: Record<string, any>
}

export type RunStatus = 'failure' | 'success' | 'cancelled'

export interface FailedJob {
  id: number
  name: string
  conclusion: string | null
  html_url?: string | null
  started_at?: string | null
  completed_at?: string | null
  steps?: Array<{ name: string; conclusion?: string | null }>
}

/** Lists failed jobs of a run attempt; throws when the token may not read them. */
export type JobLister = (runId: number, attempt: number) => Promise<FailedJob[]>

export interface GitHubAdapterOptions {
  /** Overrides the status read from the event. */
  status?: RunStatus
  key?: string
  title?: string
  severity: Severity
  language: 'zh' | 'en'
  members: string[]
  /** GitHub login → Feishu ids or emails. */
  githubUsers: Record<string, string[]>
  /** GITHUB_WORKFLOW_REF, GITHUB_REF_NAME, GITHUB_HEAD_REF from the environment. */
  env: Record<string, string | undefined>
  listJobs?: JobLister
  /** Runs from forks: ignored (the default), or kept in war rooms of their own. */
  forks?: 'ignore' | 'separate'
}

export interface GitHubIncident {
  status: RunStatus | 'skip'
  /** Why the event is not reported, when status is skip. */
  skipReason?: string
  incident: IncidentInput
  kind: 'workflow' | 'deploy'
}

interface RunFacts {
  kind: 'workflow' | 'deploy'
  status: RunStatus | undefined
  rawStatus: string
  workflowName: string
  workflowFile?: string | undefined
  branch?: string | undefined
  sha: string
  commitMessage?: string | undefined
  commitAuthor?: string | undefined
  commitAuthorLogin?: string | undefined
  actor?: string | undefined
  runId?: number | undefined
  runNumber?: number | undefined
  runAttempt?: number | undefined
  runUrl?: string | undefined
  compareUrl?: string | undefined
  startedAt?: string | undefined
  environment?: string | undefined
  deployUrl?: string | undefined
  logUrl?: string | undefined
  description?: string | undefined
  event: string
}

const FAILED_CONCLUSIONS = new Set(['failure', 'timed_out', 'startup_failure'])

/** Reads what happened from the event payload (no network). */
export function runFacts(ctx: GitHubContext, env: Record<string, string | undefined>): RunFacts {
  const p = ctx.payload
  const repoUrl = `${ctx.serverUrl}/${ctx.repo.owner}/${ctx.repo.repo}`
  if (ctx.eventName === 'workflow_run' && p.workflow_run) {
    const run = p.workflow_run
    return {
      kind: 'workflow',
      status: conclusionToStatus(run.conclusion),
      rawStatus: String(run.conclusion ?? run.status ?? 'unknown'),
      workflowName: run.name ?? p.workflow?.name ?? 'workflow',
      workflowFile: run.path ?? p.workflow?.path,
      branch: run.head_branch ?? undefined,
      sha: run.head_sha,
      commitMessage: run.head_commit?.message,
      commitAuthor: run.head_commit?.author?.name ?? run.head_commit?.author?.email,
      commitAuthorLogin: run.actor?.login,
      actor: run.triggering_actor?.login ?? run.actor?.login,
      runId: run.id,
      runNumber: run.run_number,
      runAttempt: run.run_attempt ?? 1,
      runUrl: run.html_url,
      startedAt: run.run_started_at ?? run.created_at,
      event: `run:${run.id}:${run.run_attempt ?? 1}`,
    }
  }
  if (ctx.eventName === 'deployment_status' && p.deployment_status) {
    const ds = p.deployment_status
    const dep = p.deployment ?? {}
    const state = String(ds.state)
    return {
      kind: 'deploy',
      status:
        state === 'success'
          ? 'success'
          : state === 'failure' || state === 'error'
            ? 'failure'
            : undefined,
      rawStatus: state,
      workflowName: 'deploy',
      environment: ds.environment ?? dep.environment ?? 'production',
      branch: dep.ref,
      sha: dep.sha ?? ctx.sha,
      actor: ds.creator?.login ?? dep.creator?.login ?? ctx.actor,
      commitAuthorLogin: dep.creator?.login,
      deployUrl: ds.environment_url || ds.target_url || undefined,
      logUrl: ds.log_url || ds.target_url || undefined,
      description: ds.description ?? dep.description ?? undefined,
      startedAt: dep.created_at,
      event: `deploy:${dep.id ?? ''}:${ds.id ?? state}`,
    }
  }
  if (
    (ctx.eventName === 'check_run' || ctx.eventName === 'check_suite') &&
    (p.check_run || p.check_suite)
  ) {
    const check = p.check_run ?? p.check_suite
    const suite = p.check_suite ?? p.check_run?.check_suite ?? {}
    return {
      kind: 'workflow',
      status: conclusionToStatus(check.conclusion),
      rawStatus: String(check.conclusion ?? check.status ?? 'unknown'),
      workflowName: check.name ?? check.app?.name ?? 'checks',
      branch: suite.head_branch ?? undefined,
      sha: check.head_sha ?? suite.head_sha ?? ctx.sha,
      commitMessage: suite.head_commit?.message,
      commitAuthor: suite.head_commit?.author?.name,
      actor: ctx.actor,
      runUrl:
        check.html_url ??
        check.details_url ??
        `${repoUrl}/commit/${check.head_sha ?? ctx.sha}/checks`,
      startedAt: check.started_at ?? check.created_at,
      event: `check:${check.id}`,
    }
  }
  // A step inside the workflow that failed (push, pull_request, schedule, dispatch, …).
  const workflowRef = env.GITHUB_WORKFLOW_REF ?? ''
  const file = /\/(\.github\/workflows\/[^@]+)@/.exec(workflowRef)?.[1]
  const pr = p.pull_request
  return {
    kind: 'workflow',
    status: undefined,
    rawStatus: 'unknown',
    workflowName: ctx.workflow,
    workflowFile: file,
    branch:
      env.GITHUB_HEAD_REF || env.GITHUB_REF_NAME || ctx.ref.replace(/^refs\/(heads|tags)\//, ''),
    sha: pr?.head?.sha ?? ctx.sha,
    commitMessage: p.head_commit?.message ?? pr?.title,
    commitAuthor: p.head_commit?.author?.name ?? pr?.user?.login,
    commitAuthorLogin: p.head_commit?.author?.username ?? pr?.user?.login,
    actor: ctx.actor,
    runId: ctx.runId,
    runNumber: ctx.runNumber,
    runAttempt: ctx.runAttempt || 1,
    runUrl: `${repoUrl}/actions/runs/${ctx.runId}${ctx.runAttempt > 1 ? `/attempts/${ctx.runAttempt}` : ''}`,
    compareUrl: p.compare,
    event: `run:${ctx.runId}:${ctx.runAttempt || 1}`,
  }
}

function conclusionToStatus(conclusion: unknown): RunStatus | undefined {
  if (conclusion === 'success') return 'success'
  if (conclusion === 'cancelled') return 'cancelled'
  if (typeof conclusion === 'string' && FAILED_CONCLUSIONS.has(conclusion)) return 'failure'
  return undefined
}

/** The default incident key: repository + workflow + branch, or repository + environment for deploys. */
export function defaultKey(ctx: GitHubContext, facts: RunFacts): string {
  const repo = `${ctx.repo.owner}/${ctx.repo.repo}`
  if (facts.kind === 'deploy') return `github:${repo}:deploy:${facts.environment}`
  return `github:${repo}:${facts.workflowFile ?? facts.workflowName}:${facts.branch ?? '-'}`
}

/** Builds the incident for this run. Lists failed jobs when a lister is given. */
export async function githubIncident(
  ctx: GitHubContext,
  options: GitHubAdapterOptions,
): Promise<GitHubIncident> {
  const facts = runFacts(ctx, options.env)
  const t = GITHUB_TEXTS[options.language]
  const status = options.status ?? facts.status
  const repo = `${ctx.repo.owner}/${ctx.repo.repo}`
  const fork = forkOf(ctx, repo)
  const key =
    options.key ||
    (fork && options.forks === 'separate' ? `${defaultKey(ctx, facts)}:fork:${fork}` : '') ||
    defaultKey(ctx, facts)
  // A run from a fork (a pull request from mallory/shop's main) must never resolve or update
  // the repository's own war room for its main branch.
  if (fork && options.forks !== 'separate')
    return {
      status: 'skip',
      skipReason: `the run comes from the fork ${fork}; runs from forks never touch ${repo}'s war rooms (forks: separate keys them apart)`,
      incident: { key, title: `${facts.workflowName} (${fork})`, source: 'github' },
      kind: facts.kind,
    }
  const repoUrl = `${ctx.serverUrl}/${repo}`
  const shortSha = facts.sha ? facts.sha.slice(0, 7) : ''
  const firstLine = (facts.commitMessage ?? '').split('\n')[0]!.trim()
  const where = facts.branch ?? repo
  const title =
    options.title ||
    (facts.kind === 'deploy'
      ? t.deployFailed(facts.environment!)
      : t.failed(facts.workflowName, where))

  const members = [...options.members]
  for (const login of [facts.actor, facts.commitAuthorLogin]) {
    if (login)
      members.push(
        ...(own(options.githubUsers, login) ?? own(options.githubUsers, login.toLowerCase()) ?? []),
      )
  }

  const fields = [
    { name: t.repository, value: repo },
    facts.kind === 'deploy'
      ? { name: t.environment, value: facts.environment! }
      : { name: t.workflow, value: facts.workflowName },
    ...(facts.branch ? [{ name: t.branch, value: facts.branch }] : []),
    ...(shortSha
      ? [{ name: t.commit, value: firstLine ? `${shortSha} ${firstLine}` : shortSha }]
      : []),
    ...(facts.commitAuthor ? [{ name: t.author, value: facts.commitAuthor }] : []),
    ...(facts.actor ? [{ name: t.actor, value: facts.actor }] : []),
    ...(facts.runNumber
      ? [
          {
            name: t.run,
            value: `#${facts.runNumber}${(facts.runAttempt ?? 1) > 1 ? ` (${t.attempt(facts.runAttempt!)})` : ''}`,
          },
        ]
      : []),
    { name: t.event, value: ctx.eventName },
  ]

  const links = [
    ...(facts.runUrl ? [{ label: t.runLink, url: facts.runUrl }] : []),
    ...(facts.logUrl && facts.logUrl !== facts.runUrl
      ? [{ label: t.runLink, url: facts.logUrl }]
      : []),
    ...(facts.deployUrl && facts.deployUrl !== facts.logUrl
      ? [{ label: t.deployLink, url: facts.deployUrl }]
      : []),
    ...(facts.sha ? [{ label: t.commitLink, url: `${repoUrl}/commit/${facts.sha}` }] : []),
    ...(facts.compareUrl ? [{ label: t.compareLink, url: facts.compareUrl }] : []),
  ].filter((l) => /^https?:\/\//.test(l.url))

  const items: NonNullable<IncidentInput['items']> = []
  if (status === 'failure' && options.listJobs && facts.runId) {
    try {
      const jobs = await options.listJobs(facts.runId, facts.runAttempt ?? 1)
      for (const job of jobs.filter((j) => j.conclusion && FAILED_CONCLUSIONS.has(j.conclusion))) {
        const step = job.steps?.find((s) => s.conclusion && FAILED_CONCLUSIONS.has(s.conclusion))
        items.push({
          id: `job:${job.id}`,
          title: step ? `${job.name} › ${step.name}` : job.name,
          status: 'firing',
          labels: { conclusion: job.conclusion ?? '' },
          ...(job.started_at ? { startedAt: job.started_at } : {}),
          ...(job.html_url && /^https?:\/\//.test(job.html_url) ? { url: job.html_url } : {}),
        })
      }
    } catch (error) {
      fields.push({ name: t.jobsMissing, value: t.jobsMissingWhy(jobErrorReason(error)) })
    }
  }

  const incident: IncidentInput = {
    key,
    title,
    status: status === 'success' ? 'resolved' : 'firing',
    severity: options.severity,
    source: 'github',
    summary: [firstLine, facts.description].filter(Boolean).join('\n') || undefined,
    fields,
    items,
    links,
    members,
    labels: {
      repository: repo,
      workflow: facts.workflowName,
      ...(facts.branch ? { branch: facts.branch } : {}),
    },
    event: facts.event,
    ...(facts.startedAt && status !== 'success' ? { startedAt: facts.startedAt } : {}),
    ...(status === 'success'
      ? {
          resolution:
            facts.kind === 'deploy'
              ? t.deployOk(facts.environment!, shortSha)
              : t.fixedBy(shortSha, firstLine || '-', facts.commitAuthor ?? facts.actor ?? '?'),
        }
      : {}),
  }
  if (!status) {
    return {
      status: 'skip',
      skipReason: `the ${ctx.eventName} event's status "${facts.rawStatus}" is neither failure, success nor cancelled; pass the status input (e.g. status: \${{ job.status }})`,
      incident,
      kind: facts.kind,
    }
  }
  // Names from the workflow (up to GitHub's own limits) are cut to what an incident holds.
  return { status, incident: clampIncident(incident) as IncidentInput, kind: facts.kind }
}

/** A mapping's own entry (a login "constructor" or "toString" is not a key of every object). */
function own<T>(map: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(map, key) ? map[key] : undefined
}

/** The repository a run's code came from, when it is not this repository (a fork). */
function forkOf(ctx: GitHubContext, repo: string): string | undefined {
  const p = ctx.payload
  const head: unknown =
    p.workflow_run?.head_repository?.full_name ??
    p.pull_request?.head?.repo?.full_name ??
    p.check_suite?.head_repository?.full_name ??
    p.check_run?.check_suite?.head_repository?.full_name
  if (typeof head !== 'string' || !head) return undefined
  return head.toLowerCase() === repo.toLowerCase() ? undefined : head
}

function jobErrorReason(error: unknown): string {
  const status = (error as { status?: number }).status
  if (status === 403 || status === 404) return `HTTP ${status}: the token may not read Actions`
  return errorMessage(error) ?? String(error)
}
