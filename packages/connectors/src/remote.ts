import { posix } from 'node:path'
import { PassThrough, pipeline, type Readable } from 'node:stream'
import { ConnectorError } from './errors'
import { safeRelativePath } from './glob'

/** The remote base directory as an absolute path ("/" when none is configured). */
export function baseDirectory(path: string | undefined): string {
  const base = posix.normalize(`/${(path ?? '').trim().replace(/\\/g, '/')}`)
  return base.length > 1 ? base.replace(/\/$/, '') : '/'
}

/** A name relative to the base directory, as an absolute remote path that cannot leave it. */
export function remotePath(base: string, name: string): string {
  const rel = safeRelativePath(name)
  if (rel === '') throw new ConnectorError('BAD_CONFIG', 'a file name is required')
  return posix.join(base, rel)
}

/** Rejects with TIMEOUT (after calling onTimeout) when the promise has not settled within ms. */
export function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
  onTimeout?: () => void,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.()
      reject(new ConnectorError('TIMEOUT', `${what}: no answer within ${ms} ms`))
    }, ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** The stream's bytes through a PassThrough whose errors are ConnectorErrors (mapped by `mapError`). */
export function mappedStream(source: Readable, mapError: (error: unknown) => ConnectorError): Readable {
  const out = new PassThrough({ highWaterMark: 64 * 1024 })
  pipeline(source, out, (error) => {
    if (error && !out.destroyed) out.destroy(mapError(error))
  })
  return out
}
