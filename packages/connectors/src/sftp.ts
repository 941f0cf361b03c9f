import { createHash, randomUUID } from 'node:crypto'
import { posix } from 'node:path'
import type { Readable } from 'node:stream'
import SftpClient from 'ssh2-sftp-client'
import { type AllowPrivate, resolveAllowed } from './address'
import { ConnectorError, networkError, systemCode } from './errors'
import { newestFirst, splitPattern } from './glob'
import { baseDirectory, mappedStream, remotePath, withTimeout } from './remote'
import { connectorSettings } from './settings'
import type { DestinationConnector, RemoteFile, SourceConnector } from './types'

export interface SftpConfig {
  host: string
  /** Default 22. */
  port?: number
  username: string
  password?: string
  /** An OpenSSH or PEM private key. */
  privateKey?: string | Buffer
  passphrase?: string
  /** The server's host key, "SHA256:<base64>" as ssh-keygen -l prints it or hex; any key accepted when absent. */
  hostFingerprint?: string
  /** The remote directory names are relative to (default "/"). */
  path?: string
  /** Connecting and each operation (default 30 s). */
  timeoutMs?: number
  allowPrivate?: AllowPrivate
}

/** Hex (with or without colons) or "SHA256:<base64>" as the hex of the SHA-256 of the key. */
function fingerprintHex(fingerprint: string): string {
  const text = fingerprint.trim()
  const b64 = text.match(/^SHA256:([A-Za-z0-9+/]+=*)$/i)
  if (b64?.[1]) return Buffer.from(b64[1], 'base64').toString('hex')
  const hex = text.replace(/:/g, '').toLowerCase()
  if (/^[0-9a-f]{64}$/.test(hex)) return hex
  throw new ConnectorError('BAD_CONFIG', 'hostFingerprint must be "SHA256:<base64>" or 64 hexadecimal digits')
}

function sftpError(error: unknown, where: string): ConnectorError {
  const found = networkError(error, where)
  if (found) return found
  const message = error instanceof Error ? error.message : String(error)
  const code = systemCode(error)
  if (/authentication methods failed|authentication failed/i.test(message)) {
    return new ConnectorError('AUTH', `${where}: the server refused the username and credentials`, {
      cause: error,
    })
  }
  if (/host denied|verification failed/i.test(message)) {
    return new ConnectorError('AUTH', `${where}: the server's host key does not match hostFingerprint`, {
      cause: error,
    })
  }
  if (/timed out/i.test(message))
    return new ConnectorError('TIMEOUT', `${where}: timed out`, { cause: error })
  if (code === 'ENOENT' || code === '2' || /no such file/i.test(message)) {
    return new ConnectorError('NOT_FOUND', `${where}: no such file or directory`, { cause: error })
  }
  if (code === 'EACCES' || code === '3' || /permission denied/i.test(message)) {
    return new ConnectorError('AUTH', `${where}: permission denied`, { cause: error })
  }
  return new ConnectorError('PROTOCOL', `${where}: ${message.replace(/^[\w>-]+: /, '')}`, { cause: error })
}

/**
 * An SFTP server's directory (ssh2-sftp-client), connected on first use: password or private key, the host key
 * checked against hostFingerprint when given, the host resolved and checked as safeFetch does.
 */
export function sftpConnector(config: SftpConfig): SourceConnector & DestinationConnector {
  const port = config.port ?? 22
  const base = baseDirectory(config.path)
  const timeoutMs = config.timeoutMs ?? 30_000
  const where = `sftp://${config.host}:${port}`
  const expected = config.hostFingerprint ? fingerprintHex(config.hostFingerprint) : undefined
  let client: SftpClient | undefined
  let connecting: Promise<SftpClient> | undefined

  const connect = () => {
    connecting ??= (async () => {
      const [target] = await resolveAllowed(
        config.host,
        config.allowPrivate ?? connectorSettings().allowPrivate,
      )
      const sftp = new SftpClient('pm-connectors', { error: () => {}, end: () => {}, close: () => {} })
      try {
        await sftp.connect({
          host: target!.address,
          port,
          username: config.username,
          ...(config.password !== undefined ? { password: config.password } : {}),
          ...(config.privateKey !== undefined ? { privateKey: config.privateKey } : {}),
          ...(config.passphrase !== undefined ? { passphrase: config.passphrase } : {}),
          ...(expected
            ? { hostVerifier: (key: Buffer) => createHash('sha256').update(key).digest('hex') === expected }
            : {}),
          readyTimeout: timeoutMs,
          keepaliveInterval: 10_000,
          keepaliveCountMax: 3,
        })
      } catch (error) {
        await sftp.end().catch(() => {})
        throw sftpError(error, where)
      }
      client = sftp
      return sftp
    })()
    connecting.catch(() => {
      connecting = undefined
    })
    return connecting
  }

  const close = async () => {
    connecting = undefined
    const sftp = client
    client = undefined
    await sftp?.end().catch(() => {})
  }

  /**
   * One operation; `timed` ones (everything but transfers, whose length follows the file's size) must answer
   * within timeoutMs. Transfers rely on SSH keepalives to notice a dead server.
   */
  const run = async <T>(what: string, op: (sftp: SftpClient) => Promise<T>, timed = true): Promise<T> => {
    const sftp = await connect()
    try {
      // A connection that stopped answering is dropped; the next operation connects again.
      if (!timed) return await op(sftp)
      return await withTimeout(op(sftp), timeoutMs, `${where} ${what}`, () => void close())
    } catch (error) {
      throw error instanceof ConnectorError ? error : sftpError(error, `${where} ${what}`)
    }
  }

  return {
    async list(pattern) {
      const { dir, match } = splitPattern(pattern)
      const directory = dir === '' ? base : remotePath(base, dir)
      const entries = await run(`list ${directory}`, (sftp) => sftp.list(directory))
      const files: RemoteFile[] = entries
        .filter((e) => e.type === '-' && match(e.name))
        .map((e) => ({
          name: dir ? `${dir}/${e.name}` : e.name,
          size: e.size,
          modifiedAt: new Date(e.modifyTime),
        }))
      return newestFirst(files)
    },

    async get(name) {
      const path = remotePath(base, name)
      const stats = await run(`get ${path}`, (sftp) => sftp.stat(path))
      if (!stats.isFile) throw new ConnectorError('NOT_FOUND', `${where} ${path} is not a file`)
      const sftp = await connect()
      return mappedStream(sftp.createReadStream(path), (error) => sftpError(error, `${where} get ${path}`))
    },

    async put(name, body: Readable) {
      const path = remotePath(base, name)
      const directory = posix.dirname(path)
      const temporary = posix.join(directory, `.${randomUUID()}.part`)
      await run(`put ${path}`, async (sftp) => {
        if (!(await sftp.exists(directory))) await sftp.mkdir(directory, true)
      })
      await run(
        `put ${path}`,
        async (sftp) => {
          try {
            await sftp.put(body, temporary)
          } catch (error) {
            await sftp.delete(temporary, true).catch(() => {})
            throw error
          }
        },
        false,
      )
      // A consumer polling the directory never sees a half-written file under its final name.
      await run(`put ${path}`, async (sftp) => {
        try {
          await sftp.rename(temporary, path)
        } catch (error) {
          if ((await sftp.exists(path)) !== '-') {
            await sftp.delete(temporary, true)
            throw error
          }
          await sftp.delete(path)
          await sftp.rename(temporary, path)
        }
      })
    },

    close,
  }
}
