/**
 * What a new user meets in the first ten minutes, from the README alone:
 * help for every command, the port a platform gives, what `warroom check`
 * says, Grafana's test button and HMAC settings, routes in `warroom notify`,
 * and timelines that say what really failed.
 */
import { createHmac } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { HELP, main } from '../../src/cli/main.js'
import { WarRoom } from '../../src/core/warroom.js'
import { MemoryStore } from '../../src/store/store.js'
import { jsonLogger } from '../../src/util/log.js'
import { grafanaTestPayload } from '../fixtures/alerts.js'
import { envFor, io, serveInProcess } from '../support/cli.js'
import { clientFor, freePort, incident, sandbox, tempDir, view } from '../support/helpers.js'
import { post, startReceiver } from '../support/receiver.js'

describe('the CLI', () => {
  it('answers --help for every command with that command’s options, exit 0', async () => {
    for (const command of ['serve', 'notify', 'check', 'timeline']) {
      for (const flag of ['--help', '-h']) {
        const a = io()
        expect(await main([command, flag], {}, a.io)).toBe(0)
        expect(a.out.join('\n')).toBe(HELP[command])
        expect(a.err).toEqual([])
      }
    }
    expect(HELP.serve).toContain('PORT')
    const a = io()
    expect(await main(['serve', '--prot', '1'], {}, a.io)).toBe(2)
    expect(a.err.join()).toContain('unknown option --prot (did you mean --port?)')
    expect(a.err.join()).toContain('warroom serve --help')
  })

  it('listens on the PORT a platform gives, unless --port says otherwise', async () => {
    const port = await freePort()
    const out: string[] = []
    const server = await serveInProcess(
      { PORT: String(port) },
      { args: ['serve'], io: { out: (t) => out.push(t), err: () => {} } },
    )
    const { url } = server
    expect(url).toBe(`http://127.0.0.1:${port}`.replace('127.0.0.1', new URL(url).hostname))
    expect(new URL(url).port).toBe(String(port))
    // The banner names the sandbox's people, who is invited, and where timelines go.
    const banner = out.join('\n')
    expect(banner).toContain('Alice Wang <alice@example.com>')
    expect(banner).toContain('team=payments → Alice Wang, Bob Li')
    expect(banner).toMatch(/Timelines: +\S*feishu-warroom-sandbox-/)
    expect(await server.stop()).toBe(0)
    const bad = io()
    expect(await main(['serve'], { PORT: 'eighty' }, bad.io)).toBe(2)
    expect(bad.err.join()).toContain('PORT must be a port number 0-65535, got "eighty"')
  })
})

describe('warroom check', () => {
  it('says once what is wrong with an unknown app id, with a hint', async () => {
    const s = await sandbox()
    const a = io()
    expect(await main(['check'], { ...envFor(s), FEISHU_APP_ID: 'cli_doesnotexist0' }, a.io)).toBe(
      1,
    )
    const err = a.err.join('\n')
    expect(err).toContain('code 10003')
    expect(err).toContain('Feishu knows no app with this app id')
    expect(err.match(/FAILED/g)).toHaveLength(1)
    expect(err).toContain('fix the credentials first')
  })

  it('refuses a grafana.test_chat_id that does not exist or the bot is not in', async () => {
    const s = await sandbox()
    const dir = await tempDir()
    const config = join(dir, 'warroom.yml')
    await writeFile(config, 'grafana:\n  test_chat_id: oc_0123456789abcdef\n')
    const a = io()
    expect(await main(['check', '--config', config], envFor(s), a.io)).toBe(1)
    expect(a.err.join('\n')).toMatch(/grafana\.test_chat_id \(oc_0123456789abcdef\): FAILED/)
  })
})

describe('Grafana', () => {
  it('says where a Test went, or why it could not be posted (502, which Grafana shows)', async () => {
    const s = await sandbox()
    const none = await startReceiver(s)
    const r1 = await post(`${none.url}/grafana`, grafanaTestPayload())
    expect(r1.status).toBe(200)
    expect(r1.json.reason).toContain('set grafana.test_chat_id')
    const fake = await startReceiver(s, {
      config: { grafana: { test_chat_id: 'oc_0123456789abcdef' } },
    })
    const r2 = await post(`${fake.url}/grafana`, grafanaTestPayload())
    expect(r2.status).toBe(502)
    expect(r2.json.error).toMatch(/grafana\.test_chat_id oc_0123456789abcdef: Feishu code \d+/)
  })

  it('names the HMAC settings to compare when a signature does not match', async () => {
    const s = await sandbox()
    const secret = 'grafana-hmac-secret'
    const { url } = await startReceiver(s, { config: { grafana: { hmac_secret: secret } } })
    const raw = JSON.stringify(grafanaTestPayload())
    const now = String(Math.floor(Date.now() / 1000))
    // Grafana with a Timestamp header signs "timestamp:body"; the receiver was not told.
    const sig = createHmac('sha256', secret).update(`${now}:${raw}`).digest('hex')
    const r = await post(`${url}/grafana`, raw, {
      headers: { 'x-grafana-alerting-signature': sig, 'x-grafana-alerting-timestamp': now },
    })
    expect(r.status).toBe(401)
    expect(r.json.error).toContain('HMAC "Secret" must equal grafana.hmac_secret')
    expect(r.json.error).toContain('"Header" must be X-Grafana-Alerting-Signature')
    expect(r.json.error).toContain(
      'set grafana.hmac_timestamp_header: X-Grafana-Alerting-Timestamp',
    )
  })
})

