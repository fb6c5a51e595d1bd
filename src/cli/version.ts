import { readFileSync } from 'node:fs'

/** The package's version: the nearest package.json above this file that is feishu-warroom's. */
export const VERSION: string = (() => {
  for (let up = '../'; up.length <= 15; up += '../') {
    try {
      const pkg = JSON.parse(
        readFileSync(new URL(`${up}package.json`, import.meta.url), 'utf8'),
      ) as {
        name?: string
        version?: string
      }
      if (pkg.name === 'feishu-warroom' && pkg.version) return pkg.version
    } catch {
      // not here: one folder up
    }
  }
  return 'unknown'
})()
