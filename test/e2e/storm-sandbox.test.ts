/**
 * The README's alert storm against `npm start` (issue 26): the shell loop as
 * printed, then the sandbox shows 30 rooms of their own and one storm room
 * listing the other ten, each with a button of its own on the room's card.
 */
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { request } from 'undici'
import { describe, expect, it } from 'vitest'
import { serveInProcess } from '../support/cli.js'
import { freePort, until } from '../support/helpers.js'

const ROOT = join(import.meta.dirname, '../..')

describe('the README’s alert storm in the sandbox', () => {
  it('gathers what the budget leaves out in one storm room, each incident listed once', async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    const loop = /```sh\n(for i in \$\(seq 1 40\); do\n[\s\S]*?\ndone)\n```/.exec(readme)?.[1]
    expect(loop, 'the storm loop in README.md').toBeDefined()
    const port = await freePort()
    const served = await serveInProcess(
      {
        PATH: process.env.PATH ?? '',
        WARROOM_SANDBOX: '1',
        WARROOM_SANDBOX_API_PORT: String(await freePort()),
      },
      { args: ['serve', '--port', String(port)] },
    )
    try {
      const { sandboxUrl } = served
      await new Promise<void>((resolve, reject) =>
        execFile(
          'bash',
          ['-c', loop!.replaceAll('localhost:8080', `127.0.0.1:${port}`)],
          { cwd: ROOT },
          (error) => (error ? reject(error) : resolve()),
        ),
      )
      const state = async () =>
        (await (await request(`${sandboxUrl}/_sandbox/state`)).body.json()) as {
          chats: Array<{ name: string; messages: string[] }>
          messages: Array<{ message_id: string; msg_type: string; content: unknown }>
        }
      const cardOf = async (name: RegExp) => {
        const s = await state()
        const chat = s.chats.find((c) => name.test(c.name))
        const card = s.messages.find(
          (m) => chat?.messages.includes(m.message_id) && m.msg_type === 'interactive',
        )
        return {
          s,
          text: JSON.stringify(card?.content ?? '').replace(/&#(\d+);/g, (_, n) =>
            String.fromCharCode(Number(n)),
          ),
        }
      }
      await until('the storm room lists ten', async () =>
        (await cardOf(/告警风暴：team=payments/)).text.includes('10 个未恢复 / 共 10 个'),
      )
      const { s, text } = await cardOf(/告警风暴：team=payments/)
      expect(s.chats.filter((c) => /告警风暴/.test(c.name))).toHaveLength(1)
      // 30 rooms of their own (the stakeholder feed chat besides), the storm room the 31st war room.
      expect(s.chats.filter((c) => /HighErrorRate|5xx/.test(c.name)).length).toBe(30)
      expect(
        [...text.matchAll(/🔴 #(\d+) /g)].map((m) => Number(m[1])).sort((a, b) => a - b),
      ).toEqual(Array.from({ length: 10 }, (_, i) => i + 1))
      expect(text).toContain('独立建群 #10')
    } finally {
      await served.stop()
    }
  }, 60_000)
})
