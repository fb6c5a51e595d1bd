/**
 * On-call schedules: who is on call at handoff boundaries (daily, weekly, a
 * duration), with restrictions and overrides, in Asia/Shanghai and UTC.
 */

import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../../src/cli/main.js'
import { parseConfig } from '../../src/config/config.js'
import { routeIncident } from '../../src/config/routing.js'
import { parseIncident } from '../../src/model/incident.js'
import { expandOnCall, nextHandoffs, onCall, ScheduleSchema } from '../../src/model/oncall.js'
import { io } from '../support/cli.js'
import { incident, tempDir } from '../support/helpers.js'

const at = (iso: string) => Date.parse(iso)

describe('who is on call', () => {
  it('hands a daily rotation over at 09:00 Shanghai time (01:00 UTC)', () => {
    const s = ScheduleSchema.parse({
      time_zone: 'Asia/Shanghai',
      layers: [
        {
          users: ['alice', 'bob', 'carol'],
          rotation: 'daily',
          handoff: '09:00',
          start: '2026-11-02',
        },
      ],
    })
    expect(onCall(s, at('2026-11-02T09:00:00+08:00'))).toBe('alice')
    expect(onCall(s, at('2026-11-03T08:59:59+08:00'))).toBe('alice')
    expect(onCall(s, at('2026-11-03T09:00:00+08:00'))).toBe('bob')
    expect(onCall(s, at('2026-11-03T01:00:00Z'))).toBe('bob') // the same instant in UTC
    expect(onCall(s, at('2026-11-03T00:59:59Z'))).toBe('alice')
    expect(onCall(s, at('2026-11-04T09:00:00+08:00'))).toBe('carol')
    expect(onCall(s, at('2026-11-05T09:00:00+08:00'))).toBe('alice') // round again
    // Before the first shift the rotation runs backwards: the last person.
    expect(onCall(s, at('2026-11-02T08:00:00+08:00'))).toBe('carol')
  })

  it('hands a weekly rotation over on Monday 10:00 UTC, the first shift from its start date', () => {
    const s = ScheduleSchema.parse({
      time_zone: 'UTC',
      layers: [
        {
          users: ['alice', 'bob'],
          rotation: 'weekly',
          handoff: '10:00',
          handoff_day: 'monday',
          start: '2026-11-04', // a Wednesday
        },
      ],
    })
    expect(onCall(s, at('2026-11-04T12:00:00Z'))).toBe('alice')
    expect(onCall(s, at('2026-11-09T09:59:59Z'))).toBe('alice') // Monday before the handoff
    expect(onCall(s, at('2026-11-09T10:00:00Z'))).toBe('bob')
    expect(onCall(s, at('2026-11-15T23:59:00Z'))).toBe('bob')
    expect(onCall(s, at('2026-11-16T10:00:00Z'))).toBe('alice')
    expect(nextHandoffs(s, at('2026-11-04T12:00:00Z'), 2)).toEqual([
      { at: at('2026-11-09T10:00:00Z'), user: 'bob' },
      { at: at('2026-11-16T10:00:00Z'), user: 'alice' },
    ])
  })

  it('rotates by a duration from the start, and a restricted layer covers only its hours', () => {
    const s = ScheduleSchema.parse({
      time_zone: 'Asia/Shanghai',
      layers: [
        { users: ['night-a', 'night-b'], rotation: '12h', handoff: '08:00', start: '2026-11-02' },
        {
          users: ['day-x'],
          rotation: 'weekly',
          start: '2026-11-02',
          restrict: {
            days: ['monday', 'tuesday', 'wednesday', 'thursday', 'friday'],
            from: '09:00',
            to: '18:00',
          },
        },
      ],
    })
    // 12-hour shifts from 08:00: night-a 08–20, night-b 20–08.
    expect(onCall(s, at('2026-11-02T12:00:00+08:00'))).toBe('day-x') // Monday in office hours: the upper layer
    expect(onCall(s, at('2026-11-02T17:59:00+08:00'))).toBe('day-x')
    expect(onCall(s, at('2026-11-02T18:00:00+08:00'))).toBe('night-a')
    expect(onCall(s, at('2026-11-02T20:00:00+08:00'))).toBe('night-b')
    expect(onCall(s, at('2026-11-03T08:00:00+08:00'))).toBe('night-a')
    expect(onCall(s, at('2026-11-07T12:00:00+08:00'))).toBe('night-a') // Saturday: no office layer
    expect(nextHandoffs(s, at('2026-11-02T12:00:00+08:00'), 3)).toEqual([
      { at: at('2026-11-02T18:00:00+08:00'), user: 'night-a' },
      { at: at('2026-11-02T20:00:00+08:00'), user: 'night-b' },
      { at: at('2026-11-03T08:00:00+08:00'), user: 'night-a' },
    ])
  })

  it('lets an override take a time range, the last listed winning where two overlap', () => {
    const s = ScheduleSchema.parse({
      time_zone: 'Asia/Shanghai',
      layers: [{ users: ['alice', 'bob'], rotation: 'daily', start: '2026-11-02' }],
      overrides: [
        { from: '2026-11-03T12:00:00+08:00', to: '2026-11-03T18:00:00+08:00', user: 'carol' },
        { from: '2026-11-03T17:00:00+08:00', to: '2026-11-03T19:00:00+08:00', user: 'dave' },
      ],
    })
    expect(onCall(s, at('2026-11-03T11:59:59+08:00'))).toBe('bob')
    expect(onCall(s, at('2026-11-03T12:00:00+08:00'))).toBe('carol')
    expect(onCall(s, at('2026-11-03T17:30:00+08:00'))).toBe('dave')
    expect(onCall(s, at('2026-11-03T19:00:00+08:00'))).toBe('bob')
    expect(nextHandoffs(s, at('2026-11-03T10:00:00+08:00'), 4).map((h) => h.user)).toEqual([
      'carol',
      'dave',
      'bob',
      'alice',
    ])
  })

  it('refuses a schedule that is wrong, naming the field', () => {
    expect(() =>
      parseConfig({
        schedules: { p: { layers: [{ users: ['a'], rotation: 'hourly', start: '2026-11-02' }] } },
      }),
    ).toThrow(/schedules\.p\.layers\[0\]\.rotation/)
    expect(() =>
      parseConfig({
        schedules: {
          p: {
            layers: [{ users: ['a'], rotation: 'daily', start: '2026-11-02' }],
            overrides: [
              { from: '2026-11-03T12:00:00', to: '2026-11-03T18:00:00+08:00', user: 'c' },
            ],
          },
        },
      }),
    ).toThrow(/overrides\[0\]\.from: must be an ISO 8601 time with an offset/)
    expect(() =>
      parseConfig({ routes: [{ match: { team: 'x' }, members: ['oncall:nobody'] }] }),
    ).toThrow(/routes\[0\]\.members: names the schedule "nobody", which schedules does not define/)
  })
})

