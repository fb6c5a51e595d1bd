// Entry point of the GitHub Action (bundled to dist/index.js by ncc).
import * as core from '@actions/core'
import * as github from '@actions/github'
import { run } from './main.js'

await run(core, github.context, process.env, {
  listJobs: async (token, ctx, runId, attempt) => {
    const octokit = github.getOctokit(token)
    return octokit.paginate(octokit.rest.actions.listJobsForWorkflowRunAttempt, {
      owner: ctx.repo.owner,
      repo: ctx.repo.repo,
      run_id: runId,
      attempt_number: attempt,
      per_page: 100,
    })
  },
})
