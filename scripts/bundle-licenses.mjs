// Writes <out>/licenses.txt: the license of every production dependency in
// package-lock.json. ncc's own --license misses the packages of lazily loaded
// chunks (octokit here), so the action's bundle gets its notices from here.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const out = process.argv[2] ?? 'dist'
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'))
const entries = []
for (const [path, meta] of Object.entries(lock.packages ?? {})) {
  if (!path || meta.dev || meta.optional) continue
  const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length)
  const file = existsSync(path)
    ? readdirSync(path).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f))
    : undefined
  const text = file
    ? readFileSync(join(path, file), 'utf8').trim()
    : `${meta.license ?? 'UNKNOWN'} (no license file in the package)`
  entries.push({ name, version: meta.version, license: meta.license ?? '', text })
}
entries.sort((a, b) =>
  a.name === b.name ? a.version.localeCompare(b.version) : a.name.localeCompare(b.name),
)
const seen = new Set()
const body = entries
  .filter((e) => !seen.has(`${e.name}@${e.version}`) && seen.add(`${e.name}@${e.version}`))
  .map((e) => `${e.name}@${e.version}\n${e.license}\n${e.text}`)
  .join('\n\n')
writeFileSync(join(out, 'licenses.txt'), `${body}\n`)
