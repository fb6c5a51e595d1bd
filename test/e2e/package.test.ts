/**
 * The package as people install tools (issue 22, item 16): `npm pack` gives a
 * tarball that `npm install -g --omit=dev` turns into a working `warroom`,
 * with only the production dependencies, and the sandbox starts from it.
 */
import { execFile, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { request } from 'undici'
import { describe, expect, it } from 'vitest'
import { freePort, tempDir } from '../support/helpers.js'

const exec = promisify(execFile)

describe('the published package', () => {
  it('installs from its tarball with production dependencies only, and runs', {
    timeout: 240_000,
  }, async () => {
    const dir = await tempDir()
    // --ignore-scripts: npm test built lib/ already; prepare would rewrite it under other tests.
    const packed = await exec('npm', [
      'pack',
      '--ignore-scripts',
      '--json',
      '--pack-destination',
      dir,
    ])
    const [info] = JSON.parse(packed.stdout) as Array<{
      filename: string
      files: Array<{ path: string }>
    }>
    const files = info!.files.map((f) => f.path)
    expect(files).toContain('lib/src/cli/index.js')
    expect(files).toContain('lib/src/sandbox/reference/feishu-schemas.json')
    expect(files).toContain('LICENSE')
    // Neither the sources nor the tests nor source maps travel.
    expect(files.filter((f) => /^(src|test|bench)\/|\.map$|\.ts$/.test(f))).toEqual([])

    const prefix = join(dir, 'prefix')
    await exec(
      'npm',
      [
        'install',
        '-g',
        '--prefix',
        prefix,
        '--omit=dev',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        join(dir, info!.filename),
      ],
      { env: { ...process.env, npm_config_loglevel: 'error' } },
    )
    const installed = join(prefix, 'lib', 'node_modules', 'feishu-warroom')
    const modules = await readdir(join(installed, 'node_modules'))
    for (const dev of ['vitest', 'typescript', '@biomejs', 'playwright-core', 'nock'])
      expect(modules, dev).not.toContain(dev)
    expect(existsSync(join(installed, 'node_modules', 'zod'))).toBe(true)

    const warroom = join(prefix, 'bin', 'warroom')
    const version = await exec(warroom, ['--version'])
    expect(version.stdout.trim()).toMatch(/^feishu-warroom \d+\.\d+\.\d+$/)
    const help = await exec(warroom, ['serve', '--help'])
    expect(help.stdout).toContain('Usage: warroom serve')

    // The sandbox starts from the installed package, in its own process group (ended by pid).
    const port = await freePort()
    const server = spawn(warroom, ['serve', '--sandbox', '--port', String(port)], {
      cwd: dir,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    server.stdout!.on('data', (d) => {
      output += d
    })
    server.stderr!.on('data', (d) => {
      output += d
    })
    try {
      const deadline = Date.now() + 30_000
      while (!output.includes('Watch the sandbox:')) {
        if (Date.now() > deadline || server.exitCode !== null)
          throw new Error(`warroom serve --sandbox did not come up:\n${output}`)
        await new Promise((r) => setTimeout(r, 100))
      }
      const res = await request(`http://127.0.0.1:${port}/incidents`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          key: 'pkg:1',
          title: 'From the installed package',
          members: ['alice@example.com'],
        }),
      })
      expect(res.statusCode).toBe(200)
      expect(((await res.body.json()) as { action: string }).action).toBe('opened')
    } finally {
      if (server.exitCode === null && server.pid) {
        process.kill(-server.pid, 'SIGTERM')
        await new Promise((r) => server.once('exit', r))
      }
    }
  })
  it('installs on this Node without engine warnings, and npm start does not build the library again', async () => {
    // What `npm ci` would say about engines, from the lockfile, without touching node_modules.
    const dry = await exec('npm', [
      'install',
      '--dry-run',
      '--offline',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
    ])
    expect(`${dry.stdout}${dry.stderr}`).not.toContain('EBADENGINE')
    // build:lib is `tsc -b`: after a build (npm ci's prepare, npm test's build:lib), prestart's is a no-op.
    const plan = await exec('npx', ['tsc', '-b', 'tsconfig.build.json', '--dry', '--verbose'])
    expect(plan.stdout).toMatch(/Project '.*tsconfig\.build\.json' is up to date/)
  })
})
