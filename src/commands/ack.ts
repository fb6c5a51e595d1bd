import { defineCommand } from './command.js'

/** `/ack`: a person takes the incident; escalation stops. */
export default defineCommand({
  name: 'ack',
  words: ['ack', 'acknowledge', '确认'],
  who: 'member',
  usage: { zh: '/ack（确认）认领并开始处理', en: '/ack: take the incident' },
  run: ({ room, ref, by }) => room.acknowledge(ref, by),
  button: {
    text: { zh: '确认 (Ack)', en: 'Acknowledge' },
    type: 'primary',
    order: 10,
    show: (s) => !s.resolved && !s.acknowledged,
    toast: { zh: '已确认', en: 'Acknowledged' },
  },
})
