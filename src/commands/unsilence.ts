import { defineCommand } from './command.js'

/** `/unsilence`: the silence `/silence` made ends now. */
export default defineCommand({
  name: 'unsilence',
  words: ['unsilence', '取消静默'],
  who: 'member',
  usage: { zh: '/unsilence（取消静默）', en: '/unsilence: end the silence' },
  run: ({ room, ref, by }) => room.unsilence(ref, by),
})
