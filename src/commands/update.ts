import { defineCommand, nothing } from './command.js'

const USAGE = {
  zh: '用法：/update <进展>，例如 /update 已回滚到 v41，错误率下降中，下一步观察 15 分钟',
  en: 'Usage: /update <text>, e.g. /update rolled back to v41, errors falling, watching for 15 min',
}

/** `/update <text>`: a status update; the card shows it, the next one is due after warroom.update_every. */
export default defineCommand({
  name: 'update',
  words: ['update', '进展'],
  who: 'member',
  usage: { zh: '/update <进展>（进展）发布进展更新', en: '/update <text>: post a status update' },
  parse: (rest) => ({ text: rest.trim().slice(0, 2000) }),
  run: ({ room, ref, by, language }, { text }: { text: string }) =>
    text ? room.postUpdate(ref, by, text) : Promise.resolve(nothing('', USAGE[language])),
})
