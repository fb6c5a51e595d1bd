/**
 * The import rules ARCHITECTURE.md states, checked on the sources: the core's
 * parts never import the lifecycle, adapters import only the incident model
 * (and texts, errors), the sandbox never imports the client it stands in for,
 * no file in src/ or adapters/ is over 500 lines, and there are no cycles.
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

/** Relative imports of a file, as repository paths (.ts). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  return [...text.matchAll(/(?:^|\n)(?:import|export)[^'"]*from '(\.[^']+)'/g)].map((m) =>
    normalize(join(dirname(file), m[1]!)).replace(/\.js$/, '.ts'),
  )
}

describe('the architecture', () => {
  it('keeps the core’s parts off the lifecycle module', () => {
    for (const file of files('src/core').filter((f) => !f.endsWith('warroom.ts')))
      expect(importsOf(file), file).not.toContain('src/core/warroom.ts')
  })

  it('keeps adapters to the incident model, texts and errors', () => {
    const allowed = /^(src\/incident\.ts|src\/i18n\/index\.ts|src\/errors\.ts|adapters\/)/
    for (const file of files('adapters'))
      for (const dep of importsOf(file)) expect(dep, `${file} imports ${dep}`).toMatch(allowed)
  })

  it('keeps the sandbox independent of the client it stands in for', () => {
    for (const file of files('src/sandbox'))
      for (const dep of importsOf(file))
        expect(dep, `${file} imports ${dep}`).not.toMatch(/^src\/(feishu|core)\//)
  })

  it('has no file over 500 lines in src/ and adapters/', () => {
    const long = SOURCES.map(
      (f) => [f, readFileSync(f, 'utf8').split('\n').length] as const,
    ).filter(([, n]) => n > 500)
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
