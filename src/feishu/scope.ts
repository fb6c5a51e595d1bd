import { AsyncLocalStorage } from 'node:async_hooks'

/**
 * Counts the Open API requests made inside `countCalls(fn)`, retries
 * included and token fetches excluded: the war room reports this per
 * operation, and the tests pin it.
 */
export const callScope = new AsyncLocalStorage<{ count: number }>()

export const priorityScope = new AsyncLocalStorage<number>()

/**
 * Before Node 24, AsyncLocalStorage runs a promise hook on every promise of
 * the process once enabled (about a sixth of the receiver's CPU on the repeat
 * path); from Node 24 it rides on AsyncContextFrame and costs nothing idle
 * (https://nodejs.org/docs/latest-v24.x/api/async_context.html). So there the
 * hook is switched off whenever no scope is under way. Work a scope left
 * behind (a background card patch) then goes on at the default priority,
 * uncounted: its operation has already reported.
 */
const OFF_WHEN_IDLE =
  Number(process.versions.node.split('.')[0]) < 24 &&
  !process.execArgv.includes('--experimental-async-context-frame')
let live = 0

function scoped<S, T>(storage: AsyncLocalStorage<S>, store: S, fn: () => Promise<T>): Promise<T> {
  live++
  let running: Promise<T>
  try {
    running = storage.run(store, fn)
  } catch (error) {
    running = Promise.reject(error)
  }
  return running.finally(() => {
    if (--live === 0 && OFF_WHEN_IDLE) {
      callScope.disable()
      priorityScope.disable()
    }
  })
}

/** Scopes under way (tests: the hook is off only when this is 0). */
export const liveScopes = (): number => live

/**
 * Runs `fn` with its Feishu calls at `priority` in the pacer's queues: 1 for
 * a critical incident, -1 for background work (timelines), 0 otherwise.
 */
export function withPriority<T>(priority: number, fn: () => Promise<T>): Promise<T> {
  return scoped(priorityScope, priority, fn)
}

export async function countCalls<T>(fn: () => Promise<T>): Promise<{ result: T; calls: number }> {
  const counter = { count: 0 }
  const result = await scoped(callScope, counter, fn)
  return { result, calls: counter.count }
}
