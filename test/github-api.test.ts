/**
 * The Action's GitHub REST call through octokit, intercepted at the HTTP
 * layer by nock: the request octokit really makes (path, query, token),
 * every page followed, and a token without actions: read refused clearly.
 */
// nock 15 uses Promise.withResolvers (Node 22+); Node 20 lacks it.
;(Promise as unknown as { withResolvers?: unknown }).withResolvers ??= () => {
  let resolve!: (v: unknown) => void
  let reject!: (e: unknown) => void
  const promise = new Promise((a, b) => {
    resolve = a
    reject = b
  })
  return { promise, resolve, reject }
}

const { default: nock } = await import('nock')

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { GitHubContext } from '../adapters/github.js'
import { listJobs } from '../src/action/github-api.js'

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
  nock.disableNetConnect()
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
