/**
 * Alertmanager as an HA pair (two real Alertmanagers clustered with
 * --cluster.peer), each sending to a different replica of the receiver, the
 * replicas sharing one PostgreSQL: one chat, one card, one resolution.
 */
import { request } from 'undici'
import { describe, expect, it } from 'vitest'
import { ALERTMANAGER, startAlertmanager, webhookConfig } from '../support/alertmanager.js'
import { freePort, sandbox, until, view } from '../support/helpers.js'
import { freshSchema, HAVE_POSTGRES, pgStore } from '../support/postgres.js'
import { startReceiver } from '../support/receiver.js'

describe.skipIf(!ALERTMANAGER || !HAVE_POSTGRES)(
  'an Alertmanager HA pair sending to two replicas',
  () => {
    it('makes one chat with one card and one resolution per group', {
      timeout: 90_000,
    }, async () => {
      const s = await sandbox()
      const schema = freshSchema()
      const replicas = [
        await startReceiver(s, { store: await pgStore(schema) }),
        await startReceiver(s, { store: await pgStore(schema) }),
      ]
      const [p1, p2] = [await freePort(), await freePort()]
      // A short peer timeout: the second peer sends what the first has not been seen to send
      // after 1 ms, so both send each notification, as a pair does whenever its gossip lags.
      const cluster = (port: number, peer: number) => ({ port, peers: [peer], peerTimeout: '1ms' })
      const pair = [
        await startAlertmanager(webhookConfig(replicas[0]!.url), cluster(p1, p2)),
        await startAlertmanager(webhookConfig(replicas[1]!.url), cluster(p2, p1)),
      ]
      await until(
        'the two Alertmanagers to see each other',
        async () => {
          const r = await request(`${pair[0]!.url}/api/v2/status`)
          const status = (await r.body.json()) as { cluster?: { peers?: unknown[] } }
          return (status.cluster?.peers?.length ?? 0) === 2
        },
        20_000,
      )
      // Notifications wait for the gossip to settle (--cluster.settle-timeout 2 s).
      await new Promise((r) => setTimeout(r, 2500))

      const startsAt = new Date().toISOString()
      const alert = (group: string, instance: string, endsAt?: string) => ({
        labels: { alertname: `Ha${group}`, team: 'payments', severity: 'critical', instance },
        annotations: { summary: `HA group ${group}` },
        startsAt,
        ...(endsAt ? { endsAt } : {}),
      })
      // Prometheus sends every alert to every Alertmanager of the pair.
      const both = (alerts: unknown[]) => Promise.all(pair.map((am) => am.postAlerts(alerts)))
      await both([alert('A', 'i1'), alert('B', 'i1')])
      const warRooms = () =>
        [...s.state.chats.values()].filter((c) => c.description.includes('[warroom:'))
      await until(
        'two war rooms with their cards',
        () =>
          warRooms().length === 2 &&
          warRooms().every((c) => view(s, c.chat_id).pinned.length === 1),
        30_000,
      )
      await both([alert('A', 'i2')])
      await until(
        'group A’s card to show i2',
        () => {
          const a = warRooms().find((c) => c.name.endsWith('HA group A'))
          return !!a && view(s, a.chat_id).cardRead.includes('instance=i2')
        },
        30_000,
      )
      const past = new Date(Date.now() - 1000).toISOString()
      await both([alert('A', 'i1', past), alert('A', 'i2', past), alert('B', 'i1', past)])
      await until(
        'both resolved',
        () => warRooms().every((c) => c.name.startsWith('[已解决] ')),
        30_000,
      )
      // Both peers have had time to send what they would (group interval 2 s).
      await new Promise((r) => setTimeout(r, 4000))

      expect(warRooms()).toHaveLength(2)
      for (const chat of warRooms()) {
        const v = view(s, chat.chat_id)
        expect(v.cards, chat.name).toHaveLength(1)
        expect(v.card.header.template).toBe('green')
        expect(
          v.posts.filter((p) => p.includes('事件已解决')),
          chat.name,
        ).toHaveLength(1)
        const twice = v.posts.filter((p, i) => v.posts.indexOf(p) !== i)
        expect(twice, chat.name).toEqual([])
      }
      // Each replica was sent notifications: the pair really delivered to both.
      const handled = await Promise.all(
        replicas.map(async (r) => {
          const text = await (await request(`${r.url}/metrics`)).body.text()
          return [
            ...text.matchAll(
              /warroom_webhooks_total\{source="alertmanager",outcome="[^"]+"\} (\d+)/g,
            ),
          ]
            .map((m) => Number(m[1]))
            .reduce((a, b) => a + b, 0)
        }),
      )
      expect(
        handled.every((n) => n > 0),
        `notifications per replica: ${handled}`,
      ).toBe(true)
    })
  },
)
