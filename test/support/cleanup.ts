import { onTestFinished } from 'vitest'

/**
 * What a test started, ended when that test finishes, newest first (a client
 * before the sandbox it talks to): helpers call this instead of installing
 * hooks when they are imported.
 */
const stack: Array<() => unknown> = []
let registered = false

export function afterThisTest(end: () => unknown): void {
  stack.push(end)
  if (registered) return
  registered = true
  onTestFinished(async () => {
    registered = false
    const errors: unknown[] = []
    while (stack.length)
      await Promise.resolve()
        .then(stack.pop()!)
        .catch((error: unknown) => errors.push(error))
    if (errors.length) throw errors[0]
  })
}
