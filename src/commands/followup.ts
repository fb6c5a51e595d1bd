import { defineCommand, parseDuration } from './command.js'

/** A due date at the end: a duration from now (3d, 12h) or a date (2026-12-05, the end of that day UTC). */
function dueOf(word: string | undefined, now: number): number | undefined {
  if (!word) return undefined
  const after = parseDuration(word)
  if (!Number.isNaN(after)) return now + after
  if (/^\d{4}-\d\d-\d\d$/.test(word) && !Number.isNaN(Date.parse(word)))
    return Date.parse(`${word}T23:59:00Z`)
  return undefined
}

/** `/followup <text> [@owner] [due]` (待办): a Feishu task assigned to the owner (the sender by default). */
export default defineCommand({
  name: 'followup',
  words: ['followup', '待办'],
  who: 'member',
  usage: {
    zh: '/followup <内容> [@负责人] [期限]（待办）创建飞书任务，复盘时列出',
    en: '/followup <what> [@owner] [due]: a Feishu task for the owner, listed in the review',
  },
  parse: (rest) => {
    const words = rest.trim().split(/\s+/).filter(Boolean)
    const due = dueOf(words.at(-1), Date.now())
    if (due !== undefined) words.pop()
    return { text: words.join(' ').slice(0, 1000), ...(due !== undefined ? { due } : {}) }
  },
  run: (
    { room, ref, by, messageId },
    { text, due, mentioned }: { text: string; due?: number; mentioned?: string[] },
  ) =>
    room.addFollowUp(ref, by, {
      text,
      owner: mentioned?.[0] ? { openId: mentioned[0] } : by,
      ...(due !== undefined ? { due } : {}),
      ...(messageId ? { messageId } : {}),
    }),
})
