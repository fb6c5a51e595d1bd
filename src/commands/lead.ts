import { defineCommand } from './command.js'

/** `/lead` (`/lead me`): the sender leads the response; the card's Take command does the same. */
export default defineCommand({
  name: 'lead',
  words: ['lead', '指挥'],
  who: 'member',
  usage: { zh: '/lead（指挥）由我担任事件指挥', en: '/lead: lead the response yourself' },
  run: ({ room, ref, by }) => room.takeLead(ref, by),
  button: {
    text: { zh: '我来指挥', en: 'Take command' },
    type: 'default',
    order: 15,
    show: (s) => !s.resolved,
    toast: { zh: '你已担任事件指挥', en: 'You lead this incident' },
  },
})
