import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { alertmanagerIncident, isZeroTime } from '../../adapters/alertmanager.js'
import { githubIncident, runFacts } from '../../adapters/github.js'
import { grafanaIncident, isGrafanaTest } from '../../adapters/grafana.js'
import { parseConfig } from '../../src/config/config.js'
import { route } from '../../src/config/routing.js'
import { parseIncident } from '../../src/model/incident.js'
import {
  alert,
  alertmanagerPayload,
  grafanaPayload,
  grafanaTestPayload,
} from '../fixtures/alerts.js'

const amOptions = {
  severityLabel: 'severity',
  severityMap: {},
  defaultSeverity: 'error' as const,

  language: 'en' as const,
}

describe('adapters/alertmanager', () => {
  it('maps a group: key, title, highest severity, fields, items, links, and the zero end time', () => {
    const payload = alertmanagerPayload([
      alert({ instance: 'a', severity: 'warning', summary: 'a is slow' }),
      alert({ instance: 'b', severity: 'critical', summary: 'b is down' }),
    ]) as any
    const incident = parseIncident(alertmanagerIncident(payload, amOptions))
    expect(incident.key).toBe(`alertmanager:feishu\\-warroom:${payload.groupKey}`)
    expect(incident.title).toBe('HighErrorRate (2 alerts)')
    expect(incident.severity).toBe('critical')
    expect(incident.fields.map((f) => f.name)).toEqual(['team', 'job'])
    expect(incident.items.map((i) => [i.title, i.status, i.url?.includes('i=a')])).toEqual([
      ['a is slow', 'firing', true],
      ['b is down', 'firing', false],
    ])
    expect(incident.items[0]!.endedAt).toBeUndefined()
    expect(incident.links.map((l) => l.label)).toEqual(['Runbook', 'Alertmanager', 'Silence'])
    expect(decodeURIComponent(incident.links[2]!.url)).toContain(
      'filter={alertname="HighErrorRate",team="payments"}',
    )
    expect(incident.startedAt).toBe('2026-11-25T01:58:31.127Z')
    expect(isZeroTime('0001-01-01T00:00:00Z')).toBe(true)
  })

  it('maps severities through the configured and default names', () => {
    const sev = (value: string, map: Record<string, any> = {}) =>
      parseIncident(
        alertmanagerIncident(
          alertmanagerPayload([alert({ instance: 'a', severity: value })]) as any,
          { ...amOptions, severityMap: map },
        ),
      ).severity
    expect(sev('page')).toBe('critical')
    expect(sev('sev3', { sev3: 'warning' })).toBe('warning')
    expect(sev('whatever')).toBe('error')
  })

  it('gives the same event id to the same notification and a new one when it changes', () => {
    const one = alertmanagerIncident(
      alertmanagerPayload([alert({ instance: 'a' })]) as any,
      amOptions,
    )
    const same = alertmanagerIncident(
      alertmanagerPayload([alert({ instance: 'a' })]) as any,
      amOptions,
    )
    const other = alertmanagerIncident(
      alertmanagerPayload([alert({ instance: 'a', status: 'resolved' })]) as any,
      amOptions,
    )
    expect(one.event).toBe(same.event)
    expect(other.event).not.toBe(one.event)
  })
})

describe('adapters/grafana', () => {
  it('adds dashboard, panel and silence links, values and images, and spots the Test button', () => {
    const payload = grafanaPayload([alert({ instance: 'a' })]) as any
    payload.alerts[0].imageURL = 'https://grafana.acme.example/render/panel.png'
    const incident = parseIncident(grafanaIncident(payload, amOptions))
    expect(incident.key).toBe(`grafana:1:feishu:${payload.groupKey}`)
    expect(incident.links.map((l) => l.label)).toEqual([
      'Runbook',
      'Dashboard',
      'Panel',
      'Silence',
      'Grafana',
    ])
    expect(incident.images).toEqual(['https://grafana.acme.example/render/panel.png'])
    expect(incident.items[0]!.labels.Value).toContain('0.072')
    expect(isGrafanaTest(grafanaTestPayload() as any)).toBe(true)
    expect(isGrafanaTest(payload)).toBe(false)
  })
})

