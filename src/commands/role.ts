import { defineCommand } from './command.js'

/** `/role <name> [me|@someone]`: a role the config lists (warroom.roles) to the sender or someone. */
export default defineCommand({
  name: 'role',
  words: ['role', '角色'],
  who: 'member',
  usage: {
    zh: '/role <角色> [@某人]（角色）担任（或指派）配置中的角色，如 comms、scribe',
    en: '/role <role> [@someone]: take (or hand out) a configured role such as comms or scribe',
  },
  // "me" or nothing after the role is the sender; a mention is read from the message's mentions.
  parse: (rest) => ({ role: rest.trim().split(/\s+/)[0]?.toLowerCase() ?? '' }),
  run: ({ room, ref, by }, { role, mentioned }: { role: string; mentioned?: string[] }) =>
    room.assignRole(ref, by, role, mentioned?.[0] ? { openId: mentioned[0] } : by),
})
