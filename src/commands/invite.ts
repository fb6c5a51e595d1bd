import { defineCommand, nothing } from './command.js'

const USAGE = {
  zh: '用法：/invite <邮箱|open_id|oncall:排班> …，例如 /invite bob@example.com oncall:payments',
  en: 'Usage: /invite <email|open_id|oncall:schedule> …, e.g. /invite bob@example.com oncall:payments',
}

/** `/invite <people>`: adds them to the war room. */
export default defineCommand({
  name: 'invite',
  words: ['invite', '邀请'],
  who: 'member',
  usage: {
    zh: '/invite <邮箱|oncall:排班>（邀请）拉人进群',
    en: '/invite <email|oncall:name>: add people',
  },
  parse: (rest) => ({
    ids: rest
      .split(/[\s,，]+/)
      .filter(Boolean)
      .slice(0, 20),
  }),
  run: (
    { room, ref, by, language },
    { ids, mentioned = [] }: { ids: string[]; mentioned?: string[] },
  ) =>
    [...ids, ...mentioned].length
      ? room.bring(ref, by, [...ids, ...mentioned], { page: false })
      : Promise.resolve(nothing('', USAGE[language])),
})
