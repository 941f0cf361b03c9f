import { randomUUID } from 'node:crypto'
import { isIP } from 'node:net'
import { posix } from 'node:path'
import { PassThrough, type Readable } from 'node:stream'
import type { ConnectionOptions } from 'node:tls'
import { Client, FTPError } from 'basic-ftp'
import { type AllowPrivate, resolveAllowed } from './address'
import { ConnectorError, networkError, systemCode } from './errors'
import { newestFirst, splitPattern } from './glob'
import { baseDirectory, remotePath, withTimeout } from './remote'
import { connectorSettings } from './settings'
import type { DestinationConnector, RemoteFile, SourceConnector } from './types'

export interface FtpConfig {
  host: string
  /** Default 21 (990 for implicit TLS). */
  port?: number
  username: string
  password?: string
  /** true: explicit FTPS (AUTH TLS, the usual one); 'implicit': TLS from the first byte; false/absent: plain FTP. */
  secure?: boolean | 'implicit'
  /** A PEM certificate (or chain) to trust besides the system's, for a server with its own certificate. */
  caCertificate?: string
  /** The remote directory names are relative to (default "/"). */
  path?: string
  /** Connecting, each command, and a data connection that stops moving (default 30 s). */
  timeoutMs?: number
  allowPrivate?: AllowPrivate
}

const TLS_TRUST_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
])

function ftpError(error: unknown, where: string): ConnectorError {
  if (error instanceof ConnectorError) return error
  if (error instanceof FTPError) {
    const code = error.code
    if (code === 530 || code === 331 || code === 332) {
      return new ConnectorError('AUTH', `${where}: the server refused the username and password`, {
        cause: error,
      })
    }
    if (code === 550 || code === 450) {
      return new ConnectorError('NOT_FOUND', `${where}: no such file or directory (or not accessible)`, {
        cause: error,
      })
    }
    if (code === 421) return new ConnectorError('UNREACHABLE', `${where}: the server closed the connection`)
    if (code === 534 || code === 533) {
      return new ConnectorError(
        'AUTH',
        `${where}: the server refuses the TLS settings (try secure: true or false)`,
      )
    }
    return new ConnectorError(
      'PROTOCOL',
      `${where}: the server answered ${code} ${error.message.slice(0, 200)}`,
      {
        cause: error,
      },
    )
  }
  const code = systemCode(error)
  if (code && TLS_TRUST_CODES.has(code)) {
    return new ConnectorError(
      'AUTH',
      `${where}: the server's TLS certificate is not trusted (${code}); give its certificate as caCertificate`,
      { cause: error },
    )
  }
  const network = networkError(error, where)
  if (network) return network
  const message = error instanceof Error ? error.message : String(error)
  if (/^Timeout/i.test(message)) return new ConnectorError('TIMEOUT', `${where}: timed out`, { cause: error })
  return new ConnectorError('PROTOCOL', `${where}: ${message.slice(0, 200)}`, { cause: error })
}

/**
 * An FTP or FTPS server's directory (basic-ftp, passive mode), connected on first use, the host resolved and
 * checked as safeFetch does; data connections go to the control connection's address only. One command runs at
 * a time: a download returned by `get` holds the connection until it has been read (or destroyed).
 */
