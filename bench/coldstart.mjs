// Benchmark 4: the action's cold start: from `node dist/index.js` starting to its
// first Feishu request, against `node -e ''` in the same run; and the bundle's size.
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { median } from './lib.mjs'

function timeBare() {
  const t0 = process.hrtime.bigint()
  execFileSync(process.execPath, ['-e', ''])
  return Number(process.hrtime.bigint() - t0) / 1e6
}

export async function coldStart({ runs = 15 } = {}) {
  let firstRequest
  const server = createServer((_req, res) => {
    firstRequest?.()
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ code: 0, tenant_access_token: 't-x', expire: 7200 }))
  })
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const url = `http://127.0.0.1:${server.address().port}`
  const dir = mkdtempSync(join(tmpdir(), 'warroom-cold-'))
  const event = join(dir, 'event.json')
  writeFileSync(
    event,
    JSON.stringify({
      ref: 'refs/heads/main',
      head_commit: { message: 'x', author: { name: 'a' } },
    }),
  )
  writeFileSync(join(dir, 'out'), '')
  writeFileSync(join(dir, 'summary'), '')
  const env = {
    PATH: process.env.PATH,
    'INPUT_APP-ID': 'cli_bench',
    'INPUT_APP-SECRET': 'bench-secret',
    INPUT_DOMAIN: url,
    INPUT_STATUS: 'failure',
    GITHUB_EVENT_NAME: 'push',
    GITHUB_EVENT_PATH: event,
    GITHUB_REPOSITORY: 'acme/shop',
    GITHUB_SHA: 'abc',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_WORKFLOW: 'CI',
    GITHUB_RUN_ID: '1',
    GITHUB_OUTPUT: join(dir, 'out'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary'),
  }
  const action = []
  const bare = []
  for (let i = 0; i < runs; i++) {
    bare.push(timeBare())
    const t0 = process.hrtime.bigint()
    const seen = new Promise((r) => {
      firstRequest = () => r(Number(process.hrtime.bigint() - t0) / 1e6)
    })
    const child = spawn(process.execPath, ['dist/index.js'], { env, stdio: 'ignore' })
    action.push(await seen)
    firstRequest = undefined
    child.kill()
    await new Promise((r) => child.on('exit', r))
  }
  server.close()
  const size = statSync('dist/index.js').size
  return {
    actionMs: median(action),
    bareMs: median(bare),
    aboveBareMs: median(action) - median(bare),
    runs,
    sizeBytes: size,
    composition: bundleComposition(),
  }
}

/** What the bundle is made of: an unminified build's module sizes grouped by package. */
function bundleComposition() {
  const dir = mkdtempSync(join(tmpdir(), 'warroom-ncc-'))
  execFileSync(
    process.execPath,
    [
      'node_modules/@vercel/ncc/dist/ncc/cli.js',
      'build',
      'src/action/index.ts',
      '-o',
      dir,
      '--no-cache',
      '--quiet',
      '--stats-out',
      join(dir, 'stats.json'),
      '--target',
      'es2022',
    ],
    { stdio: 'ignore' },
  )
  const stats = JSON.parse(readFileSync(join(dir, 'stats.json'), 'utf8'))
  const byPackage = {}
  for (const m of stats.modules ?? []) {
    const name = String(m.name ?? m.identifier ?? '')
    const pkg =
      /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(name)?.[1] ??
      (name.includes('/src/') || name.includes('/adapters/') ? '(feishu-warroom)' : '(other)')
    byPackage[pkg] = (byPackage[pkg] ?? 0) + (m.size ?? 0)
  }
  return Object.entries(byPackage)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([pkg, bytes]) => ({ pkg, kB: Math.round(bytes / 1024) }))
}
