/**
 * A minimal logger interface. The action adapts @actions/core to it, the
 * receiver writes JSON lines; the core never imports either directly.
 */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
}

/**
 * Values registered here are replaced by `***` in everything `redact` sees.
 * The Feishu client registers the app secret and every token it obtains, so a
 * token echoed back inside an error body still never reaches a log.
 */
const secrets = new Set<string>()

export function registerSecret(value: string | undefined): void {
  // Very short values would mask ordinary words; nothing we register is short.
  if (value && value.length >= 6) secrets.add(value)
}

export function redact(text: string): string {
  let out = text
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join('***')
  }
  return out
}

/** A logger that adds these fields to every line (an incident's key, a source). */
export function childLogger(logger: Logger, fields: Record<string, unknown>): Logger {
  const merge = (f?: Record<string, unknown>) => ({ ...fields, ...f })
  return {
    debug: (m, f) => logger.debug(m, merge(f)),
    info: (m, f) => logger.info(m, merge(f)),
    warn: (m, f) => logger.warn(m, merge(f)),
    error: (m, f) => logger.error(m, merge(f)),
  }
}

/** A JSON-lines logger for the long-running receiver and the CLI. */
export function jsonLogger(
  write: (line: string) => void = (line) => process.stderr.write(line),
  minLevel: 'debug' | 'info' | 'warn' | 'error' = 'info',
): Logger {
  const order = { debug: 0, info: 1, warn: 2, error: 3 }
  const emit = (level: keyof typeof order, message: string, fields?: Record<string, unknown>) => {
    if (order[level] < order[minLevel]) return
    const line = JSON.stringify({ time: new Date().toISOString(), level, message, ...fields })
    write(`${redact(line)}\n`)
  }
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  }
}
