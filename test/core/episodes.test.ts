/**
 * How a resolution merges into what the incident had (src/core/episodes.ts),
 * as a table: what the resolution says wins, what it leaves out is kept.
 */
import { describe, expect, it } from 'vitest'
import { mergeResolved } from '../../src/core/episodes.js'
import { type Incident, parseIncident } from '../../src/model/incident.js'

const before = parseIncident({
  key: 'k',
  title: 'Checkout errors',
  severity: 'critical',
  summary: 'before',
  labels: { team: 'payments' },
  links: [{ label: 'Logs', url: 'https://logs.example/1' }],
  fields: [{ name: 'version', value: 'v42' }],
  items: [
    { id: 'a', title: 'checkout-1', status: 'firing' },
    { id: 'b', title: 'checkout-2', status: 'firing' },
  ],
})
const resolved = (over: Record<string, unknown> = {}) =>
  parseIncident({ key: 'k', title: 'Checkout errors', status: 'resolved', ...over })

describe('mergeResolved', () => {
  const cases: Array<[name: string, resolution: Incident, check: (m: Incident) => void]> = [
    [
      'a bare resolution keeps severity, links, fields, labels and summary, and resolves every item',
      resolved(),
      (m) => {
        expect(m).toMatchObject({ status: 'resolved', severity: 'critical', summary: 'before' })
        expect(m.links).toEqual(before.links)
        expect(m.fields).toEqual(before.fields)
        expect(m.labels).toEqual({ team: 'payments' })
        expect(m.items.map((i) => [i.id, i.status])).toEqual([
          ['a', 'resolved'],
          ['b', 'resolved'],
        ])
      },
    ],
    [
      'what the resolution says wins: its summary, links, fields and resolution note',
      resolved({
        summary: 'after',
        links: [{ label: 'Postmortem', url: 'https://docs.example/pm' }],
        fields: [{ name: 'fixed in', value: 'v43' }],
        resolution: 'rolled back',
      }),
      (m) => {
        expect(m.summary).toBe('after')
        expect(m.links.map((l) => l.label)).toEqual(['Postmortem'])
        expect(m.fields.map((f) => f.name)).toEqual(['fixed in'])
        expect(m.resolution).toBe('rolled back')
      },
    ],
    [
      'an item the resolution still reports firing stays firing; new items join',
      resolved({
        items: [
          { id: 'b', title: 'checkout-2', status: 'firing' },
          { id: 'c', title: 'checkout-3', status: 'resolved' },
        ],
      }),
      (m) =>
        expect(m.items.map((i) => [i.id, i.status])).toEqual([
          ['a', 'resolved'],
          ['b', 'firing'],
          ['c', 'resolved'],
        ]),
    ],
  ]
  it.each(cases)('%s', (_name, resolution, check) => {
    check(mergeResolved(before, resolution, undefined))
  })

  it('without a record (a chat found by its marker), takes the severity its name was opened with', () => {
    expect(mergeResolved(undefined, resolved(), 'critical').severity).toBe('critical')
    expect(mergeResolved(undefined, resolved(), undefined).severity).toBe('error')
  })
})
