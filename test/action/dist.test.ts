import { execFile } from 'node:child_process'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { expect, it } from 'vitest'
import { tempDir } from '../support/helpers.js'

const run = promisify(execFile)

// The action runs dist/index.js: it must be exactly what the sources build.
it('dist/ is what `npm run build` makes from the sources', { timeout: 180_000 }, async () => {
  const out = await tempDir()
  // The same command as `npm run build`, into a scratch directory.
  await run('npm', ['run', 'build', '--silent'], {
    env: { ...process.env, OUT: out },
    maxBuffer: 64 * 1024 * 1024,
  })
  const built = (await readdir(out)).sort()
  expect((await readdir('dist')).sort()).toEqual(built)
  for (const name of built) {
    const same = (await readFile(join(out, name))).equals(await readFile(join('dist', name)))
    expect(
      same,
      `dist/${name} differs from a fresh build: run npm run build and commit dist/`,
    ).toBe(true)
  }
})
