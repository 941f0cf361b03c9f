import { badUserInput, checkInt, checkString, MAX_URL_LENGTH } from '@pm/service-kit'
import type { ImageSource } from './engine/source'
import type { AttachProductImageInput, UpdateMediaFileInput } from './generated/graphql'

/** Input checks of the media mutations: run before SQL, each error names its GraphQL field. */

const MAX_ALT_TEXT = 1000

/** Only the fields present in the input; null clears the nullable ones. */
export function checkUpdateMediaFile(input: UpdateMediaFileInput) {
  const set: {
    alt_text?: string | null
    image_type?: string | null
    is_valid?: boolean
  } = {}
  if (input.altText !== undefined) set.alt_text = checkString('input.altText', input.altText, { max: 1000 })
  if (input.imageType !== undefined) set.image_type = input.imageType
  if (input.isValid !== undefined) {
    if (input.isValid === null) {
      throw badUserInput('input.isValid cannot be cleared; give true or false', { field: 'input.isValid' })
    }
    set.is_valid = input.isValid
  }
  return set
}

/** The ids of a reorder: each once. */
export function checkMediaFileIdList(field: string, ids: readonly string[]): string[] {
  if (ids.length > 1000) throw badUserInput(`${field} may hold at most 1000 ids`, { field })
  const seen = new Set<string>()
  return ids.map((id, i) => {
    if (seen.has(id)) {
      throw badUserInput(`${field}[${i}] repeats ${id}; list each file once`, { field: `${field}[${i}]` })
    }
    seen.add(id)
    return id
  })
}

/** The source (exactly one of uploadId and url) and the descriptive values of an attachment. */
export function checkAttachProductImage(input: AttachProductImageInput) {
  const hasUpload = input.uploadId != null
  const hasUrl = input.url != null
  if (hasUpload === hasUrl) {
    throw badUserInput('input: give exactly one of uploadId and url', { field: 'input' })
  }
  let source: ImageSource
  if (hasUpload) source = { kind: 'upload', uploadId: input.uploadId! }
  else {
    const url = checkString('input.url', input.url, { max: MAX_URL_LENGTH })!
    if (!/^https?:\/\//i.test(url)) {
      throw badUserInput('input.url must be an http(s) URL', { field: 'input.url' })
    }
    source = { kind: 'url', url }
  }
  return {
    source,
    sourceField: hasUpload ? 'input.uploadId' : 'input.url',
    productId: input.productId,
    fileName: checkString('input.fileName', input.fileName, { max: 500 }),
    imageType: input.imageType ?? null,
    displayOrder: checkInt('input.displayOrder', input.displayOrder, { min: 0 }),
    isPrimary: input.isPrimary ?? null,
    altText: checkString('input.altText', input.altText, { max: MAX_ALT_TEXT }),
  }
}
