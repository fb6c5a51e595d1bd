/**
 * The sandbox's Alertmanager stand-in answers as the real Alertmanager does:
 * the same requests go to both and their answers are compared, and the real
 * amtool works against the stand-in.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { request } from 'undici'
import { describe, expect, it } from 'vitest'
import { ALERTMANAGER, startAlertmanager, webhookConfig } from '../support/alertmanager.js'
import { sandbox } from '../support/helpers.js'

const hour = 3600_000
// Not execFileSync: the stand-in answers from this very process.
const run = async (...args: string[]) => (await promisify(execFile)('amtool', args)).stdout
const iso = (ms: number) => new Date(ms).toISOString()
const silence = (over: Record<string, unknown> = {}) => ({
  matchers: [{ name: 'alertname', value: 'DiskFull', isRegex: false, isEqual: true }],
  startsAt: iso(Date.now()),
  endsAt: iso(Date.now() + hour),
  createdBy: 'Alice Wang',
  comment: 'rolling back',
  ...over,
})

/** What a run of requests answered, with ids and times replaced by their kind. */
async function conversation(api: string) {
  const answers: unknown[] = []
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await request(`${api}${path}`, {
      method: method as 'GET',
      headers: { 'content-type': 'application/json' },
      ...(body !== undefined
        ? { body: typeof body === 'string' ? body : JSON.stringify(body) }
        : {}),
    })
    const text = await res.body.text()
    let json: unknown = text
    try {
      json = JSON.parse(text)
    } catch {}
    answers.push({
      [`${method} ${path.replace(/[0-9a-f-]{36}/, ':id')}`]: res.statusCode,
      body: shape(json),
    })
    return json as Record<string, any>
  }
  const { silenceID } = await call('POST', '/api/v2/silences', silence())
  await call('GET', '/api/v2/silences')
  await call('GET', `/api/v2/silence/${silenceID}`)
  await call('POST', '/api/v2/silences', silence({ endsAt: iso(Date.now() - hour) }))
  await call(
    'POST',
    '/api/v2/silences',
    silence({ startsAt: iso(Date.now() - 2 * hour), endsAt: iso(Date.now() - hour) }),
  )
  await call('POST', '/api/v2/silences', silence({ matchers: [] }))
  await call('POST', '/api/v2/silences', silence({ comment: undefined }))
  await call('POST', '/api/v2/silences', silence({ matchers: [{ name: 'a', value: 'b' }] }))
  await call(
    'POST',
    '/api/v2/silences',
    silence({ matchers: [{ name: 'a', value: '', isRegex: false }] }),
  )
  await call('POST', '/api/v2/silences', '{')
  await call('DELETE', `/api/v2/silence/${silenceID}`)
  const expired = await call('GET', `/api/v2/silence/${silenceID}`)
  await call('DELETE', `/api/v2/silence/${silenceID}`)
  await call('DELETE', '/api/v2/silence/00000000-0000-0000-0000-000000000000')
  await call('DELETE', '/api/v2/silence/nope')
  await call('GET', '/api/v2/silence/00000000-0000-0000-0000-000000000000')
  return { answers, expired }
}

/** Ids and times by kind, messages kept: what must agree is the shape and the words. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shape)
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, shape(v)]),
    )
  if (typeof value === 'string' && /^[0-9a-f-]{36}$/.test(value)) return '<uuid>'
  if (typeof value === 'string' && /^\d{4}-\d\d-\d\dT/.test(value)) return '<time>'
  // Go's JSON decoder names the offset; the stand-in says only that parsing failed.
  if (typeof value === 'string' && value.startsWith('parsing silence body')) return '<parse error>'
  return value
}

describe.skipIf(!ALERTMANAGER)('the sandbox Alertmanager stand-in', () => {
  it('answers the silences API as Alertmanager does, request for request', {
    timeout: 60_000,
  }, async () => {
    const real = await startAlertmanager(webhookConfig('http://127.0.0.1:9'))
    const s = await sandbox()
    const ours = await conversation(`${s.url}/alertmanager`)
    const theirs = await conversation(real.url)
    expect(ours.answers).toEqual(theirs.answers)
    expect(ours.expired.status.state).toBe('expired')
    expect(Date.parse(ours.expired.endsAt)).toBeLessThanOrEqual(Date.now())
  })

  it('is driven by the real amtool: add, query, expire', async () => {
    const s = await sandbox()
    const url = `--alertmanager.url=${s.url}/alertmanager`
    const id = (
      await run(
        'silence',
        'add',
        url,
        '--author=Bob Li',
        '--comment=deploying',
        '--duration=2h',
        'team=payments',
      )
    ).trim()
    const listed = JSON.parse(await run('silence', 'query', url, '-o', 'json')) as Array<{
      id: string
      createdBy: string
      matchers: Array<{ name: string; value: string }>
    }>
    expect(
      listed.map((x) => [x.id, x.createdBy, x.matchers[0]!.name, x.matchers[0]!.value]),
    ).toEqual([[id, 'Bob Li', 'team', 'payments']])
    await run('silence', 'expire', url, id)
    expect((await run('silence', 'query', url, '-q')).trim()).toBe('')
    expect(s.alertmanager.state(s.alertmanager.silences.get(id)!)).toBe('expired')
  })
})
