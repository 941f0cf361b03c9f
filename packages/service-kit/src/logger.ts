import { currentRequest } from '@pm/telemetry'
import { pino } from 'pino'

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

const PINO_LEVELS: Record<number, LogLevel> = { 20: 'debug', 30: 'info', 40: 'warn', 50: 'error' }

/** A pino destination handing each line to `sink` with its level (pino tells it through lastLevel). */
function sinkStream(sink: LogSink) {
  return {
    [pino.symbols.needsMetadataGsym]: true,
    lastLevel: 30,
    write(line: string) {
      sink(line, PINO_LEVELS[this.lastLevel] ?? (this.lastLevel >= 50 ? 'error' : 'info'))
    },
  }
}

/** The request being served (request id, trace id): on every line written while serving it. */
function requestFields(): Record<string, unknown> {
  const scope = currentRequest()
  return scope ? { requestId: scope.requestId, traceId: scope.traceId } : {}
}

function bind(instance: pino.Logger): Logger {
  const write = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (!instance.isLevelEnabled(lvl)) return
    const entry: Record<string, unknown> = {}
    if (fields) for (const [k, v] of Object.entries(fields)) entry[bounded(k)] = serialize(v)
    instance[lvl](entry, bounded(msg))
  }
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (fields) => bind(instance.child(serialize(fields) as Record<string, unknown>)),
  }
}

/**
 * pino, one JSON object per line on stdout (stderr for errors): what log shippers read. Each line has
 * `time`, `level`, the logger's fields, the request id and trace id of the request being served (when
 * there is one) and `msg`. Lines stay bounded whatever a client sent: every string in them is cut at
 * MAX_LOG_STRING characters.
 */
export function createLogger(
  base: Record<string, unknown>,
  level: LogLevel = (process.env.LOG_LEVEL as LogLevel | undefined) ?? 'info',
  sink: LogSink = standardSink,
): Logger {
  const instance = pino(
    {
      level: level in ORDER ? level : 'info',
      base: null,
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin: requestFields,
      // Values come serialized (bounded, errors as name, message and stack): no serializer of pino's own.
      serializers: { err: (value: unknown) => value },
    },
    sinkStream(sink),
  )
  return bind(instance.child(serialize(base) as Record<string, unknown>))
}
