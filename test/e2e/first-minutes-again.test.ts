/**
 * The first ten minutes, again (issue 22): what a new user met, each fixed
 * and shown here.
 */
import { readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { request } from 'undici'
import { describe, expect, it } from 'vitest'
import { valueText } from '../../adapters/grafana.js'
import { main } from '../../src/cli/main.js'
import { parseConfig } from '../../src/config/config.js'
import { formatTime } from '../../src/i18n/index.js'
import { timelineText } from '../../src/render/timeline.js'
import { MemoryStore } from '../../src/store/store.js'
import { jsonLogger } from '../../src/util/log.js'
import { envFor, io, serveInProcess } from '../support/cli.js'
import { clientFor, freePort, incident, sandbox, tempDir, until, view } from '../support/helpers.js'
import { post, startReceiver } from '../support/receiver.js'

describe('the review and the timeline', () => {
  it('counts who acknowledged and resolved with the card’s buttons as responders (not “0 responders”)', async () => {
    const s = await sandbox()
    const [alice, bob] = [...s.state.users.values()]
    const { warroom } = await startReceiver(s, { config: { warroom: { language: 'en' } } })
    const opened = await warroom.handle(incident({ members: [alice!.open_id, bob!.open_id] }))
    const ack = await s.click(opened.cardMessageId!, alice!.open_id, { op: 'ack', k: opened.key })
    expect((ack.body as any).toast.type).toBe('success')
    await s.click(opened.cardMessageId!, bob!.open_id, { op: 'resolve', k: opened.key })
    await until('the summary', () =>
      view(s, opened.chatId!).posts.some((p) => p.includes('Review summary')),
    )
    const summary = view(s, opened.chatId!).posts.find((p) => p.includes('Review summary'))!
    expect(summary).toContain('2 responders')
    expect(summary).toContain('0 messages from people')
  })

  it('shows the bot’s replies (to /status) and names the bot a command was written to', async () => {
    const s = await sandbox()
    const [alice] = [...s.state.users.values()]
    const { warroom } = await startReceiver(s, { store: new MemoryStore() })
    const opened = await warroom.handle(incident({ members: [alice!.open_id] }))
    await s.say(opened.chatId!, alice!.open_id, '/status', { mentionBot: true })
    await until('the reply', () => s.state.messagesIn(opened.chatId!).some((m) => m.parent_id))
    const record = (await warroom.find({ chatId: opened.chatId! }))!
    const { text } = await timelineText(clientFor(s), record, 'markdown', {
      language: 'en',
      timeZone: 'UTC',
    })
    expect(text).toContain(`**${alice!.name}**: @${s.appName} /status`)
    expect(text).not.toContain('@@')
    const reply = s.state.messagesIn(opened.chatId!).find((m) => m.parent_id)!
    const replyText = Object.values(
      JSON.parse(reply.content) as Record<string, { content: Array<Array<{ text: string }>> }>,
    )[0]!.content[0]![0]!.text
    expect(text).toContain(replyText.slice(0, 20).replace(/([\\`*_[\]|#~!])/g, '\\$1'))
  })
})

describe('chat commands', () => {
  it('answers /help and an unknown command with the list of commands; a path is not a command', async () => {
    const s = await sandbox()
    const [alice] = [...s.state.users.values()]
    const { warroom } = await startReceiver(s)
    const opened = await warroom.handle(incident({ members: [alice!.open_id] }))
    const chatId = opened.chatId!
    await s.say(chatId, alice!.open_id, '/help')
    await s.say(chatId, alice!.open_id, '/ackk')
    await s.say(chatId, alice!.open_id, '/var/log is full')
    await until(
      'two answers',
      () => view(s, chatId).posts.filter((p) => p.includes('/unsilence（取消静默）')).length === 2,
    )
    const answers = view(s, chatId).posts.filter((p) => p.includes('/unsilence（取消静默）'))
    expect(answers[1]).toContain('不认识的命令 /ackk')
    await new Promise((r) => setTimeout(r, 300))
    expect(view(s, chatId).posts.filter((p) => p.includes('/unsilence（取消静默）'))).toHaveLength(
      2,
    )
  })
})

describe('English mode', () => {
  it('renames with [Resolved] unless configured, and writes the month’s name', async () => {
    expect(parseConfig({ warroom: { language: 'en' } }).warroom.resolved_prefix).toBe('[Resolved] ')
    expect(parseConfig({}).warroom.resolved_prefix).toBe('[已解决] ')
    expect(
      parseConfig({ warroom: { language: 'en', resolved_prefix: 'DONE ' } }).warroom
        .resolved_prefix,
    ).toBe('DONE ')
    const now = Date.UTC(2026, 10, 25, 1, 58)
    expect(formatTime(now, 'UTC', 'en', now)).toBe('Nov 25, 01:58')
    const s = await sandbox()
    const { warroom } = await startReceiver(s, { config: { warroom: { language: 'en' } } })
    const opened = await warroom.handle(incident({}))
    await warroom.handle(incident({ status: 'resolved' }))
    expect(view(s, opened.chatId!).name).toMatch(/^\[Resolved\] /)
  })
})

const jsonFile = async (dir: string, value: unknown) => {
  const file = join(dir, `${Math.random().toString(36).slice(2)}.json`)
  await writeFile(file, JSON.stringify(value))
  return file
}

describe('the CLI’s own words', () => {
  it('prints its version, names a missing config file, and HTTP answers end with a newline', async () => {
    const out: string[] = []
    const quiet = { out: (t: string) => out.push(t), err: (t: string) => out.push(t) }
    expect(await main(['--version'], {}, quiet)).toBe(0)
    expect(out.at(-1)).toMatch(/^feishu-warroom \d+\.\d+\.\d+/)
    expect(await main(['check', '--config', '/nonexistent/warroom.yml'], {}, quiet)).toBe(2)
    expect(out.at(-1)).toContain('the config file /nonexistent/warroom.yml does not exist')
    const s = await sandbox()
    const { url } = await startReceiver(s)
    const res = await request(`${url}/healthz`)
    expect((await res.body.text()).endsWith('\n')).toBe(true)
  })

  it('names an unknown option and the one meant, refuses an empty config, suggests config keys', async () => {
    const said: string[] = []
    const quiet = { out: (t: string) => said.push(t), err: (t: string) => said.push(t) }
    expect(await main(['notify', '--key', 'k', '--titel', 'T'], {}, quiet)).toBe(2)
    expect(said.at(-1)).toBe(
      'warroom notify: unknown option --titel (did you mean --title?) (see warroom notify --help)',
    )
    expect(await main(['check', '--frobnicate'], {}, quiet)).toBe(2)
    expect(said.at(-1)).toBe(
      'warroom check: unknown option --frobnicate (see warroom check --help)',
    )
    const dir = await tempDir()
    const empty = join(dir, 'empty.yml')
    await writeFile(empty, '# nothing here yet\n\n')
    expect(await main(['check', '--config', empty], {}, quiet)).toBe(2)
    expect(said.at(-1)).toContain(`the config file ${empty} is empty`)
    const typo = join(dir, 'typo.yml')
    await writeFile(
      typo,
      'warroom:\n  timezone: Asia/Shanghai\nmemebers: [a@b.c]\nroutes:\n  - mach: { team: x }\n',
    )
    expect(await main(['check', '--config', typo], {}, quiet)).toBe(2)
    const message = said.at(-1)!
    expect(message).toContain('warroom: unknown field(s) timezone (did you mean time_zone?)')
    expect(message).toContain('(root): unknown field(s) memebers (did you mean members?)')
    expect(message).toContain('routes[0]: unknown field(s) mach (did you mean match?)')
    // An incident's field too, and no far-fetched guess.
    const bad = io()
    expect(
      await main(
        [
          'notify',
          '--file',
          await jsonFile(dir, { key: 'k', title: 'T', severty: 'error', zzz: 1 }),
        ],
        {},
        bad.io,
      ),
    ).toBe(2)
    expect(bad.err.join()).toContain('severty (did you mean severity?)')
    expect(bad.err.join()).not.toContain('zzz (did you mean')
    // oncall without a config says where schedules come from.
    expect(await main(['oncall'], {}, quiet)).toBe(2)
    expect(said.at(-1)).toBe(
      'warroom oncall: on-call schedules come from a config: give --config FILE (see README "On call")',
    )
  })
})

/** `npm start` in this process (WARROOM_SANDBOX=1) on a free port: what it printed, and how to stop it. */
/** A free port whose next one is free too: the sandbox API takes port + 1 (it falls back when taken). */
async function freePortPair(): Promise<number> {
  const { createServer } = await import('node:net')
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = createServer()
      server.once('error', () => resolve(false))
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
    })
  for (;;) {
    const port = await freePort()
    if (port < 65535 && (await free(port + 1))) return port
  }
}

async function sandboxStart() {
  const port = await freePortPair()
  const out: string[] = []
  const served = await serveInProcess(
    { PATH: process.env.PATH ?? '', WARROOM_SANDBOX: '1' },
    { args: ['serve', '--port', String(port)], io: { out: (t) => out.push(t), err: () => {} } },
  )
  return { port, out, served }
}

describe('the CLI against the sandbox', () => {
  it('npm start prints how to point warroom notify at its sandbox, and that line works as printed', async () => {
    const { port, out, served } = await sandboxStart()
    try {
      const banner = out.join('\n')
      const exported = /export FEISHU_DOMAIN=(\S+) FEISHU_APP_ID=(\S+) FEISHU_APP_SECRET=(\S+)/
      const line = exported.exec(banner)
      expect(line, banner).not.toBeNull()
      const [, domain, appId, appSecret] = line!
      // The README's line is the banner's for the default port.
      const readme = exported.exec(readFileSync('README.md', 'utf8'))!
      expect([readme[1], readme[2], readme[3]]).toEqual(['http://127.0.0.1:8081', appId, appSecret])
      expect(banner).toContain('npx warroom check; npx warroom timeline <chat_id>')
      expect(new URL(domain!).port).toBe(String(port + 1)) // a port people can write down
      expect(banner).toContain(
        "npx warroom notify --key demo:1 --title 'Disk almost full' --member alice@example.com",
      )
      const said: string[] = []
      const code = await main(
        [
          'notify',
          '--key',
          'demo:1',
          '--title',
          'Disk almost full',
          '--member',
          'alice@example.com',
        ],
        {
          FEISHU_DOMAIN: domain!,
          FEISHU_APP_ID: appId!,
          FEISHU_APP_SECRET: appSecret!,
          XDG_STATE_HOME: await tempDir(),
        },
        { out: (t) => said.push(t), err: (t) => said.push(t) },
      )
      expect(code, said.join('\n')).toBe(0)
      const state = (await (await request(`${domain}/_sandbox/state`)).body.json()) as {
        chats: Array<{ name: string; members: string[] }>
        users: Array<{ open_id: string; email?: string }>
      }
      const alice = state.users.find((u) => u.email === 'alice@example.com')!
      const chat = state.chats.find((c) => c.name.includes('Disk almost full'))
      expect(chat?.members).toContain(alice.open_id)
      // The README's next two lines: check and timeline, with the same environment.
      const env = {
        FEISHU_DOMAIN: domain!,
        FEISHU_APP_ID: appId!,
        FEISHU_APP_SECRET: appSecret!,
        XDG_STATE_HOME: await tempDir(), // not notify's: the chat is found by its marker
      }
      const checked: string[] = []
      const checkIo = { out: (t: string) => checked.push(t), err: (t: string) => checked.push(t) }
      expect(await main(['check'], env, checkIo), checked.join('\n')).toBe(0)
      // Acknowledged in the chat: the CLI finds the chat by its marker and still knows when.
      const chatIdFirst = (chat as unknown as { chat_id: string }).chat_id
      await request(`${served.url}/sandbox/say`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          chat_id: chatIdFirst,
          open_id: alice.open_id,
          text: '/ack',
          mention_bot: true,
        }),
      })
      await until('the ack line', async () => {
        const now = (await (await request(`${domain}/_sandbox/state`)).body.json()) as {
          messages: Array<{ chat_id: string; content: unknown }>
        }
        return now.messages.some(
          (m) =>
            m.chat_id === chatIdFirst && JSON.stringify(m.content).includes('已确认，正在处理'),
        )
      })
      const timeline: string[] = []
      const timelineIo = {
        out: (t: string) => timeline.push(t),
        err: (t: string) => timeline.push(t),
      }
      const chatId = (chat as unknown as { chat_id: string }).chat_id
      expect(await main(['timeline', chatId], env, timelineIo), timeline.join('\n')).toBe(0)
      expect(timeline.join('\n')).toContain('Disk almost full')
      expect(timeline.join('\n')).toMatch(/- 确认用时: \d+秒/)
    } finally {
      await served.stop()
    }
  })
})

describe('a war room nobody could be put in', () => {
  it('makes notify exit 3 naming who could not be invited, and the receiver answer and log say so', async () => {
    const s = await sandbox()
    const { io: cliIo, out, err } = io()
    const code = await main(
      [
        'notify',
        '--key',
        'demo:nobody',
        '--title',
        'Disk almost full',
        '--member',
        'alice@acme.com',
      ],
      envFor(s),
      cliIo,
    )
    expect(code, err.join('\n')).toBe(3)
    const answer = JSON.parse(out.at(-1)!) as { action: string; empty?: boolean; chat_id: string }
    expect(answer).toMatchObject({ action: 'opened', empty: true })
    expect(s.state.chats.get(answer.chat_id)?.members.size ?? 0).toBe(0)
    expect(err.join('\n')).toMatch(/opened with nobody in it: could not invite alice@acme\.com \(/)
    // Somebody found: exit 0 and no "empty".
    const [bob] = [...s.state.users.values()]
    const ok = io()
    expect(
      await main(
        ['notify', '--key', 'demo:somebody', '--title', 'T', '--member', bob!.email!],
        envFor(s),
        ok.io,
      ),
    ).toBe(0)
    expect(JSON.parse(ok.out.at(-1)!).empty).toBeUndefined()
    // The receiver answers 200 (the alert is recorded) with empty: true, and logs an error.
    const lines: string[] = []
    const logger = jsonLogger((l) => void lines.push(l))
    const { url } = await startReceiver(s, { logger })
    const res = await post(`${url}/incidents`, {
      key: 'r:nobody',
      title: 'T',
      members: ['nobody@acme.com'],
    })
    expect(res.status).toBe(200)
    expect(res.json.empty).toBe(true)
    expect(res.json.warnings.join(' ')).toContain('nobody is in the war room')
    expect(lines.join('\n')).toContain('the war room opened with nobody in it')
  })
})

describe('the card, read by a person', () => {
  const payload = (name: string) =>
    JSON.parse(readFileSync(`test/fixtures/payloads/${name}.json`, 'utf8')) as Record<string, any>
  const keyHashOf = (s: Awaited<ReturnType<typeof sandbox>>, chatId: string) =>
    /"op":"resolve","k":"([^"]+)"/.exec(JSON.stringify(view(s, chatId).card))![1]!
  const buttons = (card: unknown): string[] =>
    JSON.stringify(card)
      .match(/"tag":"button","text":\{"tag":"plain_text","content":"[^"]*"/g)!
      .map((b) => b.replace(/.*"content":"/, '').replace(/"$/, ''))

  it('says 已解决 after a person resolves, greys the alerts the source still reports, 已恢复 when the source recovers', async () => {
    const s = await sandbox()
    const [alice] = [...s.state.users.values()]
    const { url } = await startReceiver(s, { config: { members: [alice!.open_id] } })
    const byPerson = await post(`${url}/alertmanager`, payload('alertmanager-firing'))
    const chatId = byPerson.json.chat_id as string
    await s.click(byPerson.json.message_id, alice!.open_id, {
      op: 'resolve',
      k: keyHashOf(s, chatId),
    })
    await until('the rename', () => view(s, chatId).name.startsWith('[已解决]'))
    const card = view(s, chatId).cardRead
    expect(card).toContain('✅ 已解决')
    expect(card).not.toContain('已恢复')
    expect(card).not.toContain('🔴')
    expect(card).toContain('⚪ 5xx rate above 5% on checkout-1')
    expect(card).toContain('来源仍报告告警')
    // The source's own recovery is "recovered".
    const grafana = await post(`${url}/grafana`, payload('grafana-firing'))
    await post(`${url}/grafana`, payload('grafana-resolved'))
    await until('the grafana rename', () =>
      view(s, grafana.json.chat_id).name.startsWith('[已解决]'),
    )
    expect(view(s, grafana.json.chat_id).cardRead).toContain('✅ 已恢复')
  })

  it('shows the group labels in the footer, not the raw key; the Grafana sample agrees with itself', async () => {
    const s = await sandbox()
    const { url } = await startReceiver(s)
    const am = await post(`${url}/alertmanager`, payload('alertmanager-firing'))
    const note = (chatId: string) => {
      const card = view(s, chatId).card as { elements: Array<{ tag: string; elements?: any[] }> }
      return card.elements.find((e) => e.tag === 'note')!.elements![0].content as string
    }
    expect(am.json.key).toContain('\\-warroom') // Alertmanager regexp-quotes the receiver name
    expect(note(am.json.chat_id)).toMatch(
      / · alertmanager: alertname=HighErrorRate, team=payments$/,
    )
    expect(note(am.json.chat_id)).not.toMatch(/[\\{}"]/)
    const sample = payload('grafana-firing')
    const groupAlertname = /alertname="([^"]+)"/.exec(sample.groupKey)![1]
    for (const a of sample.alerts) expect(a.labels.alertname).toBe(groupAlertname)
    expect(sample.title).toContain(groupAlertname)
    expect(decodeURIComponent(sample.alerts[0].silenceURL)).toContain(`alertname=${groupAlertname}`)
    const g = await post(`${url}/grafana`, sample)
    const card = view(s, g.json.chat_id).cardRead
    expect(card).toContain('当前值=0.072')
    expect(card).not.toContain("var='B'")
    expect(note(g.json.chat_id)).toMatch(/ · grafana: alertname=HighErrorRate$/)
  })

  it('reads Grafana values from values, else from valueString, one query or several', () => {
    expect(valueText({ values: { B: 0.072 } })).toBe('0.072')
    expect(valueText({ values: { B: 1 / 3, C: 1 } })).toBe('B=0.333333 C=1')
    expect(
      valueText({
        valueString: "[ var='B' labels={instance=a} value=12.5 ], [ var='C' labels={} value=1 ]",
      }),
    ).toBe('B=12.5 C=1')
    // Grafana's test notification: values null, a metric= entry.
    expect(
      valueText({ values: null, valueString: "[ metric='foo' labels={instance=bar} value=10 ]" }),
    ).toBe('10')
    expect(valueText({ valueString: 'something else' })).toBe('something else')
    expect(valueText({ valueString: '' })).toBeUndefined()
  })

  it('has one Silence button when /silence can reach Alertmanager, the source’s link otherwise', async () => {
    const s = await sandbox()
    const withAm = await startReceiver(s, {
      config: { alertmanager: { url: 'http://127.0.0.1:9093' } },
    })
    const a = await post(`${withAm.url}/alertmanager`, payload('alertmanager-firing'))
    expect(buttons(view(s, a.json.chat_id).card).filter((b) => b.includes('静默'))).toEqual([
      '静默 1 小时',
    ])
    const s2 = await sandbox()
    const without = await startReceiver(s2)
    const b = await post(`${without.url}/alertmanager`, payload('alertmanager-firing'))
    expect(buttons(view(s2, b.json.chat_id).card).filter((x) => x.includes('静默'))).toEqual([
      '静默',
    ])
  })
})

describe('silences in the sandbox', () => {
  it('npm start brings an Alertmanager stand-in: /silence creates a silence there, named after the person', async () => {
    const { out, served } = await sandboxStart()
    try {
      const api = served.sandboxUrl!
      expect(out.join('\n')).toContain(`Silences:            ${api}/alertmanager/`)
      const sample = JSON.parse(
        readFileSync('test/fixtures/payloads/alertmanager-firing.json', 'utf8'),
      ) as unknown
      const opened = (await (
        await request(`${served.url}/alertmanager`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(sample),
        })
      ).body.json()) as { chat_id: string }
      const state = async () =>
        (await (await request(`${api}/_sandbox/state`)).body.json()) as {
          users: Array<{ open_id: string; name: string; email: string }>
          messages: Array<{ chat_id: string; content: unknown }>
        }
      const alice = (await state()).users.find((u) => u.email === 'alice@example.com')!
      const said = await request(`${served.url}/sandbox/say`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          chat_id: opened.chat_id,
          open_id: alice.open_id,
          text: '/silence 30m rolling back',
          mention_bot: true,
        }),
      })
      expect(said.statusCode, await said.body.text()).toBe(200)
      const silences = async () =>
        (await (await request(`${api}/alertmanager/api/v2/silences`)).body.json()) as Array<{
          id: string
          createdBy: string
          comment: string
          status: { state: string }
          matchers: Array<{ name: string; value: string }>
        }>
      await until('the silence', async () => (await silences()).length === 1)
      const [silence] = await silences()
      expect(silence).toMatchObject({
        createdBy: 'Alice Wang (via feishu-warroom)',
        status: { state: 'active' },
      })
      expect(silence!.comment).toContain('rolling back')
      expect(silence!.matchers.map((m) => `${m.name}=${m.value}`).sort()).toEqual([
        'alertname=HighErrorRate',
        'team=payments',
      ])
      // The chat's line links to the stand-in's page, which lists the silence.
      await until('the 🔕 line', async () =>
        (await state()).messages.some(
          (m) => m.chat_id === opened.chat_id && JSON.stringify(m.content).includes(silence!.id),
        ),
      )
      const line = JSON.stringify(
        (await state()).messages.find((m) => JSON.stringify(m.content).includes(silence!.id))!
          .content,
      )
      const link = /https?:\/\/[^"\\]+#\/silences\/[\w-]+/.exec(line)![0]
      const page = await request(link.split('#')[0]!)
      expect(page.statusCode).toBe(200)
      expect(await page.body.text()).toContain(silence!.id)
    } finally {
      await served.stop()
    }
  })
})
