/**
 * action.yml and every workflow example in README.md, checked by GitHub's own
 * parser (@actions/workflow-parser) and language service
 * (@actions/languageservice), the code behind the Actions VS Code extension.
 * What these refuse, a runner refuses at "Set up job".
 */
import { readFileSync } from 'node:fs'
import { validate } from '@actions/languageservice'
import type { ActionMetadata } from '@actions/languageservice/action'
import { NoOperationTraceWriter } from '@actions/workflow-parser'
import { parseAction } from '@actions/workflow-parser/actions/action-parser'
import { describe, expect, it } from 'vitest'
import { TextDocument } from 'vscode-languageserver-textdocument'
import { parse, stringify } from 'yaml'
import { codeBlocks } from './markdown.js'

const ACTION_YML = readFileSync('action.yml', 'utf8')
let documents = 0

/** Errors of GitHub's action.yml parser and of the language service. */
async function actionErrors(text: string): Promise<string[]> {
  const parsed = parseAction({ name: 'action.yml', content: text }, new NoOperationTraceWriter())
  const parserErrors = parsed.context.errors.getErrors().map((e) => e.message)
  const doc = TextDocument.create(`file:///repo-${++documents}/action.yml`, 'yaml', 1, text)
  const diagnostics = await validate(doc)
  return [...parserErrors, ...diagnostics.map((d) => String(d.message))]
}

/** This action's metadata as the language service sees a published action's. */
function metadata(): ActionMetadata {
  const action = parse(ACTION_YML) as ActionMetadata
  return { name: action.name, description: action.description, inputs: action.inputs ?? {} }
}

/** The language service's diagnostics for a workflow using this action. */
async function workflowDiagnostics(workflow: string) {
  // The service caches parses by URI: one URI per document.
  const uri = `file:///repo/.github/workflows/warroom-${++documents}.yml`
  const doc = TextDocument.create(uri, 'yaml', 1, workflow)
  const seen: string[] = []
  const diagnostics = await validate(doc, {
    actionsMetadataProvider: {
      fetchActionMetadata: async (ref) => {
        seen.push(`${ref.owner}/${ref.name}`)
        // Only this action's inputs are vouched for; others are taken as found.
        if (ref.name === 'feishu-warroom') return metadata()
        return { name: ref.name, description: '' }
      },
    },
  })
  return { diagnostics, seen }
}

/** A README fragment as a whole workflow: steps, a job, jobs, or a workflow. */
function asWorkflow(fragment: string): string {
  const value = parse(fragment.replaceAll('<owner>', 'acme')) as unknown
  const job = (steps: unknown) => ({ 'runs-on': 'ubuntu-latest', steps })
  let workflow: Record<string, unknown>
  if (Array.isArray(value)) workflow = { on: 'push', jobs: { warroom: job(value) } }
  else {
    const map = value as Record<string, unknown>
    if ('on' in map) workflow = map
    else if ('jobs' in map) workflow = { on: 'push', ...map }
    else workflow = { on: 'push', jobs: map }
  }
  return stringify(workflow, { lineWidth: 0 })
}

type Step = { uses?: string; run?: string; if?: string; with?: Record<string, unknown> }
type Job = { permissions?: unknown; if?: string; steps?: Step[] }

/**
 * What GitHub's parser accepts but a runner then gets wrong: a notifier
 * skipped on failure, a repository file read before checkout, a token that
 * may not list the run's jobs.
 */
function pitfalls(workflow: string): string[] {
  const wf = parse(workflow) as { permissions?: unknown; jobs: Record<string, Job> }
  const out: string[] = []
  const canReadActions = (p: unknown) =>
    p === 'read-all' ||
    p === 'write-all' ||
    (typeof p === 'object' && p !== null && /read|write/.test(String((p as any).actions)))
  for (const [name, job] of Object.entries(wf.jobs)) {
    const steps = job.steps ?? []
    const index = steps.findIndex((s) => s.uses?.includes('feishu-warroom@'))
    if (index < 0) continue
    const step = steps[index]!
    if (!canReadActions(job.permissions ?? wf.permissions))
      out.push(
        `${name}: permissions do not grant actions: read (listing the failed jobs answers 403)`,
      )
    if (String(step.with?.status ?? '').includes('job.status') && !/always\(\)/.test(step.if ?? ''))
      out.push(
        `${name}: a step passing job.status runs without if: always(), so it never reports a failure`,
      )
    const users = String(step.with?.['github-users'] ?? '')
    const checkedOut = steps.slice(0, index).some((s) => s.uses?.startsWith('actions/checkout@'))
    if (/^[\w./-]+\.(ya?ml|json)$/.test(users) && !checkedOut)
      out.push(`${name}: github-users reads ${users} but no actions/checkout step comes first`)
    for (const s of steps.slice(0, index))
      if (/(^|\s)\.\//.test(s.run ?? '') && !checkedOut)
        out.push(`${name}: \`${s.run}\` runs a repository file before any checkout`)
  }
  return out
}

const examples = codeBlocks('README.md').filter(
  (b) => b.lang === 'yaml' && b.text.includes('feishu-warroom@'),
)

describe('GitHub’s parser', () => {
  it('loads action.yml with no error', async () => {
    expect(await actionErrors(ACTION_YML)).toEqual([])
  })

  it('refuses an expression in an input description, as a runner does', async () => {
    const broken = ACTION_YML.replace(
      /(\n {2}status:\n {4}description: ")/,
      `$1Pass \${{ job.status }} here. `,
    )
    expect(broken).not.toBe(ACTION_YML)
    const errors = await actionErrors(broken)
    expect(errors.join('\n')).toMatch(/named-value: 'job'/)
  })

  it('finds the README’s workflow examples', () => {
    expect(examples.length).toBeGreaterThanOrEqual(5)
  })

  for (const example of examples) {
    it(`accepts the README example at line ${example.line}`, async () => {
      const workflow = asWorkflow(example.text)
      const { diagnostics, seen } = await workflowDiagnostics(workflow)
      expect(seen).toContain('acme/feishu-warroom')
      expect(diagnostics.map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([])
      expect(pitfalls(workflow)).toEqual([])
    })
  }

  it('names the pitfalls of examples that parse but fail on a runner', () => {
    const bare = asWorkflow(
      `- uses: acme/feishu-warroom@v1\n  with: { app-id: a, app-secret: b, status: "\${{ job.status }}", github-users: .github/u.yml }\n`,
    )
    expect(pitfalls(bare)).toEqual([
      'warroom: permissions do not grant actions: read (listing the failed jobs answers 403)',
      'warroom: a step passing job.status runs without if: always(), so it never reports a failure',
      'warroom: github-users reads .github/u.yml but no actions/checkout step comes first',
    ])
  })

  it('accepts this repository’s own workflows', async () => {
    for (const file of ['.github/workflows/ci.yml', '.github/workflows/release.yml']) {
      const { diagnostics } = await workflowDiagnostics(readFileSync(file, 'utf8'))
      expect(diagnostics.map((d) => `${file}:${d.range.start.line + 1}: ${d.message}`)).toEqual([])
    }
  })

  it('catches a wrong input name and a missing required input through the action’s metadata', async () => {
    const { diagnostics } = await workflowDiagnostics(
      asWorkflow(
        '- uses: acme/feishu-warroom@v1\n  with:\n    app-id: x\n    app-secrets: y\n    sevrity: critical\n',
      ),
    )
    const messages = diagnostics.map((d) => d.message).join('\n')
    expect(messages).toMatch(/app-secrets/)
    expect(messages).toMatch(/sevrity/)
    expect(messages).toMatch(/app-secret/)
  })
})
