import { describe, expect, it } from 'vitest'
import {
  checkFileHash,
  checkMediaFileIdList,
  checkStorageUrl,
  checkThumbnailSet,
  checkUpdateMediaFile,
} from '../src/validation'

const fieldOf = (fn: () => unknown) => {
  try {
    fn()
  } catch (error) {
    return (error as { extensions: { code: string; field: string } }).extensions
  }
  throw new Error('expected an error')
}

describe('media input checks', () => {
  it('lower-cases a SHA-256 and refuses anything else', () => {
    expect(checkFileHash('h', ` ${'AB'.repeat(32)} `)).toBe('ab'.repeat(32))
    for (const bad of ['ab'.repeat(31), 'g'.repeat(64), 'ab'.repeat(33)]) {
      expect(fieldOf(() => checkFileHash('input.fileHash', bad))).toEqual({
        code: 'BAD_USER_INPUT',
        field: 'input.fileHash',
      })
    }
  })

  it('takes http(s) URLs and absolute paths as storage URLs', () => {
    expect(checkStorageUrl('u', 'https://cdn.example.com/a.jpg')).toBe('https://cdn.example.com/a.jpg')
    expect(checkStorageUrl('u', '/var/media/a.jpg')).toBe('/var/media/a.jpg')
    expect(checkStorageUrl('u', null)).toBeNull()
    for (const bad of ['ftp://x/a.jpg', 'a.jpg', '//host/a.jpg', `https://x/${'a'.repeat(2048)}`]) {
      expect(fieldOf(() => checkStorageUrl('u', bad)).field).toBe('u')
    }
  })

  it('keeps one thumbnail per size name', () => {
    const t = (sizeName: string) => ({ sizeName, width: 10, height: 10, objectKey: 'k' })
    expect(checkThumbnailSet('sizes', [t('Small'), t('large')]).map((v) => v.size_name)).toEqual([
      'small',
      'large',
    ])
    expect(fieldOf(() => checkThumbnailSet('sizes', [t('small'), t('SMALL')])).field).toBe(
      'sizes[1].sizeName',
    )
  })

  it('refuses repeated ids in a reorder and clearing non-nullable fields', () => {
    expect(fieldOf(() => checkMediaFileIdList('ids', ['A', 'b', 'a'])).field).toBe('ids[2]')
    expect(checkUpdateMediaFile({ altText: null, processingStatus: 'Failed' })).toEqual({
      alt_text: null,
      processing_status: 'failed',
    })
    expect(fieldOf(() => checkUpdateMediaFile({ processingStatus: null })).field).toBe(
      'input.processingStatus',
    )
  })
})
