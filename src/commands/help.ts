import type { Language } from '../i18n/index.js'
import { type ChatCommand, defineCommand, nothing } from './command.js'

const HEADER: Record<Language, (unknown?: string) => string> = {
  zh: (unknown) =>
    `${unknown ? `不认识的命令 /${unknown}。` : ''}可用命令（@机器人 或以 / 开头）：`,
  en: (unknown) =>
    `${unknown ? `Unknown command /${unknown}. ` : ''}Commands (mention the bot, or start with /):`,
}

/** The list of commands, from the table: a new command's file puts its line here. */
export function helpText(
  commands: ReadonlyArray<ChatCommand>,
  language: Language,
  unknown?: string,
): string {
  return [HEADER[language](unknown), ...commands.map((c) => c.usage[language])].join('\n')
}

/** `/help`, and the answer to a slash word the bot does not know. */
export default defineCommand({
  name: 'help',
  words: ['help', '帮助'],
  who: 'anyone',
  usage: { zh: '/help（帮助）本说明', en: '/help: this list' },
  parse: () => ({}),
  run: async ({ room, ref, messageId, language, commands }, args: { unknown?: string }) => {
    if (messageId)
      await room.reply(
        messageId,
        helpText(commands, language, args.unknown),
        'chatId' in ref ? ref.chatId : undefined,
      )
    return nothing()
  },
})
