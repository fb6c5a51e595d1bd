import { type Language, TEXTS } from './chat.js'

/** Durations and times in the product's language ("3m 5s", "11/25 09:58"). */
export function formatDuration(ms: number, language: Language): string {
  const total = Math.max(0, Math.round(ms / 1000))
  const days = Math.floor(total / 86400)
  const h = Math.floor((total % 86400) / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = total % 60
  return TEXTS[language].d(days, h, m, s)
}

const formatters = new Map<string, Intl.DateTimeFormat>()

export function formatTime(
  ms: number,
  timeZone: string,
  language: Language,
  now = Date.now(),
): string {
  // Building a formatter costs far more than using one: keep one per zone, language and form.
  const yearOf = (t: number) => new Date(t).getUTCFullYear()
  // Another year than this one is said (a silence "until 27/10" could be in 4764).
  const withYear = Math.abs(ms - now) > 300 * 86_400_000 || yearOf(ms) !== yearOf(now)
  const id = `${timeZone}|${language}|${withYear}`
  let formatter = formatters.get(id)
  if (!formatter) {
    // English writes the month's name ("Nov 25, 09:58"): "25/11" reads as a day or a month.
    formatter = new Intl.DateTimeFormat(language === 'zh' ? 'zh-CN' : 'en-US', {
      timeZone,
      ...(withYear ? { year: 'numeric' as const } : {}),
      month: language === 'zh' ? '2-digit' : 'short',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hour12: false,
    })
    formatters.set(id, formatter)
  }
  return formatter.format(ms)
}
