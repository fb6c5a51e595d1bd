import { test as base } from 'vitest'
import type { FeishuSandbox } from '../../src/sandbox/server.js'
import { sandbox as startSandbox } from './helpers.js'
import { startReceiver } from './receiver.js'

/**
 * Vitest fixtures (test.extend): a test names what it needs and gets it
 * started, and ended when it finishes.
 *   it('…', async ({ sandbox, receiver }) => …)
 */
export const test = base.extend<{
  sandbox: FeishuSandbox
  receiver: Awaited<ReturnType<typeof startReceiver>>
  /** The sandbox's people: Alice, Bob, Carol, Dave, Erin. */
  people: Array<{ open_id: string; name: string; email?: string }>
}>({
  // biome-ignore lint/correctness/noEmptyPattern: vitest reads the fixtures a fixture needs from this pattern
  sandbox: async ({}, use) => {
    await use(await startSandbox())
  },
  receiver: async ({ sandbox }, use) => {
    await use(await startReceiver(sandbox))
  },
  people: async ({ sandbox }, use) => {
    await use([...sandbox.state.users.values()])
  },
})
