import sharp, { type Metadata, type Sharp } from 'sharp'
import type { SizeName } from './settings'

/** Image formats accepted, with their MIME type and file extension. */
export const FORMATS = {
  jpeg: { mime: 'image/jpeg', ext: 'jpg' },
  png: { mime: 'image/png', ext: 'png' },
  webp: { mime: 'image/webp', ext: 'webp' },
  gif: { mime: 'image/gif', ext: 'gif' },
} as const
export type ImageFormat = keyof typeof FORMATS

export type MediaInputReason =
  | 'NOT_AN_IMAGE'
  | 'UNSUPPORTED_FORMAT'
  | 'SVG_REFUSED'
  | 'TOO_MANY_PIXELS'
  | 'TOO_LARGE'
  | 'DAMAGED_IMAGE'

/** Bytes that are not an image this service accepts; the message says why, `reason` is stable. */
export class MediaInputError extends Error {
  override name = 'MediaInputError'
  constructor(
    readonly reason: MediaInputReason,
    message: string,
  ) {
    super(message)
  }
}

export interface ImageInfo {
  format: ImageFormat
  mime: string
  /** As displayed: EXIF orientation applied. */
  width: number
  height: number
  /** EXIF, XMP or IPTC present, or an orientation to apply: the served copy must be re-encoded. */
  needsCleaning: boolean
}

const ACCEPTED = Object.keys(FORMATS).join(', ')

/** SVG (or any XML) is refused: it can carry script, and is not a raster image to measure. */
function looksLikeSvg(bytes: Buffer): boolean {
  const head = bytes
    .subarray(0, 1024)
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trimStart()
    .toLowerCase()
  return (
    head.startsWith('<?xml') ||
    head.startsWith('<svg') ||
    head.startsWith('<!doctype svg') ||
    /<svg[\s>]/.test(head)
  )
}

/**
 * Reads format and dimensions from the bytes' header (not from a name or a declared type), refusing what is
 * not a JPEG, PNG, WebP or GIF and images larger than `maxPixels` before anything is decoded.
 */
export async function inspectImage(bytes: Buffer, o: { maxPixels: number }): Promise<ImageInfo> {
  if (bytes.length === 0) throw new MediaInputError('NOT_AN_IMAGE', 'the file is empty')
  if (looksLikeSvg(bytes)) {
    throw new MediaInputError(
      'SVG_REFUSED',
      `SVG images are refused (they may carry script); send a raster image: ${ACCEPTED}`,
    )
  }
  let meta: Metadata
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata()
  } catch {
    throw new MediaInputError('NOT_AN_IMAGE', `the file is not an image (accepted: ${ACCEPTED})`)
  }
  const format = meta.format as string | undefined
  if (!format || !(format in FORMATS)) {
    throw new MediaInputError(
      format === 'svg' ? 'SVG_REFUSED' : 'UNSUPPORTED_FORMAT',
      `${format ?? 'this'} images are not accepted (accepted: ${ACCEPTED})`,
    )
  }
  const width = meta.width ?? 0
  const height = meta.pageHeight ?? meta.height ?? 0
  if (width <= 0 || height <= 0) throw new MediaInputError('DAMAGED_IMAGE', 'the image has no dimensions')
  if (width * height > o.maxPixels) {
    throw new MediaInputError(
      'TOO_MANY_PIXELS',
      `the image claims ${width}×${height} pixels, more than the ${o.maxPixels.toLocaleString('en')} accepted`,
    )
  }
  const orientation = meta.orientation ?? 1
  const swapped = orientation >= 5 && orientation <= 8
  return {
    format: format as ImageFormat,
    mime: FORMATS[format as ImageFormat].mime,
    width: swapped ? height : width,
    height: swapped ? width : height,
    needsCleaning: orientation !== 1 || !!meta.exif || !!meta.xmp || !!meta.iptc,
  }
}

export interface Rendition {
  data: Buffer
  width: number
  height: number
  format: ImageFormat
}

export interface RenderedImage {
  /** The full-size copy to serve (oriented, metadata stripped); absent when the original is already that. */
  served?: Rendition
  thumbnails: (Rendition & { size: SizeName })[]
}

