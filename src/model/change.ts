/** A change (a deploy, a config push) as a change event reported it. */
export interface Change {
  at: number
  summary: string
  source?: string
  /** What it touched, for matching incidents (service=checkout). */
  labels: Record<string, string>
  links: Array<{ label: string; url: string }>
}

/** Newest first, those that share a value with the incident's labels for one of `keys`. */
export function matchingChanges(
  changes: Change[],
  labels: Record<string, string>,
  keys: string[],
  limit = 5,
): Change[] {
  return changes
    .filter((c) => keys.some((k) => c.labels[k] !== undefined && c.labels[k] === labels[k]))
    .sort((a, b) => b.at - a.at)
    .slice(0, limit)
}
