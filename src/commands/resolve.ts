import { defineCommand, noteOf } from './command.js'

/** `/resolve [note]`: a person resolves it; the card turns green, the chat is renamed. */
export default defineCommand({
  name: 'resolve',
  words: ['resolve', 'resolved', '解决'],
  who: 'member',
  usage: { zh: '/resolve [说明]（解决）标记已解决', en: '/resolve [note]: mark it resolved' },
  parse: noteOf,
  run: ({ room, ref, by }, { note }) => room.resolveBy(ref, by, note),
  button: {
    text: { zh: '标记已解决', en: 'Resolve' },
    type: 'danger',
    order: 20,
    show: (s) => !s.resolved,
    confirm: {
      zh: { title: '标记已解决', text: '确认将此事件标记为已解决？' },
      en: { title: 'Resolve', text: 'Mark this incident as resolved?' },
    },
    toast: { zh: '已标记解决', en: 'Resolved' },
  },
})
