import { defineCommand } from './command.js'

/** `/postmortem` (复盘): the episode's post-mortem document, created once, shared with the chat and linked. */
export default defineCommand({
  name: 'postmortem',
  words: ['postmortem', '复盘'],
  who: 'member',
  usage: {
    zh: '/postmortem（复盘）生成本次事件的复盘文档（飞书文档，群成员可编辑）',
    en: '/postmortem: write this incident’s post-mortem as a Feishu document the chat may edit',
  },
  run: ({ room, ref, by }) => room.postmortem(ref, by),
})
