import { existsSync, readFileSync } from 'node:fs'
import type { GitHubContext } from '../../adapters/github.js'

/**
 * The workflow context from the runner's environment, as @actions/github's
 * `context` reads it. Read here so that the action does not load octokit
 * (most of the bundle) unless it lists jobs: that keeps its cold start short.
 */
export function readContext(env: NodeJS.ProcessEnv): GitHubContext {
  let payload: Record<string, unknown> = {}
  const path = env.GITHUB_EVENT_PATH
  if (path && existsSync(path))
    payload = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>
  const [owner = '', repo = ''] = (env.GITHUB_REPOSITORY ?? '').split('/')
  return {
    eventName: env.GITHUB_EVENT_NAME ?? '',
    sha: env.GITHUB_SHA ?? '',
    ref: env.GITHUB_REF ?? '',
    workflow: env.GITHUB_WORKFLOW ?? '',
    actor: env.GITHUB_ACTOR ?? '',
    runId: Number(env.GITHUB_RUN_ID ?? 0),
    runNumber: Number(env.GITHUB_RUN_NUMBER ?? 0),
    runAttempt: Number(env.GITHUB_RUN_ATTEMPT ?? 1),
    serverUrl: env.GITHUB_SERVER_URL ?? 'https://github.com',
    repo: { owner, repo },
    payload,
  }
}
