import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import S3rver from 's3rver'
import { LocalStorage, S3Storage, type Storage } from '../src'

export const URL_SECRET = 'test-url-secret-0123456789abcdef'
export const BUCKET = 'pm-test'

export interface StorageUnderTest {
  storage: Storage
  /** For the local driver: its directory (to check nothing is left behind). */
  dir?: string
  stop(): Promise<void>
}

/** An S3-compatible server (s3rver) on a free loopback port, with one bucket. */
export async function startS3(): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const directory = mkdtempSync(join(tmpdir(), 'pm-s3rver-'))
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: BUCKET }],
  })
  const { port } = await server.run()
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async stop() {
      await server.close()
      rmSync(directory, { recursive: true, force: true })
    },
  }
}

export async function localStorage(publicUrl = 'http://127.0.0.1:9'): Promise<StorageUnderTest> {
  const dir = mkdtempSync(join(tmpdir(), 'pm-storage-'))
  return {
    storage: new LocalStorage({ dir, publicUrl, urlSecret: URL_SECRET }),
    dir,
    stop: async () => rmSync(dir, { recursive: true, force: true }),
  }
}

export async function s3Storage(): Promise<StorageUnderTest> {
  const s3 = await startS3()
  const storage = new S3Storage({
    bucket: BUCKET,
    region: 'us-east-1',
    endpoint: s3.endpoint,
    forcePathStyle: true,
    // s3rver's fixed credentials.
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    // The smallest part S3 accepts: a few MB exercise multipart uploads.
    partSize: 5 * 1_048_576,
  })
  return {
    storage,
    async stop() {
      storage.destroy()
      await s3.stop()
    },
  }
}

export const DRIVERS = { local: localStorage, s3: s3Storage } as const

export const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex')

/** `total` random bytes, streamed in 64 KiB chunks; `.data` holds them all. */
export function randomStream(total: number): { stream: Readable; data: Buffer } {
  const data = randomBytes(total)
  const chunks: Buffer[] = []
  for (let at = 0; at < total; at += 65_536) chunks.push(data.subarray(at, at + 65_536))
  return { stream: Readable.from(chunks), data }
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(Buffer.from(chunk))
  return Buffer.concat(chunks)
}

export async function keys(storage: Storage, prefix = ''): Promise<string[]> {
  const out: string[] = []
  for await (const o of storage.list(prefix)) out.push(o.key)
  return out.sort()
}
