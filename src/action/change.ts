import type { GitHubContext, GitHubIncident } from '../../adapters/github.js'
import type { Core } from './inputs.js'

/**
 * With `receiver-url`, what this run did is recorded as a change on a
 * feishu-warroom receiver (PagerDuty's change event, POST /v2/change/enqueue):
 * a deploy or a workflow run, succeeded or failed, so an incident that opens
 * after it lists it ("what deployed before this fired?"). Best effort: a
 * receiver that cannot be reached is a warning, never a failed step.
 */
export async function recordChange(
  core: Core,
  ctx: GitHubContext,
  gh: GitHubIncident,
  receiver: { url: string; token: string; service: string },
): Promise<void> {
  if (gh.status !== 'success' && gh.status !== 'failure') return
  const repo = `${ctx.repo.owner}/${ctx.repo.repo}`
  const sha = ctx.sha.slice(0, 7)
  const deploy = ctx.eventName === 'deployment_status'
  const payload = ctx.payload as {
    deployment_status?: { environment?: string }
    deployment?: { environment?: string }
  }
  const environment = deploy
    ? (payload.deployment_status?.environment ?? payload.deployment?.environment)
    : undefined
  const what = deploy
    ? `Deploy of ${repo}${environment ? ` to ${environment}` : ''}`
    : `${ctx.workflow || 'workflow'} on ${repo}`
  const body = {
    routing_key: receiver.token,
    payload: {
      summary: `${what} ${gh.status === 'success' ? 'succeeded' : 'failed'} at ${sha}`,
      timestamp: new Date().toISOString(),
      source: `${ctx.serverUrl.replace(/^https?:\/\//, '')}/${repo}`,
      custom_details: {
        service: receiver.service,
        repository: repo,
        sha: ctx.sha,
        ref: ctx.ref,
        status: gh.status,
        ...(environment ? { environment } : {}),
      },
    },
    links: (gh.incident.links ?? []).slice(0, 3).map((l) => ({ href: l.url, text: l.label })),
  }
  const url = `${receiver.url.replace(/\/+$/, '')}/v2/change/enqueue`
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    })
    if (res.status !== 202)
      core.warning(
        `The change was not recorded at ${url}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`,
      )
    else core.info(`Recorded the change at ${url}`)
  } catch (error) {
    core.warning(`The change was not recorded at ${url}: ${(error as Error).message}`)
  }
}
