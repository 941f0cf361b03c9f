import { isIP } from 'node:net'
import { join } from 'node:path'
import { EMAIL_ADDRESS, MAX_URL_LENGTH } from '@pm/service-kit'
import type { AllowPrivate } from './address'
import { ConnectorError } from './errors'
import { ftpConnector } from './ftp'
import { safeRelativePath } from './glob'
import { httpSource } from './http'
import { localPathSource } from './local'
import { connectorSettings } from './settings'
import { sftpConnector } from './sftp'
import type { DestinationConnector, SourceConnector } from './types'

/** Settings every kind of connection may carry. */
interface CommonSettings {
  /** Host name or IP address. */
  host?: string
  /** 1–65535; the protocol's default when absent. */
  port?: number
  username?: string
  password?: string
  /** Connecting and each command (1–3600; default 30; an http download's whole time when given). */
  timeoutSeconds?: number
  /** Free-form settings kept with the connection and not read by the connectors. */
  options?: Record<string, unknown>
}

export interface SftpConnectionConfig extends CommonSettings {
  type: 'sftp'
  host: string
  username: string
  /** Absolute remote directory, "/" when absent. */
  path?: string
  /** OpenSSH or PEM private key; with or instead of password. */
  privateKey?: string
  passphrase?: string
  /** The server's host key: "SHA256:<base64>" (ssh-keygen -l) or 64 hex digits; any key when absent. */
  hostFingerprint?: string
}

export interface FtpConnectionConfig extends CommonSettings {
  /** "ftps" is "ftp" with secure true. */
  type: 'ftp' | 'ftps'
  host: string
  username: string
  path?: string
  /** Passive mode is the one supported: true or absent. */
  passive?: boolean
  /** true: explicit FTPS (AUTH TLS); "implicit": TLS from the first byte (port 990); false: plain FTP. */
  secure?: boolean | 'implicit'
  /** A PEM certificate to trust for this server (its own, self-signed or from a private authority). */
  caCertificate?: string
}

export interface HttpConnectionConfig extends CommonSettings {
  type: 'http'
  /** The resource's absolute http(s) URL; or host (+ port, path, secure). */
  url?: string
  path?: string
  /** https when true. */
  secure?: boolean
  method?: 'GET' | 'POST'
  /** Sent as a bearer token; username/password as basic authentication. */
  token?: string
  headers?: Record<string, string>
}

export interface LocalConnectionConfig {
  type: 'local'
  /** A directory under the server's import directory (IMPORT_FILES_ROOT), "/" or absent for that directory. */
  path?: string
  options?: Record<string, unknown>
}

/** A mailbox suppliers send files to: stored and validated; no connector fetches mail. */
export interface EmailConnectionConfig extends CommonSettings {
  type: 'email'
  host: string
  username: string
  secure?: boolean
  folder?: string
  fromAddress?: string
  subjectFilter?: string
  attachmentPattern?: string
}

/** import_configs.connection_config: how a supplier's files are fetched. */
export type ConnectionConfig =
  | SftpConnectionConfig
  | FtpConnectionConfig
  | HttpConnectionConfig
  | LocalConnectionConfig
  | EmailConnectionConfig

export type ConnectionType = ConnectionConfig['type']
export const CONNECTION_TYPES: readonly ConnectionType[] = ['sftp', 'ftp', 'ftps', 'http', 'local', 'email']

const COMMON_KEYS = ['type', 'host', 'port', 'username', 'password', 'timeoutSeconds', 'options']
const KEYS: Record<ConnectionType, readonly string[]> = {
  sftp: [...COMMON_KEYS, 'path', 'privateKey', 'passphrase', 'hostFingerprint'],
  ftp: [...COMMON_KEYS, 'path', 'passive', 'secure', 'caCertificate'],
  ftps: [...COMMON_KEYS, 'path', 'passive', 'secure', 'caCertificate'],
  http: [...COMMON_KEYS, 'url', 'path', 'secure', 'method', 'token', 'headers'],
  local: ['type', 'path', 'options'],
  email: [...COMMON_KEYS, 'secure', 'folder', 'fromAddress', 'subjectFilter', 'attachmentPattern'],
}

