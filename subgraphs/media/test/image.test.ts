import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { inspectImage, MediaInputError, renderImage } from '../src/engine/image'
import { DEFAULT_SIZES, parseSizes } from '../src/engine/settings'
import { jpegWithOrientationAndGps, pngClaiming, SVG_WITH_SCRIPT, testImage } from './images'

const limits = { maxPixels: 50_000_000 }

async function refusal(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(MediaInputError)
  return error as MediaInputError
}

describe('inspectImage', () => {
  it('reads format and dimensions from the bytes', async () => {
    expect(await inspectImage(await testImage(64, 32, 'png'), limits)).toMatchObject({
      format: 'png',
      mime: 'image/png',
      width: 64,
      height: 32,
      needsCleaning: false,
    })
    expect(await inspectImage(await testImage(64, 32, 'webp'), limits)).toMatchObject({ format: 'webp' })
  })

  it('reports displayed dimensions for an EXIF-rotated JPEG and asks for a clean copy', async () => {
    const info = await inspectImage(await jpegWithOrientationAndGps(300, 200), limits)
    expect(info).toMatchObject({ format: 'jpeg', width: 200, height: 300, needsCleaning: true })
  })

  it('refuses text, SVG, a header claiming too many pixels and empty files, with stable reasons', async () => {
    expect((await refusal(inspectImage(Buffer.from('just some text\n'), limits))).reason).toBe('NOT_AN_IMAGE')
    expect((await refusal(inspectImage(SVG_WITH_SCRIPT, limits))).reason).toBe('SVG_REFUSED')
    expect((await refusal(inspectImage(pngClaiming(100_000, 100_000), limits))).reason).toBe(
      'TOO_MANY_PIXELS',
    )
    expect((await refusal(inspectImage(Buffer.alloc(0), limits))).reason).toBe('NOT_AN_IMAGE')
    const tiff = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#000' } })
      .tiff()
      .toBuffer()
    expect((await refusal(inspectImage(tiff, limits))).reason).toBe('UNSUPPORTED_FORMAT')
  })
})

describe('renderImage', () => {
  it('makes every size in the original format and WebP, never enlarging, without metadata', async () => {
    const bytes = await jpegWithOrientationAndGps(1000, 500)
    const info = await inspectImage(bytes, limits)
    const out = await renderImage(bytes, info, { sizes: DEFAULT_SIZES, ...limits })
    const summary = out.thumbnails.map((t) => `${t.size}/${t.format}/${t.width}x${t.height}`).sort()
    expect(summary).toEqual([
      'large/jpeg/500x1000',
      'large/webp/500x1000',
      'medium/jpeg/200x400',
      'medium/webp/200x400',
      'small/jpeg/75x150',
      'small/webp/75x150',
    ])
    expect(out.served).toMatchObject({ width: 500, height: 1000, format: 'jpeg' })
    for (const r of [out.served!, ...out.thumbnails]) {
      const meta = await sharp(r.data).metadata()
      expect(meta.exif).toBeUndefined()
      expect(meta.format).toBe(r.format)
    }
  })

  it('refuses a truncated JPEG as damaged', async () => {
    const whole = await testImage(800, 600, 'jpeg')
    const truncated = whole.subarray(0, Math.floor(whole.length / 2))
    const info = await inspectImage(truncated, limits)
    const error = await refusal(renderImage(truncated, info, { sizes: DEFAULT_SIZES, ...limits }))
    expect(error.reason).toBe('DAMAGED_IMAGE')
  })
})

describe('MEDIA_THUMBNAIL_SIZES', () => {
  it('overrides the named sizes and refuses nonsense', () => {
    expect(parseSizes(undefined)).toEqual({ small: 150, medium: 400, large: 1000 })
    expect(parseSizes('large:1600, small=100')).toEqual({ small: 100, medium: 400, large: 1600 })
    expect(() => parseSizes('huge:10')).toThrow(/MEDIA_THUMBNAIL_SIZES/)
    expect(() => parseSizes('small:5')).toThrow(/MEDIA_THUMBNAIL_SIZES/)
  })
})
