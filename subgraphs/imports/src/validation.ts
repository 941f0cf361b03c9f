import { isIP } from 'node:net'
import { badUserInput, checkJsonObject, EMAIL_ADDRESS, MASK, MAX_URL_LENGTH } from '@pm/service-kit'
import { CronError, parseCron } from './cron'
import {
  checkFieldMapping as engineFieldMapping,
  checkTransformationRules as engineTransformationRules,
  checkValidationRules as engineValidationRules,
  ImportConfigError,
  type ImportConfigInput,
  keyPath,
  validateImportConfig,
  validateMapping,
} from './engine'

/**
 * The documented shapes of an import configuration's JSON columns and its file settings (the same text is in
 * schema.graphql). Every error names the path of the offending value, e.g. 'input.connectionConfig.port'.
 */

type Obj = Record<string, unknown>

export { keyPath }

function object(field: string, value: unknown, maxBytes?: number): Obj {
  const obj = checkJsonObject(field, value, maxBytes)
  if (obj === null) throw badUserInput(`${field} is required`, { field })
  return obj
}

function onlyKeys(field: string, obj: Obj, known: readonly string[], what: string) {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) {
      throw badUserInput(`${keyPath(field, key)} is not a setting of ${what} (known: ${known.join(', ')})`, {
        field: keyPath(field, key),
      })
    }
  }
}

function text(
  field: string,
  value: unknown,
  rule: { max: number; required?: boolean; pattern?: RegExp; hint?: string },
): string | undefined {
  if (value === undefined || value === null) {
    if (rule.required) throw badUserInput(`${field} is required`, { field })
    return undefined
  }
  if (typeof value !== 'string') throw badUserInput(`${field} must be a string`, { field })
  const trimmed = value.trim()
  if (trimmed === '') throw badUserInput(`${field} must not be empty`, { field })
  if (trimmed.length > rule.max) {
    throw badUserInput(`${field} is ${trimmed.length} characters long; at most ${rule.max} are allowed`, {
      field,
    })
  }
  if (rule.pattern && !rule.pattern.test(trimmed)) {
    throw badUserInput(`${field} ${rule.hint ?? 'has an invalid format'}`, { field })
  }
  return trimmed
}

function integer(field: string, value: unknown, min: number, max: number): number | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw badUserInput(`${field} must be an integer between ${min} and ${max}`, { field })
  }
  return value
}

function boolean(field: string, value: unknown): boolean | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'boolean') throw badUserInput(`${field} must be true or false`, { field })
  return value
}

function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[], required = false) {
  if (value === undefined || value === null) {
    if (required) throw badUserInput(`${field} is required (one of ${allowed.join(', ')})`, { field })
    return undefined
  }
  const found = typeof value === 'string' ? allowed.find((a) => a === value.trim().toLowerCase()) : undefined
  if (!found) throw badUserInput(`${field} must be one of ${allowed.join(', ')}`, { field })
  return found
}

/** A secret must be a real value: "***" is what reads show, never a password. */
function secret(field: string, value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string' || value === '') throw badUserInput(`${field} must be a string`, { field })
  if (value === MASK) {
    throw badUserInput(`${field} is the masked placeholder "${MASK}"; send the real value`, { field })
  }
  if (value.length > 4096) throw badUserInput(`${field} is longer than 4096 characters`, { field })
  return value
}

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/

function host(field: string, value: unknown, required: boolean): string | undefined {
  const h = text(field, value, { max: 253, required })
  if (h !== undefined && !HOSTNAME.test(h) && isIP(h) === 0) {
    throw badUserInput(`${field} must be a host name (e.g. ftp.supplier.example) or an IP address`, { field })
  }
  return h
}

const port = (field: string, value: unknown) => integer(field, value, 1, 65_535)

