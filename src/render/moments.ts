import type { Person } from '../model/incident.js'
import type { IncidentRecord } from '../store/store.js'

type Moment = NonNullable<IncidentRecord['moments']>[number]

/** This episode's key moments, oldest first (an earlier episode's stay with it). */
export function episodeMoments(record: IncidentRecord): Moment[] {
  return (record.moments ?? []).filter((m) => m.at >= record.openedAt)
}

/**
 * Who said it and what, the same in the timeline and the document: the words
 * are the marked message's author's, and who marked it follows a 📌.
 */
export function momentText(m: Moment, who: (p: Person) => string): string {
  const author = m.author ?? m.by
  return `${who(author)}: ${m.text}${m.author ? ` (📌 ${who(m.by)})` : ''}`
}

/** Everyone a moment names, for one name lookup each. */
export const momentPeople = (m: Moment): Person[] => (m.author ? [m.author, m.by] : [m.by])
