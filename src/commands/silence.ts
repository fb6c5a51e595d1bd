import { defineCommand, noteOf, parseDuration } from './command.js'

/** `/silence <duration> [note]`: the alert group silenced in Alertmanager. */
export default defineCommand({
  name: 'silence',
  words: ['silence', '静默'],
  who: 'member',
  usage: {
    zh: '/silence <时长> [备注]（静默）在 Alertmanager 静默此告警组，如 /silence 1h',
    en: '/silence <duration> [note]: silence the alert group in Alertmanager, e.g. /silence 1h',
  },
  parse: (rest) => {
    const [duration = '', ...more] = rest.trim().split(/\s+/)
    return { durationMs: parseDuration(duration), ...noteOf(more.join(' ')) }
  },
  run: ({ room, ref, by }, { durationMs, note }) => room.silence(ref, by, durationMs, note),
  button: {
    text: { zh: '静默 1 小时', en: 'Silence 1h' },
    type: 'default',
    order: 30,
    show: (s) => !s.resolved && s.canSilence && !s.silenced,
    value: { d: '1h' },
    args: (value) => ({ durationMs: parseDuration(String(value.d ?? '1h')) }),
    toast: { zh: '已静默', en: 'Silenced' },
  },
})
