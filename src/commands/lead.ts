import { defineCommand } from './command.js'

/** `/lead` (`/lead me`): the sender leads the response; the card's Take command does the same. */
export default defineCommand({
  name: 'lead',
  words: ['lead', '指挥'],
  who: 'member',
  usage: {
    zh: '/lead [@某人]（指挥）由我（或被 @ 的人）担任事件指挥',
    en: '/lead [@someone]: lead the response yourself (or hand it to someone)',
  },
  run: ({ room, ref, by }, { mentioned }: { mentioned?: string[] }) =>
    room.takeLead(ref, by, mentioned?.[0] ? { openId: mentioned[0] } : by),
  button: {
    text: { zh: '我来指挥', en: 'Take command' },
    type: 'default',
    order: 15,
    show: (s) => !s.resolved,
    toast: { zh: '你已担任事件指挥', en: 'You lead this incident' },
  },
})
