import { createHash } from 'node:crypto'
import { Readable, Transform } from 'node:stream'
import { StorageLimitError } from './types'

export function toReadable(body: Readable | Buffer | string): Readable {
  if (typeof body === 'string' || Buffer.isBuffer(body)) return Readable.from([Buffer.from(body)])
  return body
}

/** Counts and hashes what passes through; past maxBytes it fails with StorageLimitError. */
export class Meter extends Transform {
  // Not "size": lib-storage would read it as the body's length.
  bytes = 0
  private readonly hash = createHash('sha256')
  private digest: string | undefined

  constructor(private readonly maxBytes?: number) {
    super()
  }

  override _transform(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null, data?: Buffer) => void,
  ) {
    this.bytes += chunk.length
    if (this.maxBytes !== undefined && this.bytes > this.maxBytes)
      return callback(new StorageLimitError(this.maxBytes))
    this.hash.update(chunk)
    callback(null, chunk)
  }

  sha256(): string {
    this.digest ??= this.hash.digest('hex')
    return this.digest
  }
}

/** The source piped through a meter; an error on the source fails the meter. */
export function metered(
  body: Readable | Buffer | string,
  maxBytes?: number,
): { source: Readable; meter: Meter } {
  const source = toReadable(body)
  const meter = new Meter(maxBytes)
  source.on('error', (error) => meter.destroy(error))
  meter.on('error', () => source.unpipe(meter))
  source.pipe(meter)
  return { source, meter }
}
