/**
 * The Action's GitHub REST call through octokit, intercepted at the HTTP
 * layer by nock: the request octokit really makes (path, query, token),
 * every page followed, and a token without actions: read refused clearly.
 */
import nock from 'nock'

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { GitHubContext } from '../../adapters/github.js'
import { listJobs } from '../../src/action/github-api.js'
import type { Core } from '../../src/action/inputs.js'
import { run } from '../../src/action/main.js'
import { jobsFor, workflowRunEvent } from '../fixtures/github.js'
import { sandbox, view } from '../support/helpers.js'

const API = 'https://api.github.com'
const ctx = { repo: { owner: 'acme', repo: 'shop' } } as GitHubContext
const job = (id: number, conclusion: string) => ({
  id,
  name: `job ${id}`,
  conclusion,
  status: 'completed',
  html_url: `https://github.com/acme/shop/actions/runs/42/job/${id}`,
  steps: [],
})

beforeEach(() => {
  vi.stubEnv('GITHUB_API_URL', API)
  // Only GitHub is intercepted; the Feishu sandbox on loopback is reached for real.
  nock.disableNetConnect()
  nock.enableNetConnect('127.0.0.1')
})
afterEach(() => {
  nock.cleanAll()
  nock.enableNetConnect()
})

describe('listing a run attempt’s jobs', () => {
  it('asks for the attempt’s jobs with the token and follows every page', async () => {
    const path = '/repos/acme/shop/actions/runs/42/attempts/2/jobs'
    const scope = nock(API, { reqheaders: { authorization: 'token ghs_testtoken123' } })
      .get(path)
      .query({ per_page: '100' })
      .reply(
        200,
        { total_count: 101, jobs: [job(1, 'failure'), job(2, 'success')] },
        {
          link: `<${API}${path}?per_page=100&page=2>; rel="next", <${API}${path}?per_page=100&page=2>; rel="last"`,
        },
      )
      .get(path)
      .query({ per_page: '100', page: '2' })
      .reply(200, { total_count: 101, jobs: [job(3, 'cancelled')] })
    const jobs = await listJobs('ghs_testtoken123', ctx, 42, 2)
    expect(jobs.map((j) => [j.id, j.conclusion])).toEqual([
      [1, 'failure'],
      [2, 'success'],
      [3, 'cancelled'],
    ])
    scope.done()
  })

  it('surfaces GitHub’s 403 for a token without actions: read', async () => {
    const scope = nock(API)
      .get('/repos/acme/shop/actions/runs/7/attempts/1/jobs')
      .query(true)
      .reply(403, { message: 'Resource not accessible by integration' })
    await expect(listJobs('ghs_noactions', ctx, 7, 1)).rejects.toThrow(
      /Resource not accessible by integration/,
    )
    scope.done()
  })
})

describe('the Action in-process, GitHub intercepted by nock', () => {
  it('opens a war room for a failed workflow_run with the failed jobs read through octokit, and sets its outputs', async () => {
    const s = await sandbox()
    const scope = nock(API)
      .get('/repos/acme/shop/actions/runs/30433642/attempts/1/jobs')
      .query({ per_page: '100' })
      .reply(200, jobsFor(30433642, 1))
    const outputs: Record<string, string> = {}
    const failed: string[] = []
    const inputs: Record<string, string> = {
      'app-id': s.appId,
      'app-secret': s.appSecret,
      domain: s.url,
      'github-token': 'ghs_testtoken123',
    }
    const summary = {
      addHeading: () => summary,
      addRaw: () => summary,
      addTable: () => summary,
      addLink: () => summary,
      write: async () => summary,
    }
    const core = {
      getInput: (name: string) => inputs[name] ?? '',
      setSecret: () => {},
      setOutput: (name: string, value: unknown) => {
        outputs[name] = String(value)
      },
      setFailed: (message: string) => void failed.push(message),
      warning: () => {},
      error: () => {},
      info: () => {},
      debug: () => {},
      notice: () => {},
      summary,
    } as unknown as Core
    const ctx = {
      eventName: 'workflow_run',
      sha: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
      ref: 'refs/heads/main',
      workflow: 'Warroom',
      actor: 'mona',
      runId: 1,
      runNumber: 1,
      runAttempt: 1,
      serverUrl: 'https://github.com',
      repo: { owner: 'acme', repo: 'shop' },
      payload: workflowRunEvent({ conclusion: 'failure' }),
    }
    await run(core, ctx, { GITHUB_WORKSPACE: process.cwd() }, { listJobs })
    expect(failed).toEqual([])
    expect(outputs.action).toBe('opened')
    expect(view(s, outputs['chat-id']!).cardRead).toContain('test (node 20)')
    scope.done()
  })
})
