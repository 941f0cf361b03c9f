export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
  child(fields: Record<string, unknown>): Logger
}

/** Longest string kept in a log entry (message, field, error message or stack); the rest is cut. */
export const MAX_LOG_STRING = 2_000
/** Nesting kept in a field's value; deeper parts are replaced by a marker. */
const MAX_LOG_DEPTH = 5
/** Entries and keys kept per list or object in a field's value. */
const MAX_LOG_ITEMS = 50

function bounded(text: string): string {
  return text.length > MAX_LOG_STRING
    ? `${text.slice(0, MAX_LOG_STRING)}… (${text.length - MAX_LOG_STRING} more characters)`
    : text
}

/**
 * A field's value, bounded whatever it holds (client-supplied names, messages that quote them): long
 * strings cut, deep or wide structures trimmed, errors as name, message and stack.
 */
function serialize(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return bounded(value)
  if (value instanceof Error) {
    return {
      name: value.name,
      message: bounded(value.message),
      ...(value.stack ? { stack: bounded(value.stack) } : {}),
    }
  }
  if (value === null || typeof value !== 'object') return value
  if (depth >= MAX_LOG_DEPTH) return '[nested too deep]'
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_LOG_ITEMS).map((item) => serialize(item, depth + 1))
    return value.length > MAX_LOG_ITEMS ? [...items, `… (${value.length - MAX_LOG_ITEMS} more)`] : items
  }
  if (value instanceof Date) return value.toISOString()
  const entries = Object.entries(value)
  const out: Record<string, unknown> = {}
  for (const [key, item] of entries.slice(0, MAX_LOG_ITEMS)) out[bounded(key)] = serialize(item, depth + 1)
  if (entries.length > MAX_LOG_ITEMS) out['…'] = `${entries.length - MAX_LOG_ITEMS} more keys`
  return out
}

/** Where log lines go: stdout, stderr for errors. */
export type LogSink = (line: string, level: LogLevel) => void

const standardSink: LogSink = (line, level) => {
  if (level === 'error') process.stderr.write(line)
  else process.stdout.write(line)
}

/**
 * One JSON object per line on stdout (stderr for errors): what log shippers read. Lines stay bounded
 * whatever a client sent: every string in them is cut at MAX_LOG_STRING characters.
 */
export function createLogger(
  base: Record<string, unknown>,
  level: LogLevel = (process.env.LOG_LEVEL as LogLevel | undefined) ?? 'info',
  sink: LogSink = standardSink,
): Logger {
  const min = ORDER[level] ?? ORDER.info
  const write = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[lvl] < min) return
    const entry: Record<string, unknown> = {
      time: new Date().toISOString(),
      level: lvl,
      ...base,
      msg: bounded(msg),
    }
    if (fields) for (const [k, v] of Object.entries(fields)) entry[k] = serialize(v)
    sink(`${JSON.stringify(entry)}\n`, lvl)
  }
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (fields) => createLogger({ ...base, ...fields }, level, sink),
  }
}