describe('warroom notify', () => {
  it('applies the routes of --config: members and severity from a route on the labels', async () => {
    const s = await sandbox()
    const [alice, bob] = [...s.state.users.values()]
    const dir = await tempDir()
    const config = join(dir, 'warroom.yml')
    await writeFile(
      config,
      `routes:\n  - match: { team: payments }\n    members: [${alice!.email}, ${bob!.email}]\n    severity: critical\n`,
    )
    const a = io()
    const code = await main(
      [
        'notify',
        '--config',
        config,
        '--key',
        'k1',
        '--title',
        'Checkout down',
        '--label',
        'team=payments',
      ],
      envFor(s),
      a.io,
    )
    expect(code, a.err.join()).toBe(0)
    const result = JSON.parse(a.out[0]!)
    const v = view(s, result.chat_id)
    expect(v.members.sort()).toEqual([alice!.open_id, bob!.open_id].sort())
    expect(v.name).toBe('🔥 [P0] Checkout down')
  })

  it('keeps the severity a chat was named with when resolving without local state', async () => {
    const s = await sandbox()
    const env = envFor(s)
    const member = [...s.state.users.values()][0]!.email!
    const args = ['notify', '--stateless', '--key', 'k2', '--title', 'DB down', '--member', member]
    expect(await main([...args, '--severity', 'critical'], env, io().io)).toBe(0)
    const a = io()
    expect(await main([...args, '--status', 'resolved'], env, a.io)).toBe(0)
    const v = view(s, JSON.parse(a.out[0]!).chat_id)
    expect(v.name).toBe('[已解决] [P0] DB down')
    expect(v.cardRead).toContain('P0')
  })
})

describe('warroom timeline', () => {
  it('says what really failed instead of "not a war room"', async () => {
    const s = await sandbox()
    const { warroom } = await startReceiver(s)
    const opened = await warroom.handle(incident())
    const wrong = io()
    expect(
      await main(
        ['timeline', opened.chatId!],
        { ...envFor(s), FEISHU_APP_SECRET: 'wrong-secret' },
        wrong.io,
      ),
    ).toBe(1)
    expect(wrong.err.join()).toContain('app id or app secret is wrong')
    const unreachable = io()
    expect(
      await main(
        ['timeline', opened.chatId!],
        { ...envFor(s), FEISHU_DOMAIN: `http://127.0.0.1:${await freePort()}` },
        unreachable.io,
      ),
    ).toBe(1)
    expect(unreachable.err.join()).toMatch(/ECONNREFUSED|network error/)
    const notOurs = io()
    expect(await main(['timeline', 'oc_0123456789abcdef'], envFor(s), notOurs.io)).toBe(1)
    expect(notOurs.err.join()).toContain('is not an incident war room of this app')
  })

  it('shows the key hash, not an empty key, and no made-up time to resolve, for a chat found by its marker', async () => {
    const s = await sandbox()
    const { warroom } = await startReceiver(s)
    const alice = [...s.state.users.keys()][0]!
    const opened = await warroom.handle(incident({ members: [alice] }))
    await warroom.acknowledge({ chatId: opened.chatId! }, { openId: alice })
    await warroom.resolveBy({ chatId: opened.chatId! }, { name: 'Bob' })
    const a = io()
    expect(await main(['timeline', opened.chatId!], envFor(s), a.io)).toBe(0)
    const text = a.out.join('\n')
    expect(text).toMatch(/- 事件键: sha256 [0-9a-f]{32}…/)
    expect(text).not.toContain('解决用时: 0秒')
  })
})

describe('members that could not be invited', () => {
  it('are logged with the reason, not only put on the card', async () => {
    const s = await sandbox()
    const lines: string[] = []
    const room = new WarRoom({
      client: clientFor(s),
      store: new MemoryStore(),
      now: () => s.now(),
      logger: jsonLogger((line) => lines.push(line)),
    })
    await room.handle(incident({ members: ['nobody@example.com', 'alice@example.com'] }))
    const warning = lines
      .map((l) => JSON.parse(l))
      .find((l) => l.message.includes('could not invite'))
    expect(warning?.level).toBe('warn')
    expect(warning?.members.join()).toContain('nobody@example.com')
    expect(warning?.members.join()).not.toContain('alice@example.com')
  })
})
