import { badUserInput, checkEnum, checkInt, checkString } from '@pm/service-kit'

/** Input checks of the media mutations: run before SQL, each error names its GraphQL field. */

export const STORAGE_TYPES = ['minio', 's3', 'local'] as const
export const PROCESSING_STATUSES = ['pending', 'processing', 'completed', 'failed'] as const

const SHA256_HEX = /^[0-9a-f]{64}$/
const MAX_PIXELS = 100_000
// S3 and MinIO object keys are limited to 1024 bytes; URLs beyond 2048 characters break browsers and CDNs.
const MAX_OBJECT_KEY = 1024
const MAX_URL = 2048
const MAX_ALT_TEXT = 1000
const NAME_TOKEN = /^[a-z0-9_-]+$/

export function checkFileHash(field: string, value: string): string {
  // Stored as lowercase hex, what sha256sum and hexdigest() print.
  const hash = value.trim().toLowerCase()
  if (!SHA256_HEX.test(hash)) {
    throw badUserInput(`${field} must be a SHA-256 digest: 64 hexadecimal characters`, { field })
  }
  return hash
}

/** An http(s) URL or an absolute path (local storage). */
export function checkStorageUrl(field: string, value: string): string
export function checkStorageUrl(field: string, value: string | null | undefined): string | null
export function checkStorageUrl(field: string, value: string | null | undefined): string | null {
  const url = checkString(field, value, { max: MAX_URL })
  if (url === null) return null
  if (url.startsWith('/') && !url.startsWith('//')) return url
  let parsed: URL | undefined
  try {
    parsed = new URL(url)
  } catch {
    parsed = undefined
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw badUserInput(`${field} must be an http(s) URL or an absolute path`, { field })
  }
  return url
}

function checkToken(field: string, value: string | null | undefined, max: number): string | null {
  return checkString(field, value?.toLowerCase(), {
    max,
    pattern: NAME_TOKEN,
    patternHint: 'may contain only lower-case letters, digits, _ and -',
  })
}

function checkPixels(field: string, value: number): number {
  return checkInt(field, value, { min: 1, max: MAX_PIXELS })!
}

export interface RegisterMediaFileInput {
  productId?: string | null
  fileName: string
  fileHash: string
  mimeType: string
  fileSizeBytes: number
  storageType: string
  bucketName: string
  objectKey: string
  storageUrl: string
  width: number
  height: number
  format: string
  imageType: string
  displayOrder?: number | null
  isPrimary?: boolean | null
  altText?: string | null
}

/** The media_files values of a registration (display order and primary flag are settled in the transaction). */
export function checkRegisterMediaFile(input: RegisterMediaFileInput) {
  if (input.isPrimary === true && input.productId == null) {
    throw badUserInput(
      'input.isPrimary: only a file of a product can be its primary image; give input.productId',
      {
        field: 'input.isPrimary',
      },
    )
  }
  return {
    product_id: input.productId?.toLowerCase() ?? null,
    file_name: checkString('input.fileName', input.fileName, { max: 500 }),
    file_hash: checkFileHash('input.fileHash', input.fileHash),
    mime_type: checkString('input.mimeType', input.mimeType.toLowerCase(), {
      max: 100,
      pattern: /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/,
      patternHint: 'must be a media type such as image/jpeg',
    }),
    file_size_bytes: checkInt('input.fileSizeBytes', input.fileSizeBytes, {
      min: 1,
      max: Number.MAX_SAFE_INTEGER,
    })!,
    storage_type: checkEnum('input.storageType', input.storageType, STORAGE_TYPES),
    bucket_name: checkString('input.bucketName', input.bucketName, { max: 100 }),
    object_key: checkString('input.objectKey', input.objectKey, { max: MAX_OBJECT_KEY }),
    storage_url: checkStorageUrl('input.storageUrl', input.storageUrl),
    width: checkPixels('input.width', input.width),
    height: checkPixels('input.height', input.height),
    format: checkString('input.format', input.format.toLowerCase(), {
      max: 20,
      pattern: /^[a-z0-9]+$/,
      patternHint: 'may contain only lower-case letters and digits (jpeg, png, webp, …)',
    }),
    image_type: checkToken('input.imageType', input.imageType, 50)!,
    display_order: checkInt('input.displayOrder', input.displayOrder, { min: 0 }),
    is_primary: input.isPrimary ?? null,
    alt_text: checkString('input.altText', input.altText, { max: MAX_ALT_TEXT }),
  }
}

export interface UpdateMediaFileInput {
  altText?: string | null
  imageType?: string | null
  processingStatus?: string | null
  isValid?: boolean | null
}

/** Only the fields present in the input; null clears the nullable ones. */
export function checkUpdateMediaFile(input: UpdateMediaFileInput) {
  const set: {
    alt_text?: string | null
    image_type?: string | null
    processing_status?: string
    is_valid?: boolean
  } = {}
  if (input.altText !== undefined) set.alt_text = checkString('input.altText', input.altText, { max: 1000 })
  if (input.imageType !== undefined) set.image_type = checkToken('input.imageType', input.imageType, 50)
  if (input.processingStatus !== undefined) {
    if (input.processingStatus === null) {
      throw badUserInput('input.processingStatus cannot be cleared; give one of its values', {
        field: 'input.processingStatus',
      })
    }
    set.processing_status = checkEnum('input.processingStatus', input.processingStatus, PROCESSING_STATUSES)
  }
  if (input.isValid !== undefined) {
    if (input.isValid === null) {
      throw badUserInput('input.isValid cannot be cleared; give true or false', { field: 'input.isValid' })
    }
    set.is_valid = input.isValid
  }
  return set
}

export interface MediaThumbnailInput {
  sizeName: string
  width: number
  height: number
  objectKey: string
  storageUrl?: string | null
}

export function checkThumbnail(field: string, input: MediaThumbnailInput) {
  return {
    size_name: checkToken(`${field}.sizeName`, input.sizeName, 20)!,
    width: checkPixels(`${field}.width`, input.width),
    height: checkPixels(`${field}.height`, input.height),
    object_key: checkString(`${field}.objectKey`, input.objectKey, { max: MAX_OBJECT_KEY }),
    storage_url: checkStorageUrl(`${field}.storageUrl`, input.storageUrl),
  }
}

export type ThumbnailValues = ReturnType<typeof checkThumbnail>

/** A set of thumbnails: one per size name. */
export function checkThumbnailSet(field: string, sizes: readonly MediaThumbnailInput[]): ThumbnailValues[] {
  if (sizes.length > 50) throw badUserInput(`${field} may hold at most 50 sizes`, { field })
  const seen = new Set<string>()
  return sizes.map((size, i) => {
    const values = checkThumbnail(`${field}[${i}]`, size)
    if (seen.has(values.size_name)) {
      throw badUserInput(
        `${field}[${i}].sizeName "${values.size_name}" is given twice; one thumbnail per size`,
        {
          field: `${field}[${i}].sizeName`,
        },
      )
    }
    seen.add(values.size_name)
    return values
  })
}

/** The ids of a reorder: each once. */
export function checkMediaFileIdList(field: string, ids: readonly string[]): string[] {
  if (ids.length > 1000) throw badUserInput(`${field} may hold at most 1000 ids`, { field })
  const seen = new Set<string>()
  return ids.map((raw, i) => {
    const id = raw.toLowerCase()
    if (seen.has(id)) {
      throw badUserInput(`${field}[${i}] repeats ${id}; list each file once`, { field: `${field}[${i}]` })
    }
    seen.add(id)
    return id
  })
}