function encode(image: Sharp, format: ImageFormat): Sharp {
  switch (format) {
    case 'jpeg':
      return image.jpeg({ quality: 82 })
    case 'png':
      return image.png({ compressionLevel: 6 })
    case 'webp':
      // Effort 0: the fastest encoder; thumbnails are small and made again on every reprocess.
      return image.webp({ quality: 80, effort: 0 })
    case 'gif':
      return image.gif()
  }
}

interface RawImage {
  data: Buffer
  raw: { width: number; height: number; channels: 1 | 2 | 3 | 4 }
}

async function toRaw(image: Sharp): Promise<RawImage> {
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true })
  return { data, raw: { width: info.width, height: info.height, channels: info.channels } }
}

/** The image at most `edge` pixels on its longest side (never enlarged), still decoded. */
async function shrink(from: RawImage, edge: number): Promise<RawImage> {
  if (Math.max(from.raw.width, from.raw.height) <= edge) return from
  return toRaw(sharp(from.data, { raw: from.raw }).resize(edge, edge, { fit: 'inside' }))
}

/**
 * Decodes the image once (EXIF orientation applied, first frame only, refusing damaged or truncated data and
 * more than `maxPixels`), then makes each thumbnail (longest side at most its size, never enlarged) in the
 * original format and in WebP. Output carries no metadata (EXIF, GPS, XMP are dropped).
 *
 * Each size is resized once, from the next larger one (large from the decoded image, medium from large, small
 * from medium: the same Lanczos-3 kernel on fewer pixels), and both formats are encoded from that copy.
 */
export async function renderImage(
  bytes: Buffer,
  info: ImageInfo,
  o: { sizes: Record<SizeName, number>; maxPixels: number },
): Promise<RenderedImage> {
  const largest = Math.max(...Object.values(o.sizes))
  const keepFull = info.needsCleaning
  let decoded: RawImage
  try {
    let pipeline = sharp(bytes, { limitInputPixels: o.maxPixels, failOn: 'error', pages: 1 }).rotate()
    if (!keepFull) pipeline = pipeline.resize(largest, largest, { fit: 'inside', withoutEnlargement: true })
    decoded = await toRaw(pipeline)
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    if (/pixel limit/i.test(message)) {
      throw new MediaInputError('TOO_MANY_PIXELS', `the image has more than ${o.maxPixels} pixels`)
    }
    throw new MediaInputError(
      'DAMAGED_IMAGE',
      `the image data is damaged or truncated (${message.replace(/\s+/g, ' ').slice(0, 200)})`,
    )
  }
  const rendition = async (from: RawImage, format: ImageFormat): Promise<Rendition> => {
    const out = await encode(sharp(from.data, { raw: from.raw }), format).toBuffer({
      resolveWithObject: true,
    })
    return { data: out.data, width: out.info.width, height: out.info.height, format }
  }
  const formats: ImageFormat[] = info.format === 'webp' ? ['webp'] : [info.format, 'webp']
  const served = keepFull ? rendition(decoded, info.format) : Promise.resolve(undefined)
  // Largest first: each size starts from the one before it.
  const sizes = (Object.entries(o.sizes) as [SizeName, number][]).sort((a, b) => b[1] - a[1])
  const jobs: Promise<Rendition & { size: SizeName }>[] = []
  let previous: Promise<RawImage> = Promise.resolve(decoded)
  for (const [size, edge] of sizes) {
    const resized = previous.then((from) => shrink(from, edge))
    for (const format of formats) {
      jobs.push(resized.then((from) => rendition(from, format)).then((r) => ({ ...r, size })))
    }
    previous = resized
  }
  // Every encode settled before returning (none left running on a failure of another).
  const results = await Promise.allSettled([served, ...jobs])
  const failed = results.find((r) => r.status === 'rejected')
  if (failed) throw (failed as PromiseRejectedResult).reason
  const [full, ...thumbnails] = results.map((r) => (r as PromiseFulfilledResult<Rendition | undefined>).value)
  return { ...(full ? { served: full } : {}), thumbnails: thumbnails as (Rendition & { size: SizeName })[] }
}
