/**
 * The import rules ARCHITECTURE.md states, checked on the sources: each folder
 * imports only the folders its row names, the core's parts never import the
 * lifecycle, no file in src/ or adapters/ is over 400 lines, and there are no
 * cycles.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, normalize } from 'node:path'
import { describe, expect, it } from 'vitest'

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : []
  })
}

const SOURCES = [...files('src'), ...files('adapters')]

/** Relative imports of a file, as repository paths (.ts); dynamic imports too. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  return [
    ...text.matchAll(/(?:^|\n)(?:import|export)[^'"]*from '(\.[^']+)'|import\('(\.[^']+)'\)/g),
  ].map((m) => normalize(join(dirname(file), (m[1] ?? m[2])!)).replace(/\.js$/, '.ts'))
}

/** The folder a file belongs to: `adapters`, or `src/<folder>`. */
const folderOf = (file: string) =>
  file.startsWith('adapters/') ? 'adapters' : file.split('/').slice(0, 2).join('/')

/** ARCHITECTURE.md's module table: what each folder may import (besides itself). */
const MAY_IMPORT: Record<string, string[]> = {
  'src/util': [],
  'src/model': ['src/util'],
  'src/i18n': ['src/model'],
  adapters: ['src/model', 'src/i18n', 'src/util'],
  'src/feishu': ['src/util'],
  'src/config': ['src/model', 'src/feishu', 'src/i18n', 'src/util'],
  'src/intake': ['adapters', 'src/config', 'src/model', 'src/i18n', 'src/util'],
  'src/render': ['src/model', 'src/i18n', 'src/util', 'src/feishu', 'src/store'],
  'src/store': ['src/model', 'src/util', 'src/feishu', 'src/render'],
  'src/outbound': ['src/config', 'src/util'],
  'src/core': [
    'src/commands',
    'src/model',
    'src/feishu',
    'src/render',
    'src/store',
    'src/outbound',
    'src/config',
    'src/i18n',
    'src/util',
  ],
  'src/commands': ['src/model', 'src/i18n', 'src/util'],
  'src/receiver': [
    'adapters',
    'src/intake',
    'src/commands',
    'src/core',
    'src/render',
    'src/store',
    'src/feishu',
    'src/config',
    'src/model',
    'src/i18n',
    'src/util',
  ],
  'src/action': [
    'adapters',
    'src/core',
    'src/render',
    'src/store',
    'src/feishu',
    'src/config',
    'src/model',
    'src/i18n',
    'src/util',
  ],
  'src/sandbox': ['src/util'],
  'src/cli': [
    'src/receiver',
    'src/sandbox',
    'src/intake',
    'src/commands',
    'src/core',
    'src/render',
    'src/store',
    'src/outbound',
    'src/feishu',
    'src/config',
    'src/model',
    'src/i18n',
    'src/util',
  ],
}

describe('the architecture', () => {
  it('has a rule for every folder, and ARCHITECTURE.md’s table names exactly these folders', () => {
    const folders = new Set(SOURCES.map(folderOf))
    expect([...folders].filter((f) => !(f in MAY_IMPORT))).toEqual([])
    const table = readFileSync('ARCHITECTURE.md', 'utf8')
    const rows = [...table.matchAll(/^\| `([^`]+)\/` \|/gm)].map((m) => m[1]!)
    expect(rows.sort()).toEqual(Object.keys(MAY_IMPORT).sort())
  })

  it('keeps every folder to the folders its row names', () => {
    const broken: string[] = []
    for (const file of SOURCES)
      for (const dep of importsOf(file)) {
        const [from, to] = [folderOf(file), folderOf(dep)]
        if (from !== to && !MAY_IMPORT[from]?.includes(to)) broken.push(`${file} imports ${dep}`)
      }
    expect(broken).toEqual([])
  })

  it('keeps the core’s parts off the lifecycle module', () => {
    for (const file of files('src/core').filter((f) => !f.endsWith('warroom.ts')))
      expect(importsOf(file), file).not.toContain('src/core/warroom.ts')
  })

  it('loads the sandbox and PostgreSQL only on demand: neither is reached by static imports from an entry', () => {
    const statics = (file: string) =>
      [
        ...readFileSync(file, 'utf8').matchAll(/(?:^|\n)import (?!type )[^'"]*from '(\.[^']+)'/g),
      ].map((m) => normalize(join(dirname(file), m[1]!)).replace(/\.js$/, '.ts'))
    for (const entry of ['src/cli/index.ts', 'src/action/index.ts']) {
      const seen = new Set<string>()
      const walk = (f: string) => {
        if (seen.has(f)) return
        seen.add(f)
        for (const d of statics(f)) walk(d)
      }
      walk(entry)
      expect(
        [...seen].filter((f) => /^src\/(sandbox\/|store\/postgres\/|cli\/sandbox-mode)/.test(f)),
        entry,
      ).toEqual([])
    }
  })

  it('has no file over 400 lines in src/ and adapters/', () => {
    const long = SOURCES.map(
      (f) => [f, readFileSync(f, 'utf8').split('\n').length] as const,
    ).filter(([, n]) => n > 400)
    expect(long).toEqual([])
  })

  it('has no import cycles', () => {
    const graph = new Map(SOURCES.map((f) => [f, importsOf(f)]))
    const state = new Map<string, 'visiting' | 'done'>()
    const cycles: string[] = []
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return
      if (state.get(file) === 'visiting') {
        cycles.push([...path.slice(path.indexOf(file)), file].join(' → '))
        return
      }
      state.set(file, 'visiting')
      for (const dep of graph.get(file) ?? []) visit(dep, [...path, file])
      state.set(file, 'done')
    }
    for (const file of SOURCES) visit(file, [])
    expect(cycles).toEqual([])
  })
})
