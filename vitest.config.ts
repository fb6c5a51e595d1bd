import { readFileSync } from 'node:fs'
import { defineConfig } from 'vitest/config'

// GitHub's parser imports its JSON schemas without an import attribute, which
// Node 20 refuses; inlined, Vite loads them.
const GITHUB_REFERENCE = /@actions\/(workflow-parser|languageservice|expressions)/

export default defineConfig({
  plugins: [
    {
      // Those packages ship source-map comments for sources they do not ship: drop the comments
      // so Vite does not warn about each file.
      name: 'github-reference-without-sourcemaps',
      enforce: 'pre',
      load(id) {
        if (!GITHUB_REFERENCE.test(id) || !id.endsWith('.js')) return null
        return readFileSync(id, 'utf8').replace(/^\/\/# sourceMappingURL=.*$/m, '')
      },
    },
  ],
  test: {
    include: ['test/**/*.test.ts'],
    // Run alone afterwards (vitest.serial.config.ts).
    exclude: ['test/serial/**', 'node_modules/**'],
    environment: 'node',
    testTimeout: 20_000,
    hookTimeout: 20_000,
    restoreMocks: true,
    unstubEnvs: true,
    server: { deps: { inline: [GITHUB_REFERENCE] } },
  },
})
