import { defineCommand, nothing } from './command.js'

/** `/status`: where the incident stands, as a reply. */
export default defineCommand({
  name: 'status',
  words: ['status', '状态'],
  who: 'anyone',
  usage: { zh: '/status（状态）当前状态', en: '/status: where it stands' },
  run: async ({ room, ref, messageId }) => {
    const record = messageId ? await room.status(ref, messageId) : await room.find(ref)
    return nothing(record?.key)
  },
})
