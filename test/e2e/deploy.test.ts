/**
 * Deployment files, checked without a Docker engine or a cluster: the
 * Kubernetes manifests against the Kubernetes schemas (kubernetes-models),
 * and the image's command run from an `npm ci --omit=dev` install as the
 * Dockerfile's last stage makes it.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process'
import { cpSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Deployment } from 'kubernetes-models/apps/v1'
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1'
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1'
import { request } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { parse, parseAllDocuments } from 'yaml'
import { configFrom } from '../../src/config/config.js'
import { freePort, sandbox, tempDir } from '../support/helpers.js'
import { DATABASE_URL, freshSchema, HAVE_POSTGRES } from '../support/postgres.js'

const MODELS: Record<string, new (value: never) => { validate(): void }> = {
  Secret,
  ConfigMap,
  Service,
  Deployment,
  PodDisruptionBudget,
}

function manifests(text = readFileSync('deploy/kubernetes/feishu-warroom.yaml', 'utf8')) {
  return parseAllDocuments(text).map((d) => d.toJS() as Record<string, any>)
}

function validate(doc: Record<string, any>) {
  const Model = MODELS[doc.kind]
  if (!Model) throw new Error(`no schema for kind ${doc.kind}`)
  new Model(doc as never).validate()
}

describe('the Kubernetes manifests', () => {
  it('validate against the Kubernetes schemas, and a broken one does not', () => {
    const docs = manifests()
    expect(docs.map((d) => d.kind)).toEqual([
      'Secret',
      'ConfigMap',
      'Deployment',
      'Service',
      'PodDisruptionBudget',
    ])
    for (const doc of docs) validate(doc)
    const broken = structuredClone(docs.find((d) => d.kind === 'Deployment')!)
    broken.spec.replicas = 'two'
    expect(() => validate(broken)).toThrow(/replicas/)
    const noImage = structuredClone(docs.find((d) => d.kind === 'Deployment')!)
    delete noImage.spec.template.spec.containers[0].name
    expect(() => validate(noImage)).toThrow(/name/)
  })

  it('run two replicas with probes, scrape annotations, a disruption budget, and a config the receiver accepts', () => {
    const docs = manifests()
    const of = (kind: string) => docs.find((d) => d.kind === kind)!
    const deployment = of('Deployment')
    expect(deployment.spec.replicas).toBe(2)
    const pod = deployment.spec.template
    expect(pod.metadata.annotations).toMatchObject({
      'prometheus.io/scrape': 'true',
      'prometheus.io/path': '/metrics',
    })
    const container = pod.spec.containers[0]
    expect(container.args.slice(0, 3)).toEqual(['node', 'lib/src/cli/index.js', 'serve'])
    expect(container.livenessProbe.httpGet.path).toBe('/healthz')
    expect(container.readinessProbe.httpGet.path).toBe('/readyz')
    expect(pod.spec.securityContext.runAsNonRoot).toBe(true)
    // The selectors find the pods.
    const labels = pod.metadata.labels
    expect(of('Service').spec.selector).toEqual(labels)
    expect(of('PodDisruptionBudget').spec.selector.matchLabels).toEqual(labels)
    expect(of('PodDisruptionBudget').spec.minAvailable).toBeLessThan(deployment.spec.replicas)
    // The ConfigMap's file is a valid config; the Secret's keys are the variables the receiver reads.
    const configFile = of('ConfigMap').data['warroom.yml']
    const mounted = container.volumeMounts.find((m: any) => m.name === 'config').mountPath
    expect(container.args).toContain(`${mounted}/warroom.yml`)
    const config = configFrom(parse(configFile), of('Secret').stringData)
    expect(config.feishu.app_id).toBe(of('Secret').stringData.FEISHU_APP_ID)
    expect(config.server.database_url).toMatch(/^postgres:\/\//)
    expect(config.auth.bearer_token).toBeDefined()
    expect(config.routes.length).toBeGreaterThan(0)
  })
})

const running: ChildProcess[] = []
afterEach(() => {
  while (running.length) running.pop()!.kill('SIGTERM')
})

/** The runtime stage of the Dockerfile: its RUN, ENV, USER, HEALTHCHECK and CMD. */
function runtimeStage() {
  const text = readFileSync('Dockerfile', 'utf8').replace(/\\\n\s*/g, ' ')
  const stages = text.split(/^FROM /m).slice(1)
  expect(stages).toHaveLength(2) // multi-stage: build, then runtime
  const last = stages[1]!
  const line = (word: string) => new RegExp(`^${word} (.+)$`, 'm').exec(last)?.[1]
  const env = Object.fromEntries(
    [...(line('ENV') ?? '').matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]),
  )
  return {
    run: line('RUN') ?? '',
    env,
    user: line('USER'),
    healthcheck: JSON.parse(
      /CMD (\[.+\])$/.exec(line('HEALTHCHECK') ?? '')?.[1] ?? '[]',
    ) as string[],
    cmd: JSON.parse(line('CMD') ?? '[]') as string[],
  }
}

