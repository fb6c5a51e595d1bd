/**
 * "Did you mean …?" for config keys and CLI options: the known word closest
 * to a mistyped one, if it is close enough to be the one meant.
 */
export function closest(word: string, known: Iterable<string>): string | undefined {
  const w = word.toLowerCase()
  let best: { word: string; distance: number } | undefined
  for (const candidate of known) {
    const distance = editDistance(w, candidate.toLowerCase())
    if (!best || distance < best.distance) best = { word: candidate, distance }
  }
  // `timezone` → `time_zone`, `memebers` → `members`, not `url` → `ack`.
  if (!best || best.distance > Math.max(1, Math.floor(Math.max(word.length, best.word.length) / 3)))
    return undefined
  return best.word
}

/** Levenshtein distance, with a swap of two neighbours counting as one edit. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [
    i,
    ...new Array<number>(b.length).fill(0),
  ])
  for (let j = 1; j <= b.length; j++) d[0]![j] = j
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1)
      d[i]![j] = v
    }
  return d[a.length]![b.length]!
}

/** The keys a zod object schema knows at a path (through defaults, optionals, arrays and records). */
export function knownKeys(schema: unknown, path: ReadonlyArray<PropertyKey>): string[] {
  let node = unwrap(schema)
  for (const step of path) {
    if (!node) return []
    const def = node._zod.def
    if (def.type === 'array') node = unwrap(def.element)
    else if (def.type === 'record') node = unwrap(def.valueType)
    else if (def.type === 'object') node = unwrap(def.shape?.[String(step)])
    else return []
  }
  return node?._zod.def.type === 'object' ? Object.keys(node._zod.def.shape ?? {}) : []
}

interface ZodLike {
  _zod: {
    def: {
      type: string
      innerType?: unknown
      element?: unknown
      valueType?: unknown
      in?: unknown
      shape?: Record<string, unknown>
    }
  }
}

function unwrap(schema: unknown): ZodLike | undefined {
  let node = schema as ZodLike | undefined
  for (let i = 0; node?._zod && i < 10; i++) {
    const def = node._zod.def
    const inner = def.innerType ?? (def.type === 'pipe' ? def.in : undefined)
    if (!inner) return node
    node = inner as ZodLike
  }
  return node
}
