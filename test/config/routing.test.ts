/**
 * The route table as a table: which routes match a label set, in order, with
 * `continue: true` going on to the next, and what the match adds.
 */
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/config.js'
import { route } from '../../src/config/routing.js'

const { routes } = parseConfig({
  routes: [
    { match: { team: 'payments' }, members: ['alice@example.com'], continue: true },
    {
      match: { team: 'payments', env: 'prod' },
      members: ['bob@example.com'],
      severity: 'critical',
    },
    { match_re: { service: 'checkout|cart' }, members: ['carol@example.com'] },
    { match: { team: 'payments' }, members: ['dave@example.com'] }, // reached only past a continue
    { match: {}, members: ['erin@example.com'] }, // the catch-all
  ],
})

describe('route', () => {
  const cases: Array<
    [labels: Record<string, string>, matched: number[], members: string[], severity?: string]
  > = [
    // continue: true → the next route is tried too; the second has none, so it stops there.
    [
      { team: 'payments', env: 'prod' },
      [0, 1],
      ['alice@example.com', 'bob@example.com'],
      'critical',
    ],
    // Past the first (continue), the second does not match, the fourth does; the catch-all is not reached.
    [{ team: 'payments', env: 'dev' }, [0, 3], ['alice@example.com', 'dave@example.com']],
    // A regular expression, anchored: checkout matches, checkout-v2 does not.
    [{ service: 'checkout' }, [2], ['carol@example.com']],
    [{ service: 'checkout-v2' }, [4], ['erin@example.com']],
    // Nothing specific: the catch-all.
    [{}, [4], ['erin@example.com']],
  ]
  it.each(cases)('%j → routes %j', (labels, matched, members, severity) => {
    const result = route(labels, routes, [])
    expect(result.matched).toEqual(matched)
    expect(result.members).toEqual(members)
    expect(result.severity).toBe(severity)
  })

  it('adds the config’s members first and invites nobody twice', () => {
    const result = route({ team: 'payments', env: 'prod' }, routes, ['bob@example.com'])
    expect(result.members).toEqual(['bob@example.com', 'alice@example.com'])
  })
})
