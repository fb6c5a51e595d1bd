import { defineCommand, nothing } from './command.js'

const USAGE = {
  zh: '用法：/page <邮箱|open_id|oncall:排班> [备注]，例如 /page oncall:dba 主库延迟',
  en: 'Usage: /page <email|open_id|oncall:schedule> [note], e.g. /page oncall:dba replica lag',
}

/** The people named first, then the note: ids are emails, open_ids, mobiles or oncall:names. */
const ID = /^(oncall:[\w.-]+|ou_\w+|[^@\s]+@[^@\s]+\.[^@\s]+|\+?\d[\d-]{5,20})$/

/** `/page <people> [note]`: adds them and sends an in-app urgent notice for the card. */
export default defineCommand({
  name: 'page',
  words: ['page', '呼叫'],
  who: 'member',
  usage: {
    zh: '/page <邮箱|oncall:排班> [备注]（呼叫）拉人进群并加急通知',
    en: '/page <email|oncall:name> [note]: add people and buzz them',
  },
  parse: (rest) => {
    const words = rest.trim().split(/\s+/).filter(Boolean)
    const ids: string[] = []
    while (words.length && ID.test(words[0]!) && ids.length < 20) ids.push(words.shift()!)
    const note = words.join(' ').slice(0, 500)
    return { ids, ...(note ? { note } : {}) }
  },
  run: (
    { room, ref, by, language },
    { ids, note, mentioned = [] }: { ids: string[]; note?: string; mentioned?: string[] },
  ) =>
    [...ids, ...mentioned].length
      ? room.bring(ref, by, [...ids, ...mentioned], { page: true, ...(note ? { note } : {}) })
      : Promise.resolve(nothing('', USAGE[language])),
})