const path = (field: string, value: unknown) =>
  text(field, value, { max: 1024, pattern: /^\//, hint: 'must be an absolute path starting with "/"' })

export const CONNECTION_TYPES = ['ftp', 'sftp', 'email', 'http'] as const
export type ConnectionType = (typeof CONNECTION_TYPES)[number]

const COMMON_KEYS = ['type', 'host', 'port', 'username', 'password', 'timeoutSeconds', 'options'] as const
const CONNECTION_KEYS: Record<ConnectionType, readonly string[]> = {
  ftp: [...COMMON_KEYS, 'path', 'passive', 'secure'],
  sftp: [...COMMON_KEYS, 'path', 'privateKey', 'passphrase', 'hostFingerprint'],
  email: [...COMMON_KEYS, 'secure', 'folder', 'fromAddress', 'subjectFilter', 'attachmentPattern'],
  http: [...COMMON_KEYS, 'url', 'path', 'secure', 'method', 'token', 'headers'],
}

/**
 * connectionConfig: { type: ftp|sftp|email|http, host, port?, username?, password?, path?, … } — see the
 * description of CreateImportConfigInput.connectionConfig. Unknown keys are refused (typos would otherwise
 * be stored silently); anything else goes under `options`.
 */
export function checkConnectionConfig(field: string, value: unknown): Obj {
  const config = object(field, value, 16_384)
  const type = oneOf(`${field}.type`, config.type, CONNECTION_TYPES, true)!
  onlyKeys(field, config, CONNECTION_KEYS[type], `a ${type} connection`)
  const result: Obj = { type }
  const put = (key: string, v: unknown) => {
    if (v !== undefined) result[key] = v
  }
  const at = (key: string) => `${field}.${key}`

  if (type === 'http') {
    if (config.url == null && config.host == null) {
      throw badUserInput(`${at('url')} (or host) is required for an http connection`, { field: at('url') })
    }
    if (config.url != null && config.host != null) {
      throw badUserInput(`${at('host')}: give url or host for an http connection, not both`, {
        field: at('host'),
      })
    }
    const url = text(at('url'), config.url, { max: MAX_URL_LENGTH })
    if (url !== undefined) {
      let parsed: URL | undefined
      try {
        parsed = new URL(url)
      } catch {}
      if (!parsed || !['http:', 'https:'].includes(parsed.protocol)) {
        throw badUserInput(`${at('url')} must be an absolute http:// or https:// URL`, { field: at('url') })
      }
      put('url', url)
    }
    put('host', host(at('host'), config.host, false))
    put('method', oneOf(at('method'), config.method, ['get', 'post'] as const)?.toUpperCase())
    put('token', secret(at('token'), config.token))
    if (config.headers != null) {
      const headers = object(at('headers'), config.headers, 8_192)
      for (const [name, v] of Object.entries(headers)) {
        if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) {
          throw badUserInput(`${keyPath(at('headers'), name)} is not a valid header name`, {
            field: keyPath(at('headers'), name),
          })
        }
        text(keyPath(at('headers'), name), v, { max: 4096, required: true })
      }
      put('headers', headers)
    }
  } else {
    put('host', host(at('host'), config.host, true))
    put('username', text(at('username'), config.username, { max: 255, required: true }))
  }
  put('port', port(at('port'), config.port))
  if (type === 'http') put('username', text(at('username'), config.username, { max: 255 }))
  put('password', secret(at('password'), config.password))
  put('timeoutSeconds', integer(at('timeoutSeconds'), config.timeoutSeconds, 1, 3600))
  if (config.path != null) put('path', path(at('path'), config.path))
  put('passive', boolean(at('passive'), config.passive))
  put('secure', boolean(at('secure'), config.secure))
  put('privateKey', secret(at('privateKey'), config.privateKey))
  put('passphrase', secret(at('passphrase'), config.passphrase))
  put('hostFingerprint', text(at('hostFingerprint'), config.hostFingerprint, { max: 255 }))
  put('folder', text(at('folder'), config.folder, { max: 255 }))
  put(
    'fromAddress',
    text(at('fromAddress'), config.fromAddress, {
      max: 255,
      pattern: EMAIL_ADDRESS,
      hint: 'must be an e-mail address such as orders@example.com',
    }),
  )
  put('subjectFilter', text(at('subjectFilter'), config.subjectFilter, { max: 255 }))
  put('attachmentPattern', text(at('attachmentPattern'), config.attachmentPattern, { max: 255 }))
  if (config.options != null) put('options', object(at('options'), config.options, 8_192))
  return result
}

const SCHEDULE_KEYS = ['cron', 'timezone', 'retryOnFailure', 'maxRetries', 'retryDelayMinutes'] as const

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone })
    return true
  } catch {
    return false
  }
}

