// Entry point of the GitHub Action (bundled to dist/index.js by ncc).
import * as core from '@actions/core'
import { readContext } from './context.js'
import { run } from './main.js'

await run(core, readContext(process.env), process.env, {
  listJobs: async (token, ctx, runId, attempt) => {
    // Loaded on demand: octokit is most of the bundle and only this needs it.
    const github = await import('@actions/github')
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
