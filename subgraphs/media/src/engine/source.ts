import { createHash } from 'node:crypto'
import type { Readable } from 'node:stream'
import { ConnectorError, safeFetch } from '@pm/connectors'
import { badUserInput, type Caller, ErrorCode, userError } from '@pm/service-kit'
import { cleanFilename, openUpload, UploadNotFoundError, uploadOwner } from '@pm/storage'
import type { GraphQLError } from 'graphql'
import { type ImageInfo, inspectImage, MediaInputError } from './image'
import type { MediaEnv } from './store'

export type ImageSource = { kind: 'upload'; uploadId: string } | { kind: 'url'; url: string }

export interface ReceivedImage {
  bytes: Buffer
  sha256: string
  fileName: string
  info: ImageInfo
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
      chunks.push(Buffer.from(chunk as Buffer))
    }
  } finally {
    stream.destroy()
  }
  return Buffer.concat(chunks)
}

function lastSegment(url: string): string {
  try {
    return decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '')
  } catch {
    return ''
  }
}

/**
 * The image's bytes from an upload (its owner's only) or a URL (through safeFetch: time, size and address
 * limits, redirects re-checked), measured from the bytes themselves: SHA-256, format, dimensions.
 */
export async function receiveImage(
  env: MediaEnv,
  source: ImageSource,
  caller: Caller,
): Promise<ReceivedImage> {
  const { maxBytes } = env.settings
  let bytes: Buffer
  let fileName: string
  if (source.kind === 'upload') {
    const owner = uploadOwner(caller)
    if (!owner) throw new UploadNotFoundError(source.uploadId)
    const upload = await openUpload(env.storage, source.uploadId, owner)
    if (upload.info.size > maxBytes) {
      throw new MediaInputError('TOO_LARGE', `the image is larger than the ${maxBytes} bytes accepted`)
    }
    bytes = await readLimited(await upload.stream(), maxBytes)
    fileName = upload.info.filename
  } else {
    const response = await safeFetch(source.url, {
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
      bytes = await readLimited(response.body, maxBytes)
    } catch (error) {
      if (error instanceof ConnectorError && error.code === 'TOO_LARGE') {
        throw new MediaInputError('TOO_LARGE', `the image is larger than the ${maxBytes} bytes accepted`)
      }
      throw error
    }
    fileName = lastSegment(response.url) || lastSegment(source.url)
  }
  const info = await inspectImage(bytes, env.settings)
  return {
    bytes,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    fileName: cleanFilename(fileName || `image.${info.format}`),
    info,
  }
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
