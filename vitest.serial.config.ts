import { defineConfig } from 'vitest/config'
import base from './vitest.config.js'

// Storms of several processes measure pacing against a sandbox counting sliding
// windows: run them one file at a time, after the rest, so that no other test
// competes for the two cores while they run.
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['test/serial/**/*.test.ts'],
    exclude: ['node_modules/**'],
    fileParallelism: false,
  },
})
