// Minifies the lazily loaded chunks ncc writes beside <out>/index.js (ncc --minify
// minifies only the main file). The chunk holds octokit, loaded when the Action lists jobs.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { minify } from 'terser'

const out = process.argv[2] ?? 'dist'
for (const name of readdirSync(out).filter((f) => /^\d+\.index\.js$/.test(f))) {
  const path = join(out, name)
  const result = await minify(readFileSync(path, 'utf8'), {
    module: true,
    compress: true,
    mangle: true,
    format: { comments: false },
  })
  writeFileSync(path, result.code)
}
