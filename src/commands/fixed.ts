import { defineCommand } from './command.js'

/** `/fixed <what>` (修复): what fixed it, kept for the review and shown the next time this fires. */
export default defineCommand({
  name: 'fixed',
  words: ['fixed', '修复'],
  who: 'member',
  usage: {
    zh: '/fixed <说明>（修复）记下是什么解决了问题，复盘和下次同一事件时可见',
    en: '/fixed <what>: note what fixed it, for the review and the next time it fires',
  },
  parse: (rest) => ({ text: rest.trim().slice(0, 1000) }),
  run: ({ room, ref, by }, { text }: { text: string }) => room.noteFix(ref, by, text),
})
