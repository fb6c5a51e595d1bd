/**
 * The README's quick start in a real browser (Debian's chromium driven by
 * playwright-core): `npm start`, the README's sample payloads, then /ack and
 * /resolve typed as sandbox users and a card button clicked, checking what
 * the /sandbox page shows. Screenshots of each step go to test-artifacts/.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Browser, chromium, type Page } from 'playwright-core'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../support/helpers.js'

// Debian's chromium; WARROOM_CHROMIUM names another installed one (GitHub's runners have Chrome).
const CHROMIUM = process.env.WARROOM_CHROMIUM || '/usr/bin/chromium'
const hasChromium = (() => {
  try {
    execFileSync(CHROMIUM, ['--version'], { stdio: 'ignore' })
    return existsSync(CHROMIUM)
  } catch {
    return false
  }
})()
if (!hasChromium && process.env.CI)
  throw new Error('Debian chromium is not installed: .ci/system-packages must install it')

const ARTIFACTS = 'test-artifacts/browser'

/** The README's `curl … localhost:8080<path> … -d @<file>` lines, in order. */
function readmeSamples(): Array<{ path: string; file: string }> {
  const readme = readFileSync('README.md', 'utf8')
  return [...readme.matchAll(/curl [^\n]*localhost:8080(\/\w+)[^\n]*-d @(\S+\.json)/g)].map(
    (m) => ({ path: m[1]!, file: m[2]! }),
  )
}

let server: ChildProcess | undefined
let browser: Browser | undefined
let base = ''