describe('adapters/github', () => {
  const ctx = (eventName: string, payload: Record<string, unknown>) => ({
    eventName,
    sha: 'abc1234567',
    ref: 'refs/heads/main',
    workflow: 'CI',
    actor: 'mona',
    runId: 9,
    runNumber: 3,
    runAttempt: 1,
    serverUrl: 'https://github.com',
    repo: { owner: 'acme', repo: 'shop' },
    payload,
  })
  const options = {
    severity: 'error' as const,
    language: 'en' as const,
    members: [],
    githubUsers: {},
    env: {},
  }

  it('reads the status of check_suite and check_run events', async () => {
    const suite = {
      check_suite: {
        id: 5,
        conclusion: 'failure',
        head_branch: 'main',
        head_sha: 'def4567890',
        app: { name: 'CircleCI' },
      },
    }
    const gh = await githubIncident(ctx('check_suite', suite), options)
    expect(gh.status).toBe('failure')
    expect(gh.incident.key).toBe('github:acme/shop:CircleCI:main')
    const run = {
      check_run: {
        id: 6,
        name: 'build',
        conclusion: 'success',
        head_sha: 'def4567890',
        html_url: 'https://github.com/acme/shop/runs/6',
        check_suite: { head_branch: 'main' },
      },
    }
    expect((await githubIncident(ctx('check_run', run), options)).status).toBe('success')
  })

  it('skips an event whose status it cannot tell, saying which input to pass', async () => {
    const gh = await githubIncident(ctx('push', {}), options)
    expect(gh.status).toBe('skip')
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the GitHub expression the message suggests
    expect(gh.skipReason).toContain('status: ${{ job.status }}')
  })

  it('uses the pull request head and the workflow file for a pull_request job', () => {
    const facts = runFacts(
      ctx('pull_request', {
        pull_request: {
          title: 'Add feature',
          head: { sha: 'feed1234' },
          user: { login: 'octocat' },
        },
      }),
      {
        GITHUB_HEAD_REF: 'feature/x',
        GITHUB_WORKFLOW_REF: 'acme/shop/.github/workflows/pr.yml@refs/pull/1/merge',
      },
    )
    expect(facts.branch).toBe('feature/x')
    expect(facts.sha).toBe('feed1234')
    expect(facts.workflowFile).toBe('.github/workflows/pr.yml')
    expect(facts.commitAuthorLogin).toBe('octocat')
  })
})

describe('configuration', () => {
  it('accepts the README’s example config', () => {
    const readme = readFileSync('README.md', 'utf8')
    const block = /```yaml\n(# warroom\.yml[\s\S]*?)```/.exec(readme)?.[1]
    expect(block).toBeDefined()
    const config = parseConfig(parseYaml(block!))
    expect(config.routes).toHaveLength(2)
    expect(config.warroom.reopen_window).toBe(30 * 60_000)
    expect(
      route({ team: 'payments', service: 'checkout-api' }, config.routes, config.members),
    ).toMatchObject({
      members: ['sre-lead@acme.com', 'alice@acme.com', 'bob@acme.com'],
      matched: [0],
      escalation: [
        { after: 5 * 60_000, urgent: 'app', to: ['alice@acme.com', 'bob@acme.com'], invite: [] },
        { after: 15 * 60_000, urgent: 'phone', to: [], invite: ['carol@acme.com'] },
      ],
    })
    expect(route({ service: 'checkout-api' }, config.routes).severity).toBe('critical')
  })

  it('names the bad key in a config error', () => {
    expect(() => parseConfig({ server: { port: 'eighty' } })).toThrow(/server\.port/)
    expect(() => parseConfig({ routez: [] })).toThrow(/unknown field\(s\) routez/)
    expect(() => parseConfig({ warroom: { reopen_window: 'soon' } })).toThrow(
      /warroom\.reopen_window: must be a duration/,
    )
  })
})
