import { AsyncLocalStorage } from 'node:async_hooks'

/**
 * Counts the Open API requests made inside `countCalls(fn)`, retries
 * included and token fetches excluded: the war room reports this per
 * operation, and the tests pin it.
 */
export const callScope = new AsyncLocalStorage<{ count: number }>()

export const priorityScope = new AsyncLocalStorage<number>()

/**
 * Runs `fn` with its Feishu calls at `priority` in the pacer's queues: 1 for
 * a critical incident, -1 for background work (timelines), 0 otherwise.
 */
export function withPriority<T>(priority: number, fn: () => Promise<T>): Promise<T> {
  return priorityScope.run(priority, fn)
}

export async function countCalls<T>(fn: () => Promise<T>): Promise<{ result: T; calls: number }> {
  const counter = { count: 0 }
  const result = await callScope.run(counter, fn)
  return { result, calls: counter.count }
}
