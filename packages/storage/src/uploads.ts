import { randomUUID } from 'node:crypto'
import { Readable } from 'node:stream'
import { SNIFF_BYTES, sniffContentType } from './sniff'
import { type Storage, StorageNotFoundError } from './types'

export interface UploadInfo {
  id: string
  filename: string
  size: number
  /** Hex SHA-256 of the content. */
  sha256: string
  /** Sniffed from the first bytes (see sniffContentType). */
  contentType: string
  /** Who uploaded it: 'user:<uuid>', 'apikey:<uuid>' or 'service'. */
  owner: string
  /** ISO 8601. */
  createdAt: string
}

/** No such upload, or not the caller's: the two are not told apart. */
export class UploadNotFoundError extends Error {
  override name = 'UploadNotFoundError'
  readonly code = 'NOT_FOUND'
  constructor(readonly uploadId: string) {
    super(`upload ${uploadId} does not exist or is not yours: upload the file again`)
  }
}

export const SERVICE_OWNER = 'service'
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const OWNER = /^(?:(?:user|apikey):[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|service)$/i

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it removes
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/g

export const uploadKey = (id: string) => `uploads/${id}`
const infoKey = (id: string) => `uploads/${id}.json`

/** The last path segment, without control characters, at most 255 characters; "upload" when nothing is left. */
export function cleanFilename(name: string | undefined): string {
  const base = (name ?? '').split(/[/\\]/).pop()!.replace(CONTROL_CHARACTERS, '').trim()
  const cut = [...base].slice(0, 255).join('')
  return cut === '' || cut === '.' || cut === '..' ? 'upload' : cut
}

/**
 * A chunk as a Buffer without copying its bytes (a string is encoded). Copying each chunk of an upload doubled
 * what the gateway allocated outside V8's heap, and that allocation is what sets off its full collections: a
 * 0.5 MB upload cost 17 ms of the gateway's CPU with the copy, 11 without (see README, Benchmark, Media).
 */
function asBuffer(chunk: Buffer | Uint8Array | string): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk)
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
}

/** The first `bytes` of a stream, and a stream of all of it (those bytes, then the rest). */
async function peek(body: Readable, bytes: number): Promise<{ head: Buffer; whole: Readable }> {
  const iterator = body[Symbol.asyncIterator]() as AsyncIterator<Buffer | Uint8Array | string>
  const chunks: Buffer[] = []
  let size = 0
  let done = false
  while (size < bytes) {
    const next = await iterator.next()
    if (next.done) {
      done = true
      break
    }
    const chunk = asBuffer(next.value)
    chunks.push(chunk)
    size += chunk.length
  }
  const first = Buffer.concat(chunks)
  async function* all() {
    if (first.length > 0) yield first
    if (done) return
    for (;;) {
      const next = await iterator.next()
      if (next.done) return
      yield asBuffer(next.value)
    }
  }
  return { head: first.subarray(0, bytes), whole: Readable.from(all(), { objectMode: false }) }
}

/**
 * Streams a file into storage under uploads/<uuid>, with its SHA-256, sniffed content type and owner
 * (uploads/<uuid>.json). Over maxBytes: StorageLimitError and nothing is stored.
 */
export async function saveUpload(
  storage: Storage,
  body: Readable,
  o: { owner: string; filename: string; maxBytes: number; declaredType?: string },
): Promise<UploadInfo> {
  if (!OWNER.test(o.owner))
    throw new Error(`upload owner "${o.owner}" is not user:<uuid>, apikey:<uuid> or service`)
  const id = randomUUID()
  const filename = cleanFilename(o.filename)
  const { head, whole } = await peek(body, SNIFF_BYTES)
  const contentType = sniffContentType(head, {
    filename,
    ...(o.declaredType ? { declaredType: o.declaredType } : {}),
  })
  const stored = await storage.put(uploadKey(id), whole, {
    contentType,
    maxBytes: o.maxBytes,
    metadata: { owner: o.owner.toLowerCase() },
  })
  const info: UploadInfo = {
    id,
    filename,
    size: stored.size,
    sha256: stored.sha256,
    contentType,
    owner: o.owner.toLowerCase(),
    createdAt: new Date().toISOString(),
  }
  try {
    await storage.put(infoKey(id), JSON.stringify(info), { contentType: 'application/json' })
  } catch (error) {
    await storage.delete(uploadKey(id)).catch(() => {})
    throw error
  }
  return info
}

/** Removes an upload (its content and record); a missing one is no error. */
export async function discardUpload(storage: Storage, id: string): Promise<void> {
  if (!UUID.test(id)) return
  // Content first: while the record remains, the upload is still (partly) there.
  await storage.delete(uploadKey(id))
  await storage.delete(infoKey(id))
}

/** An upload's record and its content, for its owner (a 'service' caller may open any). */
export async function openUpload(
  storage: Storage,
  id: string,
  owner: string,
): Promise<{ info: UploadInfo; stream(): Promise<Readable> }> {
  if (!UUID.test(id)) throw new UploadNotFoundError(id)
  let info: UploadInfo
  try {
    const chunks: Buffer[] = []
    for await (const chunk of await storage.get(infoKey(id))) chunks.push(Buffer.from(chunk))
    info = JSON.parse(Buffer.concat(chunks).toString('utf8')) as UploadInfo
  } catch (error) {
    if (error instanceof StorageNotFoundError) throw new UploadNotFoundError(id)
    throw error
  }
  if (owner.toLowerCase() !== SERVICE_OWNER && info.owner !== owner.toLowerCase())
    throw new UploadNotFoundError(id)
  return {
    info,
    stream: async () => {
      try {
        return await storage.get(uploadKey(id))
      } catch (error) {
        if (error instanceof StorageNotFoundError) throw new UploadNotFoundError(id)
        throw error
      }
    },
  }
}

/** The owner an authenticated caller's uploads are recorded under; null for an anonymous one. */
export function uploadOwner(caller: {
  kind: string
  userId: string | null
  apiKeyId: string | null
}): string | null {
  if (caller.kind === 'service') return SERVICE_OWNER
  if (caller.kind === 'partner' && caller.apiKeyId) return `apikey:${caller.apiKeyId}`
  if (caller.kind === 'user' && caller.userId) return `user:${caller.userId}`
  return null
}
