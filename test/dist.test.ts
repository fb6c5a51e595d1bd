import { execFile } from 'node:child_process'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { expect, it } from 'vitest'
import { tempDir } from './helpers.js'

const run = promisify(execFile)

// The action runs dist/index.js: it must be exactly what the sources build.
it('dist/ is what `npm run build` makes from the sources', { timeout: 180_000 }, async () => {
  const out = await tempDir()
  await run(
    process.execPath,
    [
      'node_modules/@vercel/ncc/dist/ncc/cli.js',
      'build',
      'src/action/index.ts',
      '-o',
      out,
      '--minify',
      '--no-cache',
      '--quiet',
      '--license',
      'licenses.txt',
      '--target',
      'es2022',
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  )
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
