import { defineCommand, nothing } from './command.js'

const USAGE = {
  zh: '用法：/split <编号>，编号见风暴群卡片上的 #n',
  en: 'Usage: /split <number>, the #n on the storm room’s card',
}

/** `/split <n>` (独立建群): in a storm room, incident n gets a war room of its own; one button per open incident. */
export default defineCommand({
  name: 'split',
  words: ['split', '独立建群', '拆分'],
  who: 'member',
  usage: {
    zh: '/split <编号>（独立建群）风暴群里的某个事件单独建群',
    en: '/split <number>: in a storm room, give that incident a war room of its own',
  },
  parse: (rest) => {
    const n = Number(/^#?(\d{1,6})$/.exec(rest.trim())?.[1])
    return Number.isInteger(n) && n > 0 ? { n } : {}
  },
  run: ({ room, ref, by, language }, { n }: { n?: number }) =>
    n ? room.split(ref, by, n) : Promise.resolve(nothing('', USAGE[language])),
  button: {
    text: { zh: '独立建群', en: 'Own room' },
    type: 'default',
    order: 40,
    show: () => false,
    // One per open incident of the storm room (the newest few), its number in the click.
    each: (s) => (s.storm ?? []).map((e) => ({ label: `#${e.n}`, value: { n: String(e.n) } })),
    args: (value) => ({ n: Number(value.n) }),
    toast: { zh: '已单独建群', en: 'It has a war room of its own' },
  },
})