/** One thing wrong in a connection config, at its path (e.g. "input.connectionConfig.port"). */
export interface ConnectionConfigIssue {
  path: string
  message: string
}

/** What reads show in place of a secret; never accepted as one. */
const MASK = '***'
const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/

const keyPath = (base: string, key: string) =>
  /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`
const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v)

/**
 * Checks a connection config against the vocabulary above: every problem, each at its path, an empty list when
 * the config is valid. Unknown keys are refused (a typo would otherwise be stored silently); anything else goes
 * under `options`. A secret sent as "***" (what reads show) is refused: the caller restores stored secrets first.
 */
export function validateConnectionConfig(value: unknown, path = 'connectionConfig'): ConnectionConfigIssue[] {
  const issues: ConnectionConfigIssue[] = []
  const issue = (at: string, message: string) => issues.push({ path: at, message: `${at} ${message}` })
  if (!isObject(value)) {
    issue(path, 'must be an object such as { "type": "sftp", "host": …, "username": … }')
    return issues
  }
  if (Buffer.byteLength(JSON.stringify(value)) > 16_384) issue(path, 'is larger than 16384 bytes')
  const at = (key: string) => keyPath(path, key)
  const type = typeof value.type === 'string' ? value.type.trim().toLowerCase() : undefined
  if (!type || !(CONNECTION_TYPES as readonly string[]).includes(type)) {
    issue(at('type'), `is required: one of ${CONNECTION_TYPES.join(', ')}`)
    return issues
  }
  const kind = type as ConnectionType
  for (const key of Object.keys(value)) {
    if (!KEYS[kind].includes(key)) {
      issue(at(key), `is not a setting of a ${kind} connection (known: ${KEYS[kind].join(', ')})`)
    }
  }
  const present = (key: string) => value[key] !== undefined && value[key] !== null

  const text = (key: string, o: { max: number; required?: boolean; pattern?: RegExp; hint?: string }) => {
    const v = value[key]
    if (v === undefined || v === null) {
      if (o.required) issue(at(key), 'is required')
      return
    }
    if (typeof v !== 'string' || v.trim() === '') return issue(at(key), 'must be a non-empty string')
    if (v.trim().length > o.max) return issue(at(key), `must have at most ${o.max} characters`)
    if (o.pattern && !o.pattern.test(v.trim())) issue(at(key), o.hint ?? 'has an invalid format')
  }
  const secret = (key: string) => {
    const v = value[key]
    if (v === undefined || v === null) return
    if (typeof v !== 'string' || v === '') return issue(at(key), 'must be a non-empty string')
    if (v === MASK) return issue(at(key), `is the masked placeholder "${MASK}"; send the real value`)
    if (v.length > 8192) issue(at(key), 'must have at most 8192 characters')
  }
  const bool = (key: string) => {
    if (present(key) && typeof value[key] !== 'boolean') issue(at(key), 'must be true or false')
  }
  const host = (required: boolean) => {
    text('host', { max: 253, required })
    const h = value.host
    if (typeof h === 'string' && h.trim() !== '' && !HOSTNAME.test(h.trim()) && isIP(h.trim()) === 0) {
      issue(at('host'), 'must be a host name (e.g. sftp.supplier.example) or an IP address')
    }
  }
  const absolutePath = () =>
    text('path', {
      max: 1024,
      pattern: /^\/(?!.*(?:^|\/)\.\.(?:\/|$))/,
      hint: 'must be an absolute path starting with "/", without ".."',
    })

  // Common settings.
  const port = value.port
  if (present('port') && (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65_535)) {
    issue(at('port'), 'must be an integer between 1 and 65535')
  }
  const timeout = value.timeoutSeconds
  if (
    present('timeoutSeconds') &&
    (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 1 || timeout > 3600)
  ) {
    issue(at('timeoutSeconds'), 'must be an integer between 1 and 3600')
  }
  if (present('options') && !isObject(value.options)) issue(at('options'), 'must be an object')
  secret('password')

  switch (kind) {
    case 'sftp':
      host(true)
      text('username', { max: 255, required: true })
      absolutePath()
      secret('privateKey')
      secret('passphrase')
      text('hostFingerprint', {
        max: 255,
        pattern: /^(?:SHA256:[A-Za-z0-9+/]{43}=?|(?:[0-9a-fA-F]{2}:?){31}[0-9a-fA-F]{2})$/,
        hint: 'must be "SHA256:<base64>" as ssh-keygen -l prints it, or 64 hexadecimal digits',
      })
      break
    case 'ftp':
    case 'ftps':
      host(true)
      text('username', { max: 255, required: true })
      absolutePath()
      if (present('passive') && value.passive !== true) {
        issue(at('passive'), 'must be true (or absent): only passive mode is supported')
      }
      if (present('secure') && typeof value.secure !== 'boolean' && value.secure !== 'implicit') {
        issue(at('secure'), 'must be true (explicit FTPS), "implicit" or false')
      }
      if (kind === 'ftps' && value.secure === false)
        issue(at('secure'), 'cannot be false for an ftps connection')
      text('caCertificate', {
        max: 16_000,
        pattern: /-----BEGIN CERTIFICATE-----/,
        hint: 'must be a PEM certificate (-----BEGIN CERTIFICATE----- …)',
      })
      break
    case 'http': {
      if (present('url') === present('host'))
        issue(at('url'), 'or host is required for an http connection, not both')
      if (present('url')) {
        text('url', { max: MAX_URL_LENGTH })
        let parsed: URL | undefined
        try {
          parsed = new URL(String(value.url))
        } catch {}
        if (!parsed || !['http:', 'https:'].includes(parsed.protocol)) {
          issue(at('url'), 'must be an absolute http:// or https:// URL')
        } else if (parsed.username || parsed.password) {
          issue(at('url'), 'must not carry credentials; use username and password')
        }
        if (present('path')) issue(at('path'), 'goes with host, not with url')
      } else {
        host(true)
        absolutePath()
      }
      bool('secure')
      text('username', { max: 255 })
      if (present('method') && !['GET', 'POST'].includes(String(value.method).toUpperCase())) {
        issue(at('method'), 'must be GET or POST')
      }
      secret('token')
      if (present('headers')) {
        if (!isObject(value.headers)) issue(at('headers'), 'must be an object of header name → string value')
        else {
          for (const [name, v] of Object.entries(value.headers)) {
            const hp = keyPath(at('headers'), name)
            if (!HEADER_NAME.test(name)) issue(hp, 'is not a valid header name')
            else if (typeof v !== 'string' || v.length > 4096)
              issue(hp, 'must be a string of at most 4096 characters')
          }
        }
      }
      break
    }
    case 'local': {
      const p = value.path
      if (present('path')) {
        if (typeof p !== 'string' || p.trim() === '' || p.length > 1024) {
          issue(at('path'), 'must be a directory under the import directory, e.g. "/acme"')
        } else {
          try {
            safeRelativePath(p.trim().replace(/^\/+/, ''), p)
          } catch (error) {
            issue(at('path'), `must stay under the import directory: ${(error as Error).message}`)
          }
        }
      }
      break
    }
    case 'email':
      host(true)
      text('username', { max: 255, required: true })
      bool('secure')
      text('folder', { max: 255 })
      text('fromAddress', {
        max: 255,
        pattern: EMAIL_ADDRESS,
        hint: 'must be an e-mail address such as orders@example.com',
      })
      text('subjectFilter', { max: 255 })
      text('attachmentPattern', { max: 255 })
      break
  }
  return issues
}

/**
 * The config in the current vocabulary. Rows stored before it (as the seeds write them) are read too: the kind
 * from the configuration's import type when `type` is absent, `remote_path` as path, `auth: { username,
 * password | token }` as the settings of the same names, and an sftp row's `passive` flag dropped.
 */
export function normalizeConnectionConfig(value: unknown, importType?: string): Record<string, unknown> {
  if (!isObject(value)) return {}
  const config: Record<string, unknown> = { ...value }
  if (config.type === undefined && importType) config.type = importType.trim().toLowerCase()
  if (typeof config.type === 'string') config.type = config.type.trim().toLowerCase()
  if (config.remote_path !== undefined && config.path === undefined) {
    config.path = config.remote_path
    delete config.remote_path
  }
  // Seeded sftp rows carry the ftp-only passive flag, meaningless over SSH.
  if (config.type === 'sftp' && typeof config.passive === 'boolean') delete config.passive
  if (isObject(config.auth)) {
    const auth = config.auth
    delete config.auth
    for (const key of ['username', 'password', 'token'] as const) {
      if (auth[key] !== undefined && config[key] === undefined) config[key] = auth[key]
    }
  }
  return config
}

export interface ConnectorOptions {
  /** The configuration's import_type, the kind of a stored config without `type`. */
  importType?: string
  /** Default FETCH_ALLOW_PRIVATE. */
  allowPrivate?: AllowPrivate
  /** Default IMPORT_FILES_ROOT. */
  filesRoot?: string
}

/**
 * The connector a stored connection config describes (import_configs.connection_config): SFTP, FTP/FTPS and
 * local ones read and write, HTTP ones read. BAD_CONFIG (listing every problem) for an invalid config, and for
 * kinds no connector fetches from (email, supplier APIs).
 */
export function connectorFromConfig(
  connectionConfig: unknown,
  o: ConnectorOptions = {},
): SourceConnector & Partial<DestinationConnector> {
  const raw = normalizeConnectionConfig(connectionConfig, o.importType)
  if (typeof raw.type === 'string' && !(CONNECTION_TYPES as readonly string[]).includes(raw.type)) {
    throw new ConnectorError(
      'BAD_CONFIG',
      `${raw.type} connections are not fetched from; use sftp, ftp, ftps, http or local`,
    )
  }
  const issues = validateConnectionConfig(raw)
  if (issues.length > 0) {
    throw new ConnectorError(
      'BAD_CONFIG',
      `invalid connection config: ${issues.map((i) => i.message).join('; ')}`,
    )
  }
  const config = raw as unknown as ConnectionConfig
  const settings = connectorSettings()
  const allowPrivate = o.allowPrivate ?? settings.allowPrivate
  const timeoutMs =
    'timeoutSeconds' in config && config.timeoutSeconds ? config.timeoutSeconds * 1000 : undefined
  const optional = <T extends object>(entries: T) =>
    Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined)) as Partial<T>

  switch (config.type) {
    case 'sftp':
      return sftpConnector({
        host: config.host.trim(),
        username: config.username,
        allowPrivate,
        ...optional({
          port: config.port,
          password: config.password,
          privateKey: config.privateKey,
          passphrase: config.passphrase,
          hostFingerprint: config.hostFingerprint,
          path: config.path,
          timeoutMs,
        }),
      })
    case 'ftp':
    case 'ftps':
      return ftpConnector({
        host: config.host.trim(),
        username: config.username,
        allowPrivate,
        secure:
          config.type === 'ftps'
            ? config.secure === 'implicit'
              ? 'implicit'
              : true
            : (config.secure ?? false),
        ...optional({
          port: config.port,
          password: config.password,
          caCertificate: config.caCertificate,
          path: config.path,
          timeoutMs,
        }),
      })
    case 'http': {
      const url =
        config.url ??
        `${config.secure ? 'https' : 'http'}://${isIP(config.host!.trim()) === 6 ? `[${config.host!.trim()}]` : config.host!.trim()}${config.port ? `:${config.port}` : ''}${config.path ?? '/'}`
      return httpSource({
        url,
        allowPrivate,
        ...optional({
          method: config.method?.toUpperCase() as 'GET' | 'POST' | undefined,
          username: config.username,
          password: config.password,
          token: config.token,
          headers: config.headers,
          timeoutMs,
        }),
      })
    }
    case 'local': {
      const root = o.filesRoot ?? settings.filesRoot
      const sub = safeRelativePath((config.path ?? '').trim().replace(/^\/+/, ''), config.path)
      return localPathSource(sub === '' ? root : join(root, sub), { within: root })
    }
    case 'email':
      throw new ConnectorError(
        'BAD_CONFIG',
        'email connections are not fetched from: upload the attachment, or use an sftp, ftp, http or local connection',
      )
  }
}
