import type { FailedJob, GitHubContext } from '../../adapters/github.js'

/**
 * The one GitHub REST call the Action makes: the jobs of a run attempt
 * (GET /repos/{owner}/{repo}/actions/runs/{run_id}/attempts/{attempt}/jobs,
 * https://docs.github.com/rest/actions/workflow-jobs), every page. Octokit is
 * loaded on demand: it is most of the bundle and only this needs it.
 */
export async function listJobs(
  token: string,
  ctx: GitHubContext,
  runId: number,
  attempt: number,
): Promise<FailedJob[]> {
  const github = await import('@actions/github')
  const octokit = github.getOctokit(token)
  return octokit.paginate(octokit.rest.actions.listJobsForWorkflowRunAttempt, {
    owner: ctx.repo.owner,
    repo: ctx.repo.repo,
    run_id: runId,
    attempt_number: attempt,
    per_page: 100,
  })
}
