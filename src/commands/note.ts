import { defineCommand } from './command.js'

/** `/note <text>` (记录): a key moment for the review; a 📌 reaction on any message does the same. */
export default defineCommand({
  name: 'note',
  words: ['note', '记录'],
  who: 'member',
  usage: {
    zh: '/note <内容>（记录）记下关键时刻，复盘时列在最前；也可以给任意消息加 📌 表情',
    en: '/note <text>: mark a key moment for the review (or react to any message with 📌)',
  },
  parse: (rest) => ({ text: rest.trim().slice(0, 1000) }),
  run: ({ room, ref, by, messageId }, { text }: { text: string }) =>
    room.markMoment(ref, by, { text, ...(messageId ? { messageId } : {}) }),
})
