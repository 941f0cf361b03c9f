import { createHash } from 'node:crypto'
import type { Readable } from 'node:stream'
import { ConnectorError, safeFetch } from '@pm/connectors'
import { badUserInput, type Caller, ErrorCode, userError } from '@pm/service-kit'
import { cleanFilename, openUpload, UploadNotFoundError, uploadKey, uploadOwner } from '@pm/storage'
import type { GraphQLError } from 'graphql'
import { type ImageInfo, inspectImage, MediaInputError } from './image'
import type { MediaEnv } from './store'

export type ImageSource = { kind: 'upload'; uploadId: string } | { kind: 'url'; url: string }

export interface ReceivedImage {
  bytes: Buffer
  sha256: string
  fileName: string
  info: ImageInfo
  /** The storage key already holding these bytes (an upload): the original is a copy of it, not a new write. */
  storedAt?: string
}

/** The whole body, or TOO_LARGE as soon as it passes maxBytes. */
async function readLimited(stream: Readable, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of stream) {
      size += (chunk as Buffer).length
      if (size > maxBytes) {
        throw new MediaInputError('TOO_LARGE', `the image is larger than the ${maxBytes} bytes accepted`)
      }
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array))
    }
  } finally {
    stream.destroy()
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)
}

function lastSegment(url: string): string {
  try {
    return decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '')
  } catch {
    return ''
  }
}

/**
 * An image URL's body through safeFetch (time, size and address limits, redirects re-checked), and the file
 * name its last path segment gives. TOO_LARGE past maxBytes; HTTP_STATUS when the answer is not a 2xx.
 */
export async function downloadImage(
  env: MediaEnv,
  url: string,
): Promise<{ bytes: Buffer; fileName: string }> {
  const { maxBytes } = env.settings
  const response = await safeFetch(url, {
    allowPrivate: env.connectors.allowPrivate,
    timeoutMs: env.settings.fetchTimeoutMs,
    maxBytes,
    headers: { accept: 'image/*' },
  })
  if (response.status < 200 || response.status > 299) {
    response.body.destroy()
    throw new ConnectorError('HTTP_STATUS', `the URL answered HTTP ${response.status}`, {
      status: response.status,
    })
  }
  try {
    const bytes = await readLimited(response.body, maxBytes)
    return { bytes, fileName: lastSegment(response.url) || lastSegment(url) }
  } catch (error) {
    if (error instanceof ConnectorError && error.code === 'TOO_LARGE') {
      throw new MediaInputError('TOO_LARGE', `the image is larger than the ${maxBytes} bytes accepted`)
    }
    throw error
  }
}

/**
 * The bytes measured: SHA-256, format, dimensions (MediaInputError when they are not an accepted image).
 * `sha256`: the hash this server already computed from these very bytes (an upload's, recorded as it was
 * stored), else they are hashed here.
 */
export async function measureImage(
  env: MediaEnv,
  bytes: Buffer,
  fileName: string,
  sha256?: string,
): Promise<ReceivedImage> {
  const info = await inspectImage(bytes, env.settings)
  return {
    bytes,
    sha256: sha256 ?? createHash('sha256').update(bytes).digest('hex'),
    fileName: cleanFilename(fileName || `image.${info.format}`),
    info,
  }
}

/** A file name for an image URL before it is downloaded: its last path segment, else "image". */
export const urlFileName = (url: string) => cleanFilename(lastSegment(url) || 'image')

/**
 * The image's bytes from an upload (its owner's only) or a URL (downloadImage), measured from the bytes
 * themselves: SHA-256, format, dimensions.
 */
export async function receiveImage(
  env: MediaEnv,
  source: ImageSource,
  caller: Caller,
): Promise<ReceivedImage> {
  const { maxBytes } = env.settings
  if (source.kind === 'url') {
    const { bytes, fileName } = await downloadImage(env, source.url)
    return measureImage(env, bytes, fileName)
  }
  const owner = uploadOwner(caller)
  if (!owner) throw new UploadNotFoundError(source.uploadId)
  const upload = await openUpload(env.storage, source.uploadId, owner)
  if (upload.info.size > maxBytes) {
    throw new MediaInputError('TOO_LARGE', `the image is larger than the ${maxBytes} bytes accepted`)
  }
  const bytes = await readLimited(await upload.stream(), maxBytes)
  // The upload's SHA-256 was computed by the server as it stored them (never sent by the client); it is
  // used when it describes the bytes read, which are then copied in storage, not written again.
  const known = bytes.length === upload.info.size ? upload.info.sha256 : undefined
  const image = await measureImage(env, bytes, upload.info.filename, known)
  return known ? { ...image, storedAt: uploadKey(source.uploadId) } : image
}

/** A refusal of the image or its source as the API answers it, naming the input field; undefined otherwise. */
export function imageSourceError(error: unknown, field: string): GraphQLError | undefined {
  if (error instanceof UploadNotFoundError) {
    return userError(ErrorCode.NOT_FOUND, `${field}: ${error.message}`, { field })
  }
  if (error instanceof MediaInputError) {
    return badUserInput(`${field}: ${error.message}`, { field, reason: error.reason })
  }
  if (error instanceof ConnectorError) {
    return badUserInput(`${field}: ${error.message}`, { field, reason: error.code })
  }
  return undefined
}