async function waitFor(url: string, status = 200): Promise<void> {
  const end = Date.now() + 20_000
  for (;;) {
    try {
      const r = await request(url)
      await r.body.dump()
      if (r.statusCode === status) return
    } catch {
      // not listening yet
    }
    if (Date.now() > end) throw new Error(`no ${status} from ${url}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe('the container image', () => {
  it('starts `warroom serve` from an --omit=dev install, honours PORT, and passes its HEALTHCHECK', {
    timeout: 180_000,
  }, async () => {
    const stage = runtimeStage()
    expect(stage.run).toMatch(/npm ci --omit=dev/)
    expect(stage.user).toBe('node')
    expect(stage.cmd.slice(0, 3)).toEqual(['node', 'lib/src/cli/index.js', 'serve'])
    // What the stage holds: package files, the production install, the compiled lib/.
    const app = await tempDir()
    for (const f of ['package.json', 'package-lock.json']) cpSync(f, join(app, f))
    execFileSync(
      'npm',
      ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'],
      { cwd: app, stdio: 'ignore' },
    )
    cpSync('lib', join(app, 'lib'), { recursive: true })
    const port = await freePort()
    const dataDir = await tempDir()
    // Without its Feishu Secret the image refuses to start (no silent sandbox in production).
    const bare = spawnSync(stage.cmd[0]!, stage.cmd.slice(1), {
      cwd: app,
      env: { PATH: process.env.PATH ?? '', ...stage.env, WARROOM_DATA_DIR: dataDir },
      encoding: 'utf8',
    })
    expect(bare.status).toBe(2)
    expect(bare.stderr).toContain('warroom serve needs Feishu credentials (NODE_ENV is production)')
    const feishu = await sandbox()
    const env = {
      PATH: process.env.PATH ?? '',
      ...stage.env,
      FEISHU_APP_ID: feishu.appId,
      FEISHU_APP_SECRET: feishu.appSecret,
      FEISHU_DOMAIN: feishu.url,
      WARROOM_DATA_DIR: dataDir,
      PORT: String(port),
      ...(HAVE_POSTGRES
        ? { WARROOM_DATABASE_URL: DATABASE_URL, WARROOM_DATABASE_SCHEMA: freshSchema() }
        : {}),
    }
    const child = spawn(stage.cmd[0]!, stage.cmd.slice(1), { cwd: app, env, stdio: 'ignore' })
    running.push(child)
    const url = `http://127.0.0.1:${port}`
    await waitFor(`${url}/healthz`)
    // Ready: with PostgreSQL (pg is a runtime dependency), its migrations applied.
    await waitFor(`${url}/readyz`)
    const health = spawn(stage.healthcheck[0]!, stage.healthcheck.slice(1), { cwd: app, env })
    expect(await new Promise((r) => health.once('exit', r))).toBe(0)
    // The same check fails when nothing answers.
    const down = spawn(stage.healthcheck[0]!, stage.healthcheck.slice(1), {
      cwd: app,
      env: { ...env, PORT: String(await freePort()) },
    })
    expect(await new Promise((r) => down.once('exit', r))).toBe(1)
  })
})
