import { execFile } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FeishuSandbox } from '../../src/sandbox/server.js'
import { deploymentStatusEvent, jobsFor, pushEvent, workflowRunEvent } from '../fixtures/github.js'
import { sandbox, tempDir, view } from '../support/helpers.js'
import { post, startReceiver, TOKEN } from '../support/receiver.js'

let github: Server
let githubUrl: string
const githubCalls: string[] = []

beforeAll(async () => {
  // A stand-in for api.github.com: the jobs of a run attempt, or 403 for a token without actions: read.
  github = createServer((req, res) => {
    githubCalls.push(`${req.method} ${req.url}`)
    const m = /^\/repos\/acme\/shop\/actions\/runs\/(\d+)\/attempts\/(\d+)\/jobs/.exec(
      req.url ?? '',
    )
    if (req.headers.authorization?.includes('ghs_noactions')) {
      res.writeHead(403, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ message: 'Resource not accessible by integration' }))
    } else if (m) {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(jobsFor(Number(m[1]), Number(m[2]))))
    } else {
      res.writeHead(404, { 'content-type': 'application/json' })
      res.end('{"message":"Not Found"}')
    }
  })
  await new Promise<void>((r) => github.listen(0, '127.0.0.1', r))
  githubUrl = `http://127.0.0.1:${(github.address() as AddressInfo).port}`
})

afterAll(() => {
  github.close()
})

interface RunOptions {
  eventName: string
  event: unknown
  inputs?: Record<string, string>
  env?: Record<string, string>
}

/** Runs dist/index.js the way the runner does and reads back its outputs and summary. */
async function runAction(s: FeishuSandbox, opts: RunOptions) {
  const dir = await tempDir()
  const workspace = join(dir, 'workspace')
  await mkdir(workspace)
  const eventPath = join(dir, 'event.json')
  const outputPath = join(dir, 'output')
  const summaryPath = join(dir, 'summary.md')
  await writeFile(eventPath, JSON.stringify(opts.event))
  await writeFile(outputPath, '')
  await writeFile(summaryPath, '')
  const inputs: Record<string, string> = {
    'app-id': s.appId,
    'app-secret': s.appSecret,
    domain: s.url,
    'github-token': 'ghs_testtoken123',
    severity: 'error',
    'resolved-prefix': '[已解决] ',
    language: 'zh',
    'fail-on-error': 'true',
    ...opts.inputs,
  }
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    GITHUB_ACTIONS: 'true',
    GITHUB_EVENT_NAME: opts.eventName,
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_REPOSITORY: 'acme/shop',
    GITHUB_REPOSITORY_OWNER: 'acme',
    GITHUB_SHA: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_REF_NAME: 'main',
    GITHUB_HEAD_REF: '',
    GITHUB_WORKFLOW: 'CI',
    GITHUB_WORKFLOW_REF: 'acme/shop/.github/workflows/ci.yml@refs/heads/main',
    GITHUB_RUN_ID: '30433642',
    GITHUB_RUN_NUMBER: '562',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_ACTOR: 'mona',
    GITHUB_JOB: 'notify',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_API_URL: githubUrl,
    GITHUB_GRAPHQL_URL: `${githubUrl}/graphql`,
    GITHUB_OUTPUT: outputPath,
    GITHUB_STEP_SUMMARY: summaryPath,
    GITHUB_WORKSPACE: workspace,
    RUNNER_TEMP: dir,
    ...opts.env,
  }
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v
  const { code, stdout, stderr } = await new Promise<{
    code: number
    stdout: string
    stderr: string
  }>((resolve) => {
    execFile(
      process.execPath,
      ['dist/index.js'],
      { env, timeout: 60_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr })
      },
    )
  })
  return {
    code,
    stdout,
    stderr,
    outputs: parseOutputs(await readFile(outputPath, 'utf8')),
    summary: await readFile(summaryPath, 'utf8'),
    workspace,
  }
}

function parseOutputs(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  const re = /^([\w-]+)<<(ghadelimiter_[\w-]+)\n([\s\S]*?)\n\2$/gm
  for (const m of text.matchAll(re)) out[m[1]!] = m[3]!
  return out
}

/** Output without the ::add-mask:: commands, which the runner consumes. */
const unmasked = (text: string) =>
  text
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask::'))
    .join('\n')