beforeAll(async () => {
  if (!hasChromium) return
  mkdirSync(ARTIFACTS, { recursive: true })
  const port = await freePort()
  // `npm start` as the README says, on the port a platform would give, in its own process group.
  // --ignore-scripts skips only prestart's rebuild of lib/ (npm test built it), which would
  // rewrite files under other tests running at the same time.
  server = spawn('npm', ['start', '--ignore-scripts'], {
    env: { ...process.env, PORT: String(port), FEISHU_APP_ID: '', FEISHU_APP_SECRET: '' },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  server.stdout!.on('data', (d) => {
    output += d
  })
  server.stderr!.on('data', (d) => {
    output += d
  })
  const deadline = Date.now() + 60_000
  while (!/Watch the sandbox: +(\S+)\/sandbox/.test(output)) {
    if (Date.now() > deadline || server.exitCode !== null)
      throw new Error(`npm start did not come up:\n${output}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  base = /Watch the sandbox: +(\S+)\/sandbox/.exec(output)![1]!
  expect(base).toBe(`http://127.0.0.1:${port}`.replace('127.0.0.1', new URL(base).hostname))
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
}, 90_000)

afterAll(async () => {
  await browser?.close()
  // Only what this test started: npm and the server under it, by their process group.
  if (server?.pid && server.exitCode === null) {
    process.kill(-server.pid, 'SIGTERM')
    await new Promise((r) => server!.once('exit', r))
  }
})

async function shot(page: Page, name: string) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: false })
}

async function openChat(page: Page, namePart: string) {
  await page.locator('#chats .chat', { hasText: namePart }).first().click()
  await expect.poll(() => page.locator('#title b').textContent()).toContain(namePart)
}

async function say(page: Page, as: string, text: string) {
  await page.selectOption('#as', { label: as })
  await page.fill('#text', text)
  await page.click('#say button')
}

/** Whether the newest message is inside the visible part of the message list. */
async function newestInView(page: Page): Promise<boolean> {
  // Run in the page (a string, so this file needs no DOM types).
  return page.evaluate(`(() => {
    const box = document.getElementById('msgs')
    const last = box.lastElementChild
    if (!last) return false
    const b = box.getBoundingClientRect()
    const m = last.getBoundingClientRect()
    return m.bottom <= b.bottom + 2 && m.top >= b.top - 2
  })()`)
}

describe.skipIf(!hasChromium)('the sandbox page, from the README', () => {
  it('shows war rooms opened by the README’s samples, /ack and /resolve typed by people, a button click, and the review summary', {
    timeout: 90_000,
  }, async () => {
    const page = await browser!.newPage({ viewport: { width: 1280, height: 800 } })
    await page.goto(`${base}/sandbox`)
    await expect.poll(() => page.locator('#empty').isVisible()).toBe(true)

    const samples = readmeSamples()
    expect(samples.map((s) => s.file)).toContain('test/fixtures/payloads/alertmanager-firing.json')
    const firing = samples.filter((s) => !s.file.includes('resolved'))
    for (const sample of firing) {
      const res = await request(`${base}${sample.path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: readFileSync(sample.file),
      })
      expect(res.statusCode, `${sample.path} ${sample.file}`).toBe(200)
      await res.body.dump()
    }
    // A war room per sample, and the stakeholder feed the sandbox made.
    await expect.poll(() => page.locator('#chats .chat').count()).toBe(firing.length + 1)
    await shot(page, '1-opened')

    // The Alertmanager war room: critical (carmine), the routed people are in it.
    await openChat(page, 'HighErrorRate')
    await expect
      .poll(() => page.locator('#pinned .hd').getAttribute('class'))
      .toContain('t-carmine')
    const people = await page.locator('#title small').textContent()
    for (const name of ['Alice Wang', 'Bob Li', 'Carol Zhang']) expect(people).toContain(name)
    // A critical incident buzzes (加急) its responders as it opens: the page lists the urgent notice.
    await expect.poll(() => page.locator('#urgent').textContent()).toContain('📳 应用内加急 → ')
    for (const name of ['Alice Wang', 'Bob Li', 'Carol Zhang'])
      expect(await page.locator('#urgent').textContent()).toContain(name)
    expect(await page.locator('#urgent').textContent()).toContain('置顶卡片')
    // The paged are shown with the chat time-sensitive for them, until someone answers.
    await expect.poll(() => page.locator('#attention').textContent()).toContain('⏰ 即时提醒')
    for (const name of ['Alice Wang', 'Bob Li', 'Carol Zhang'])
      expect(await page.locator('#attention').textContent()).toContain(name)

    await say(page, 'Bob Li', '/ack')
    await expect.poll(() => page.locator('#attention').textContent()).not.toContain('⏰')
    await expect.poll(() => page.locator('#pinned .card').textContent()).toContain('已确认')
    await expect.poll(() => page.locator('#msgs').textContent()).toContain('已确认，正在处理')
    expect(await newestInView(page)).toBe(true)
    await shot(page, '2-acknowledged')

    await say(page, 'Alice Wang', '/resolve rolled back')
    await expect.poll(() => page.locator('#title b').textContent()).toMatch(/^\[已解决\] /)
    expect(await page.locator('#title b').textContent()).not.toContain('🔥')
    await expect.poll(() => page.locator('#pinned .hd').getAttribute('class')).toContain('t-green')
    await expect
      .poll(() => page.locator('#msgs').textContent())
      .toContain('由 @Alice Wang 标记解决')
    // A person's resolution gets the review summary too, and the newest message is in view.
    await expect
      .poll(() => page.locator('#msgs').textContent(), { timeout: 15_000 })
      .toContain('复盘摘要')
    await expect.poll(() => newestInView(page)).toBe(true)
    await shot(page, '3-resolved-by-a-person')

    // The deploy incident: Resolve clicked on its card as Bob.
    await openChat(page, 'Deploy of shop v42')
    // Start a call from the card: the page shows the meeting, the card its Join button.
    await page.selectOption('#as', { label: 'Alice Wang' })
    await page.locator('#pinned button', { hasText: '发起视频会议' }).click()
    await expect.poll(() => page.locator('#attention').textContent()).toMatch(/📹 视频会议 \d{9}/)
    await expect
      .poll(() => page.locator('#pinned .card').textContent())
      .toContain('📹 加入视频会议')
    await shot(page, '4a-video-bridge')
    await page.selectOption('#as', { label: 'Bob Li' })
    await page.locator('#pinned button', { hasText: '标记已解决' }).click()
    await expect.poll(() => page.locator('#notice').textContent()).toBe('已标记解决')
    await expect.poll(() => page.locator('#title b').textContent()).toMatch(/^\[已解决\] /)
    await expect.poll(() => page.locator('#pinned .hd').getAttribute('class')).toContain('t-green')
    await shot(page, '4-resolved-by-a-click')
    await expect.poll(() => page.locator('#attention').textContent()).toContain('（已释放）')

    // An error is shown on the page, not swallowed.
    await page.evaluate(
      `send('/sandbox/say', { chat_id: 'oc_doesnotexist', open_id: 'ou_x', text: 'hi' })`,
    )
    await expect.poll(() => page.locator('#notice.err').textContent()).toMatch(/错误 400/)
    await shot(page, '5-error-shown')

    // The stakeholder feed: marked in the list, one thread per incident, the resolutions inside them.
    const feed = page.locator('#chats .chat', { hasText: '📣 通报频道' })
    await expect.poll(() => feed.count()).toBe(1)
    await feed.click()
    await expect.poll(() => page.locator('#title small').textContent()).toContain('📣 通报频道')
    await expect.poll(() => page.locator('#msgs .msg:not(.reply)').count()).toBe(firing.length)
    await expect
      .poll(() => page.locator('#msgs .msg.reply', { hasText: '✅ 已解决' }).count())
      .toBe(2)
    expect(await page.locator('#msgs .msg.reply').first().textContent()).toContain('↳ 话题回复')
    // Each thread starts with its incident's name (the post's title).
    expect(await page.locator('#msgs .msg:not(.reply) b').allTextContents()).toContainEqual(
      expect.stringContaining('HighErrorRate'),
    )
    await shot(page, '8-stakeholder-feed')
    await page.close()
  })

  it('speaks the product’s language, writes times in its time zone, fades toasts, tells same-named chats apart, folds the pinned card in a small window', {
    timeout: 60_000,
  }, async () => {
    // A browser in New York: the page must still write Asia/Shanghai times, as the cards do.
    const context = await browser!.newContext({
      viewport: { width: 900, height: 560 },
      timezoneId: 'America/New_York',
    })
    const page = await context.newPage()
    const missing: string[] = []
    page.on('response', (r) => {
      if (r.status() >= 400) missing.push(`${r.status()} ${r.url()}`)
    })
    await page.goto(`${base}/sandbox`)
    await expect.poll(() => page.locator('#brand').textContent()).toBe('飞书沙箱')
    expect(await page.evaluate('document.documentElement.lang')).toBe('zh-CN')
    expect(await page.locator('#text').getAttribute('placeholder')).toContain('/ack')
    expect(await page.locator('#sendBtn').textContent()).toBe('发送')

    // Two war rooms of the same name (two keys, one title): the list tells them apart.
    for (const key of ['same:1', 'same:2']) {
      const res = await request(`${base}/incidents`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          key,
          title: 'Same name twice',
          severity: 'critical',
          labels: { team: 'payments' },
        }),
      })
      expect(res.statusCode).toBe(200)
      await res.body.dump()
    }
    const same = page.locator('#chats .chat', { hasText: 'Same name twice' })
    await expect.poll(() => same.count()).toBe(2)
    const tails = await same.locator('.tail').allTextContents()
    expect(new Set(tails).size).toBe(2)
    await same.first().click()
    // System lines in Chinese, as a Chinese Feishu client shows them.
    await expect
      .poll(() => page.locator('#msgs .sys').allTextContents())
      .toContainEqual(expect.stringMatching(/邀请 .+ 加入了群组/))
    expect((await page.locator('#msgs').textContent()) ?? '').not.toContain('invited')

    // The urgent line's time is Asia/Shanghai's (the browser is in New York).
    const state = (await (await request(`${base}/sandbox/state`)).body.json()) as {
      urgent: Array<{ at: number; message_id: string }>
      chats: Array<{ chat_id: string; name: string; messages: string[] }>
    }
    const chat = state.chats.find(
      (c) => c.name.includes('Same name twice') && c.chat_id.endsWith(tails[0]!.slice(1, 7)),
    )!
    const buzz = state.urgent.find((u) => chat.messages.includes(u.message_id))!
    const shanghai = new Intl.DateTimeFormat('zh-CN', {
      timeZone: 'Asia/Shanghai',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    }).format(new Date(buzz.at))
    await expect.poll(() => page.locator('#urgent').textContent()).toContain(shanghai)

    // A small window: the pinned card is folded to its label, the messages keep the room.
    const pinned = await page.locator('#pinned').boundingBox()
    expect(pinned!.height).toBeLessThan(560 * 0.2)
    expect(await page.locator('#pinned details').getAttribute('open')).toBeNull()
    await page.locator('#pinned summary').click()
    expect(await page.locator('#pinned details').getAttribute('open')).not.toBeNull()
    await shot(page, '6-small-window')

    // The header: the card is the chat's top notice; Take command makes the clicker the lead.
    expect(await page.locator('#pinned summary').textContent()).toContain('群置顶')
    await page.selectOption('#as', { index: 0 })
    const leader = await page.locator('#as option:checked').textContent()
    await page.locator('#pinned button', { hasText: '我来指挥' }).click()
    await expect
      .poll(() => page.locator('#pinned .card').textContent())
      .toContain(`🎖 指挥：@${leader}`)
    await shot(page, '7-lead-and-header')

    // A toast fades.
    await page.selectOption('#as', { index: 0 })
    await page.locator('#pinned button', { hasText: '确认' }).first().click()
    await expect.poll(() => page.locator('#notice').textContent()).not.toBe('')
    await expect.poll(() => page.locator('#notice').textContent(), { timeout: 8000 }).toBe('')
    // Nothing the page asked for was missing (the favicon included).
    expect(missing).toEqual([])
    await context.close()
  })

  it('marks a storm room in the list and its title, its card listing the incidents in it', {
    timeout: 60_000,
  }, async () => {
    // More non-critical incidents from one source than the new-chat budget allows (30 a minute).
    const answers = await Promise.all(
      Array.from({ length: 34 }, async (_, i) => {
        const res = await request(`${base}/incidents`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            key: `storm-demo:${i}`,
            title: `Queue lag ${i}`,
            severity: 'warning',
            labels: { team: 'payments' },
          }),
        })
        expect(res.statusCode).toBe(200)
        return (await res.body.json()) as { storm?: string }
      }),
    )
    const stormed = answers.filter((a) => a.storm).length
    expect(stormed).toBeGreaterThan(0)
    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } })
    await page.goto(`${base}/sandbox`)
    const room = page.locator('#chats .chat', { has: page.locator('.storm') })
    await expect.poll(() => room.count()).toBe(1)
    // War rooms of their own carry no mark.
    expect(
      await page.locator('#chats .chat', { hasText: 'Queue lag' }).locator('.storm').count(),
    ).toBe(0)
    await room.click()
    await expect.poll(() => page.locator('#title small').textContent()).toContain('🌪️ 告警风暴群')
    await expect
      .poll(
        async () =>
          (await page.locator('#pinned .card').textContent())?.match(/Queue lag \d+/g)?.length ?? 0,
      )
      .toBe(stormed)
    await shot(page, '9-storm-room')
    await page.close()
  })
})