/** scheduleConfig: { cron?, timezone?, retryOnFailure?, maxRetries?, retryDelayMinutes? }. */
export function checkScheduleConfig(field: string, value: unknown): Obj {
  const config = object(field, value, 4_096)
  onlyKeys(field, config, SCHEDULE_KEYS, 'a schedule')
  const result: Obj = {}
  const cron = text(`${field}.cron`, config.cron, { max: 100 })
  if (cron !== undefined) result.cron = checkCron(`${field}.cron`, cron).expression
  const zone = text(`${field}.timezone`, config.timezone, { max: 64 })
  if (zone !== undefined) {
    if (!isTimeZone(zone)) {
      throw badUserInput(`${field}.timezone must be an IANA time zone such as Europe/Paris`, {
        field: `${field}.timezone`,
      })
    }
    result.timezone = zone
  }
  const retry = boolean(`${field}.retryOnFailure`, config.retryOnFailure)
  if (retry !== undefined) result.retryOnFailure = retry
  const maxRetries = integer(`${field}.maxRetries`, config.maxRetries, 0, 10)
  if (maxRetries !== undefined) result.maxRetries = maxRetries
  const delay = integer(`${field}.retryDelayMinutes`, config.retryDelayMinutes, 1, 1440)
  if (delay !== undefined) result.retryDelayMinutes = delay
  return result
}

export function checkCron(field: string, expression: string) {
  try {
    return parseCron(expression)
  } catch (error) {
    if (error instanceof CronError) throw badUserInput(`${field}: ${error.message}`, { field })
    throw error
  }
}

export const FILE_FORMATS = ['csv', 'xlsx', 'xml', 'json', 'jsonl'] as const

/** The encodings an importer reads, under their canonical names; aliases map onto them. */
export const ENCODINGS = [
  'UTF-8',
  'UTF-16',
  'UTF-16LE',
  'UTF-16BE',
  'ISO-8859-1',
  'ISO-8859-15',
  'Windows-1252',
  'Windows-1250',
  'US-ASCII',
  'MacRoman',
] as const

const ENCODING_ALIASES: Record<string, (typeof ENCODINGS)[number]> = {
  ...Object.fromEntries(ENCODINGS.map((e) => [e.toLowerCase().replace(/[-_\s]/g, ''), e])),
  utf8: 'UTF-8',
  latin1: 'ISO-8859-1',
  latin9: 'ISO-8859-15',
  cp1252: 'Windows-1252',
  cp1250: 'Windows-1250',
  ascii: 'US-ASCII',
  macintosh: 'MacRoman',
}

export function checkEncoding(field: string, value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null
  const found =
    ENCODING_ALIASES[
      value
        .trim()
        .toLowerCase()
        .replace(/[-_\s]/g, '')
    ]
  if (!found) throw badUserInput(`${field} must be one of ${ENCODINGS.join(', ')}`, { field })
  return found
}

/**
 * One character (not a letter, digit, quote or line break), or the two characters `\t` for a tab; stored
 * as the character itself. Not trimmed: a tab or a space is a legitimate delimiter.
 */
export function checkDelimiter(field: string, value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null
  const delimiter = value === '\\t' ? '\t' : value
  if ([...delimiter].length !== 1 || /[\p{L}\p{N}"\r\n]/u.test(delimiter)) {
    throw badUserInput(
      `${field} must be one character such as ";", ",", "|" or "\\t" (tab), not a letter, digit, quote or line break`,
      { field },
    )
  }
  return delimiter
}

/** Engine checks as GraphQL errors: BAD_USER_INPUT naming the path. */
function asBadInput<T>(check: () => T): T {
  try {
    return check()
  } catch (error) {
    if (error instanceof ImportConfigError) throw badUserInput(error.message, { field: error.path })
    throw error
  }
}

/** fieldMapping: { "<source column>": "<product field>", … } (the vocabulary is the engine's; see the schema). */
export const checkFieldMapping = (field: string, value: unknown) =>
  asBadInput(() => engineFieldMapping(value, field))

/** A mapping template's mapping: its shape, and a column mapped to sku or ean. */
export const checkTemplateMapping = (field: string, value: unknown) =>
  asBadInput(() => validateMapping(value, field))

/** transformationRules: [{ field, op, …params }] applied in order. */
export const checkTransformationRules = (field: string, value: unknown) =>
  asBadInput(() => engineTransformationRules(value, field))

/** validationRules: [{ field, rule, …params, severity? }]. */
export const checkValidationRules = (field: string, value: unknown) =>
  asBadInput(() => engineValidationRules(value, field))

/**
 * The mapping and the rules together, as an import will run them: an identifier mapped, every rule's field fed.
 * `base` prefixes the paths ("input").
 */
export const checkImportRules = (base: string, config: ImportConfigInput) =>
  asBadInput(() => validateImportConfig(config, base))
