import { defineCommand } from './command.js'

/** `/bridge` (会议): the incident's video meeting, reserved once and posted; the card's button does the same. */
export default defineCommand({
  name: 'bridge',
  words: ['bridge', '会议'],
  who: 'member',
  usage: {
    zh: '/bridge（会议）为本事件预约一个飞书视频会议，链接贴到群里和卡片上',
    en: '/bridge: reserve a Feishu video meeting for this incident, linked in the chat and on the card',
  },
  run: ({ room, ref, by }) => room.openBridge(ref, by),
  button: {
    text: { zh: '发起视频会议', en: 'Start a call' },
    type: 'default',
    order: 18,
    show: (s) => !s.resolved && s.canBridge,
    toast: { zh: '视频会议已就绪', en: 'The video bridge is ready' },
  },
})