export function ftpConnector(config: FtpConfig): SourceConnector & DestinationConnector {
  const port = config.port ?? (config.secure === 'implicit' ? 990 : 21)
  const base = baseDirectory(config.path)
  const timeoutMs = config.timeoutMs ?? 30_000
  const where = `${config.secure ? 'ftps' : 'ftp'}://${config.host}:${port}`
  let client: Client | undefined
  let queue: Promise<unknown> = Promise.resolve()

  const connect = async (): Promise<Client> => {
    if (client && !client.closed) return client
    const [target] = await resolveAllowed(
      config.host,
      config.allowPrivate ?? connectorSettings().allowPrivate,
    )
    const ftp = new Client(timeoutMs)
    const secureOptions: ConnectionOptions = {}
    if (config.caCertificate) secureOptions.ca = config.caCertificate
    // The certificate is checked against the configured name, while the connection goes to the checked address.
    if (isIP(config.host) === 0) secureOptions.servername = config.host
    try {
      await withTimeout(
        ftp.access({
          host: target!.address,
          port,
          user: config.username,
          password: config.password ?? '',
          secure: config.secure ?? false,
          secureOptions,
        }),
        timeoutMs,
        where,
        () => ftp.close(),
      )
    } catch (error) {
      ftp.close()
      throw ftpError(error, where)
    }
    client = ftp
    return ftp
  }

  /** Runs one operation after the previous ones have finished (the FTP control connection is sequential). */
  const exclusive = <T>(op: () => Promise<T>): Promise<T> => {
    const result = queue.then(op, op)
    queue = result.catch(() => {})
    return result
  }

  const run = <T>(what: string, op: (ftp: Client) => Promise<T>): Promise<T> =>
    exclusive(async () => {
      const ftp = await connect()
      try {
        return await op(ftp)
      } catch (error) {
        throw ftpError(error, `${where} ${what}`)
      }
    })

  return {
    async list(pattern) {
      const { dir, match } = splitPattern(pattern)
      const directory = dir === '' ? base : remotePath(base, dir)
      return run(`list ${directory}`, async (ftp) => {
        const entries = await ftp.list(directory)
        const files: RemoteFile[] = []
        for (const entry of entries) {
          if (!entry.isFile || !match(entry.name)) continue
          let modifiedAt = entry.modifiedAt
          if (!modifiedAt) {
            // LIST dates are minutes at best (and years for old files): MDTM gives the exact time.
            modifiedAt = await ftp.lastMod(posix.join(directory, entry.name)).catch(() => undefined)
          }
          files.push({
            name: dir ? `${dir}/${entry.name}` : entry.name,
            size: entry.size,
            ...(modifiedAt ? { modifiedAt } : {}),
          })
        }
        return newestFirst(files)
      })
    },

    async get(name) {
      const path = remotePath(base, name)
      const out = new PassThrough({ highWaterMark: 64 * 1024 })
      let started!: () => void
      const ready = new Promise<void>((resolve) => {
        started = resolve
      })
      const transfer = run(`get ${path}`, async (ftp) => {
        const size = await ftp.size(path).catch((error) => {
          // 550: no such file; other refusals (SIZE not implemented) leave it to RETR to tell.
          if (error instanceof FTPError && error.code === 550) throw error
          return undefined
        })
        if (size === undefined && (await ftp.list(path).catch(() => [])).length === 0) {
          throw new ConnectorError('NOT_FOUND', `${where} ${path}: no such file`)
        }
        started()
        await ftp.downloadTo(out, path)
      })
      const failed = transfer.then(
        () => undefined,
        (error: unknown) => error as ConnectorError,
      )
      const early = await Promise.race([ready.then(() => undefined), failed])
      if (early) throw early
      let finished = false
      failed.then((error) => {
        finished = true
        if (error && !out.destroyed) out.destroy(error)
      })
      // A download dropped by its reader would hold the connection: closing it ends the transfer.
      out.once('close', () => {
        if (!finished && !out.readableEnded) client?.close()
      })
      return out
    },

    async put(name, body: Readable) {
      const path = remotePath(base, name)
      const directory = posix.dirname(path)
      const temporary = posix.join(directory, `.${randomUUID()}.part`)
      await run(`put ${path}`, async (ftp) => {
        await ftp.ensureDir(directory)
        try {
          await ftp.uploadFrom(body, temporary)
        } catch (error) {
          await ftp.remove(temporary, true).catch(() => {})
          throw error
        }
        // A consumer polling the directory never sees a half-written file under its final name.
        try {
          await ftp.rename(temporary, path)
        } catch {
          await ftp.remove(path, true)
          await ftp.rename(temporary, path)
        }
      })
    },

    async close() {
      client?.close()
      await queue
      client = undefined
    },
  }
}