describe('oncall: in members and routes', () => {
  const config = parseConfig({
    schedules: {
      payments: {
        time_zone: 'UTC',
        layers: [
          {
            users: ['alice@example.com', 'bob@example.com'],
            rotation: 'daily',
            handoff: '00:00',
            start: '2026-11-02',
          },
        ],
      },
    },
    members: ['oncall:payments'],
    routes: [{ match: { team: 'payments' }, members: ['carol@example.com', 'oncall:payments'] }],
  })

  it('invites whoever is on call when the incident arrives', () => {
    const routed = (when: string) =>
      routeIncident(
        parseIncident(incident({ members: [], labels: { team: 'payments' } })),
        config,
        at(when),
      )
    expect(routed('2026-11-02T12:00:00Z').members.sort()).toEqual([
      'alice@example.com',
      'carol@example.com',
    ])
    expect(routed('2026-11-03T12:00:00Z').members.sort()).toEqual([
      'bob@example.com',
      'carol@example.com',
    ])
    // An unknown schedule named by a source stays as given (and is reported as an id that cannot be invited).
    expect(expandOnCall(['oncall:other'], config.schedules, 0)).toEqual(['oncall:other'])
  })

  it('warroom oncall prints who is on call and the next handoffs', async () => {
    const dir = await tempDir()
    const file = join(dir, 'warroom.yml')
    await writeFile(
      file,
      `schedules:\n  payments:\n    time_zone: Asia/Shanghai\n    layers:\n      - users: [alice@example.com, bob@example.com]\n        rotation: daily\n        start: "2026-11-02"\n`,
    )
    const out = io()
    const code = await main(
      ['oncall', 'payments', '--at', '2026-11-03T08:00:00+08:00', '--config', file],
      {},
      out.io,
    )
    expect(code).toBe(0)
    expect(out.out.join('\n')).toBe(
      [
        'payments (Asia/Shanghai) at 2026-11-03 08:00: alice@example.com',
        '  2026-11-03 09:00  bob@example.com',
        '  2026-11-04 09:00  alice@example.com',
        '  2026-11-05 09:00  bob@example.com',
      ].join('\n'),
    )
    const unknown = io()
    expect(await main(['oncall', 'nope', '--config', file], {}, unknown.io)).toBe(2)
    expect(unknown.err.join('\n')).toContain('no schedule "nope" (schedules: payments)')
  })
})