const chats = (s: FeishuSandbox) => [...s.state.chats.values()]

describe('the bundled action, run as the runner runs it', () => {
  it('opens a war room for a failing push-triggered job, with the failed jobs and the people', async () => {
    const s = await sandbox()
    const [alice, bob] = [...s.state.users.values()]
    const r = await runAction(s, {
      eventName: 'push',
      event: pushEvent(),
      inputs: {
        status: 'failure',
        members: alice!.open_id,
        'github-users': 'mona: bob@example.com',
      },
    })
    expect(unmasked(r.stderr + r.stdout)).not.toContain(s.appSecret)
    expect(r.code, r.stdout).toBe(0)
    expect(r.outputs.action).toBe('opened')
    expect(r.outputs['incident-key']).toBe('github:acme/shop:.github/workflows/ci.yml:main')
    const [chat] = chats(s)
    expect(r.outputs['chat-id']).toBe(chat!.chat_id)
    expect(r.outputs['chat-url']).toBe(
      `https://applink.feishu.cn/client/chat/open?openChatId=${chat!.chat_id}`,
    )
    const v = view(s, chat!.chat_id)
    expect(v.name).toBe('🔴 [P1] CI 在 main 上失败')
    expect(v.members.sort()).toEqual([alice!.open_id, bob!.open_id].sort())
    expect(r.outputs['message-id']).toBe(v.cards[0]!.message_id)
    expect(v.pinned).toEqual([v.cards[0]!.message_id])
    expect(v.cardRead).toContain('test (node 20) › Run npm test')
    expect(v.cardText).toContain('https://github.com/acme/shop/actions/runs/30433642/job/304336421')
    expect(v.cardText).not.toContain('lint')
    expect(v.cardRead).toContain('Switch checkout to the new payment client')
    expect(v.cardText).toContain('https://github.com/acme/shop/compare/')
    expect(r.summary).toContain('Opened a war room')
    expect(r.summary).toContain(chat!.chat_id)
  })

  it('follows a workflow_run failure, its re-run failing again in the same chat, and the fix resolving it', async () => {
    const s = await sandbox()
    const first = await runAction(s, {
      eventName: 'workflow_run',
      event: workflowRunEvent({ conclusion: 'failure' }),
    })
    expect(first.outputs.action).toBe('opened')
    expect(first.outputs['incident-key']).toBe('github:acme/shop:.github/workflows/ci.yml:main')
    const chatId = first.outputs['chat-id']!
    // It describes the watched run (run 30433642 of CI), not the watcher.
    expect(view(s, chatId).cardText).toContain('https://github.com/acme/shop/actions/runs/30433642')
    expect(view(s, chatId).cardText).toContain('The Octocat')

    const rerun = await runAction(s, {
      eventName: 'workflow_run',
      event: workflowRunEvent({ conclusion: 'failure', attempt: 2 }),
    })
    expect(rerun.outputs.action).toBe('updated')
    expect(rerun.outputs['chat-id']).toBe(chatId)
    expect(chats(s)).toHaveLength(1)
    expect(view(s, chatId).cards).toHaveLength(1)
    expect(view(s, chatId).cardText).toContain('第 2 次尝试')
    expect(view(s, chatId).posts.at(-1)).toContain('有新的失败')
    expect(view(s, chatId).posts.at(-1)).toContain('test (node 20) › Run npm test')

    const fixed = await runAction(s, {
      eventName: 'workflow_run',
      event: workflowRunEvent({
        conclusion: 'success',
        runId: 30433700,
        sha: 'beefcafe1234567890',
        message: 'Pin payment SDK to 4.2',
      }),
    })
    expect(fixed.outputs.action).toBe('resolved')
    const v = view(s, chatId)
    expect(v.name).toBe('[已解决] [P1] CI 在 main 上失败')
    expect(v.card.header.template).toBe('green')
    expect(v.posts.at(-2)).toContain('由提交 beefcaf「Pin payment SDK to 4.2」(The Octocat) 修复')
    expect(v.posts.at(-2)).toMatch(/持续 /)
    expect(fixed.summary).toContain('Resolved the war room')
    // The job summary gives the figures and the link, never the chat's words; no file unless asked.
    expect(fixed.summary).toContain('Time to resolve')
    expect(fixed.summary).not.toContain('有新的失败')
    expect(fixed.outputs['timeline-file']).toBeUndefined()
    expect(view(s, chatId).posts.at(-1)).toContain('复盘摘要')
  })

  it('writes the transcript to a file only when asked, warning on a public repository', async () => {
    const s = await sandbox()
    const failing = workflowRunEvent({ conclusion: 'failure', runId: 30433800 }) as any
    await runAction(s, { eventName: 'workflow_run', event: failing })
    const fixed = workflowRunEvent({ conclusion: 'success', runId: 30433801 }) as any
    fixed.repository = { ...fixed.repository, full_name: 'acme/shop', private: false }
    const r = await runAction(s, {
      eventName: 'workflow_run',
      event: fixed,
      inputs: { 'timeline-file': 'true' },
    })
    expect(r.outputs.action).toBe('resolved')
    const timeline = await readFile(r.outputs['timeline-file']!, 'utf8')
    expect(timeline).toContain('# 事件时间线')
    expect(timeline).toContain('War Room Bot started the group chat')
    expect(r.stdout).toMatch(
      /::warning::timeline-file holds the whole war-room chat and this repository is public/,
    )
    expect(r.summary).not.toContain('War Room Bot started the group chat')
  })

  it('puts concurrent notifiers of one run (matrix jobs) into one chat with one card', async () => {
    const s = await sandbox()
    const runs = await Promise.all(
      [1, 2, 3].map(() =>
        runAction(s, { eventName: 'push', event: pushEvent(), inputs: { status: 'failure' } }),
      ),
    )
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0])
    expect(chats(s)).toHaveLength(1)
    expect(view(s, chats(s)[0]!.chat_id).cards).toHaveLength(1)
  })

  it('does nothing for a success when no war room is open', async () => {
    const s = await sandbox()
    const r = await runAction(s, {
      eventName: 'workflow_run',
      event: workflowRunEvent({ conclusion: 'success' }),
    })
    expect(r.code).toBe(0)
    expect(r.outputs.action).toBe('none')
    expect(r.outputs['chat-id']).toBe('')
    expect(chats(s)).toHaveLength(0)
    expect(
      s.requests.filter((q) => q.endpoint === 'createChat' || q.endpoint === 'sendMessage'),
    ).toHaveLength(0)
  })

  it('reports a cancelled run in an open chat but opens none', async () => {
    const s = await sandbox()
    const nothing = await runAction(s, {
      eventName: 'push',
      event: pushEvent(),
      inputs: { status: 'cancelled' },
    })
    expect(nothing.outputs.action).toBe('none')
    expect(chats(s)).toHaveLength(0)
    await runAction(s, { eventName: 'push', event: pushEvent(), inputs: { status: 'failure' } })
    const cancelled = await runAction(s, {
      eventName: 'push',
      event: pushEvent(),
      inputs: { status: 'cancelled' },
      env: { GITHUB_RUN_ID: '30433650', GITHUB_RUN_NUMBER: '563' },
    })
    expect(cancelled.outputs.action).toBe('updated')
    expect(view(s, chats(s)[0]!.chat_id).posts.at(-1)).toContain('运行 #563 已取消')
  })

  it('opens a deploy incident on deployment_status failure and resolves it on the next success', async () => {
    const s = await sandbox()
    const failed = await runAction(s, {
      eventName: 'deployment_status',
      event: deploymentStatusEvent('failure', 1),
    })
    expect(failed.outputs.action).toBe('opened')
    expect(failed.outputs['incident-key']).toBe('github:acme/shop:deploy:production')
    const chatId = failed.outputs['chat-id']!
    expect(view(s, chatId).name).toBe('🔴 [P1] 部署到 production 失败')
    expect(view(s, chatId).cardText).toContain('Health check failed after rollout')
    const ok = await runAction(s, {
      eventName: 'deployment_status',
      event: deploymentStatusEvent('success', 2),
    })
    expect(ok.outputs.action).toBe('resolved')
    expect(view(s, chatId).name).toBe('[已解决] [P1] 部署到 production 失败')
    expect(view(s, chatId).posts.at(-2)).toContain('部署到 production 成功 (f3b6c9a)')
  })

  it('records each deploy it sees as a change on a receiver (receiver-url): a later incident of the service lists it', async () => {
    const s = await sandbox()
    const { url } = await startReceiver(s)
    const inputs = { 'receiver-url': url, 'receiver-token': TOKEN, service: 'shop' }
    await runAction(s, {
      eventName: 'deployment_status',
      event: deploymentStatusEvent('failure', 1),
      inputs,
    })
    const ok = await runAction(s, {
      eventName: 'deployment_status',
      event: deploymentStatusEvent('success', 2),
      inputs,
    })
    expect(ok.stdout).toContain(`Recorded the change at ${url}/v2/change/enqueue`)
    // A secret: masked (the runner hides it), and written nowhere else.
    expect(ok.stdout).toContain(`::add-mask::${TOKEN}`)
    expect(ok.stdout.replace(`::add-mask::${TOKEN}`, '')).not.toContain(TOKEN)
    const { json } = await post(`${url}/incidents`, {
      key: 'shop-latency',
      title: 'Shop latency',
      labels: { service: 'shop' },
    })
    const card = view(s, json.chat_id).cardRead
    expect(card).toContain('Deploy of acme/shop to production succeeded at 6113728')
    expect(card).toContain('Deploy of acme/shop to production failed at 6113728')
    // An unreachable receiver is a warning; the step still passes.
    const unreachable = await runAction(s, {
      eventName: 'deployment_status',
      event: deploymentStatusEvent('success', 3),
      inputs: { ...inputs, 'receiver-url': 'http://127.0.0.1:9' },
    })
    expect(unreachable.code).toBe(0)
    expect(unreachable.stdout).toContain(
      '::warning::The change was not recorded at http://127.0.0.1:9',
    )
  })

  it('fails clearly on a missing app secret, before any Feishu call', async () => {
    const s = await sandbox()
    const r = await runAction(s, {
      eventName: 'push',
      event: pushEvent(),
      inputs: { status: 'failure', 'app-secret': '' },
    })
    expect(r.code).toBe(1)
    expect(r.stdout).toContain('::error::Invalid input app-secret: app-secret is required')
    expect(s.requests).toHaveLength(0)
  })

  it('fails with the Feishu code and a hint naming the scope when a permission is missing', async () => {
    const s = await sandbox({ scopes: ['im:message', 'contact:user.id:readonly'] })
    const r = await runAction(s, {
      eventName: 'push',
      event: pushEvent(),
      inputs: { status: 'failure' },
    })
    expect(r.code).toBe(1)
    expect(r.stdout).toContain('::error::')
    expect(r.stdout).toContain('code 99991672')
    expect(r.stdout).toMatch(/enable one of the scopes im:chat/)
    expect(r.stdout).toContain(`::add-mask::${s.appSecret}`)
    expect(unmasked(r.stdout)).not.toContain(s.appSecret)
    const lenient = await runAction(s, {
      eventName: 'push',
      event: pushEvent(),
      inputs: { status: 'failure', 'fail-on-error': 'false' },
    })
    expect(lenient.code).toBe(0)
    expect(lenient.stdout).toContain('::warning::')
    expect(lenient.stdout).toContain('99991672')
  })

  it('still opens the war room when the token may not list jobs, and says why they are missing', async () => {
    const s = await sandbox()
    const r = await runAction(s, {
      eventName: 'push',
      event: pushEvent(),
      inputs: { status: 'failure', 'github-token': 'ghs_noactions' },
    })
    expect(r.outputs.action).toBe('opened')
    const v = view(s, r.outputs['chat-id']!)
    expect(v.cardText).toContain('HTTP 403')
    expect(v.cardText).toContain('permissions&#58; actions&#58; read')
    expect(v.cardText).toContain('https://github.com/acme/shop/actions/runs/30433642')
  })

  it('reads github-users from a file in the repository and rejects a bad mapping by name', async () => {
    const s = await sandbox()
    const [, , _carol] = [...s.state.users.values()]
    const bad = await runAction(s, {
      eventName: 'push',
      event: pushEvent(),
      inputs: { status: 'failure', 'github-users': 'no-such-file.yml' },
    })
    expect(bad.code).toBe(1)
    expect(bad.stdout).toContain('Invalid input github-users: no file')
    const badSeverity = await runAction(s, {
      eventName: 'push',
      event: pushEvent(),
      inputs: { status: 'failure', severity: 'urgent' },
    })
    expect(badSeverity.stdout).toContain('Invalid input severity')
    expect(s.requests).toHaveLength(0)
  })
})
