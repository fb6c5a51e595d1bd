import { defineCommand, nothing } from './command.js'

const USAGE = { zh: '用法：/title <新标题>', en: 'Usage: /title <new title>' }

/** `/title <text>`: the incident renamed; the chat keeps its status prefix and priority. */
export default defineCommand({
  name: 'title',
  words: ['title', '标题'],
  who: 'member',
  usage: { zh: '/title <新标题>（标题）改标题', en: '/title <text>: rename the incident' },
  parse: (rest) => ({ title: rest.trim().slice(0, 200) }),
  run: ({ room, ref, by, language }, { title }: { title: string }) =>
    title ? room.retitle(ref, by, title) : Promise.resolve(nothing('', USAGE[language])),
})
