import { describe, expect, it } from 'vitest'
import { checkAttachProductImage, checkMediaFileIdList, checkUpdateMediaFile } from '../src/validation'

const fieldOf = (fn: () => unknown) => {
  try {
    fn()
  } catch (error) {
    return (error as { extensions: { code: string; field: string } }).extensions
  }
  throw new Error('expected an error')
}

const PRODUCT = 'AAAAAAAA-0000-4000-8000-000000000001'

describe('media input checks', () => {
  it('takes exactly one source for an attachment, an http(s) URL or an upload', () => {
    const fromUpload = checkAttachProductImage({ productId: PRODUCT, uploadId: 'ABC', imageType: 'gallery' })
    expect(fromUpload).toMatchObject({
      productId: PRODUCT.toLowerCase(),
      source: { kind: 'upload', uploadId: 'abc' },
      sourceField: 'input.uploadId',
      imageType: 'gallery',
    })
    expect(
      checkAttachProductImage({ productId: PRODUCT, url: 'https://cdn.example.com/a.jpg' }).source,
    ).toEqual({
      kind: 'url',
      url: 'https://cdn.example.com/a.jpg',
    })
    expect(fieldOf(() => checkAttachProductImage({ productId: PRODUCT })).field).toBe('input')
    expect(
      fieldOf(() => checkAttachProductImage({ productId: PRODUCT, uploadId: 'a', url: 'https://x/a' })).field,
    ).toBe('input')
    expect(fieldOf(() => checkAttachProductImage({ productId: PRODUCT, url: 'ftp://x/a.jpg' })).field).toBe(
      'input.url',
    )
    expect(
      fieldOf(() => checkAttachProductImage({ productId: PRODUCT, url: 'https://x/a', displayOrder: -1 }))
        .field,
    ).toBe('input.displayOrder')
  })

  it('refuses repeated ids in a reorder and clearing non-nullable fields', () => {
    expect(fieldOf(() => checkMediaFileIdList('ids', ['A', 'b', 'a'])).field).toBe('ids[2]')
    expect(checkUpdateMediaFile({ altText: null, isValid: false })).toEqual({
      alt_text: null,
      is_valid: false,
    })
    expect(fieldOf(() => checkUpdateMediaFile({ isValid: null })).field).toBe('input.isValid')
  })
})
