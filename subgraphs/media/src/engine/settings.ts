/** The thumbnail sizes every processed image gets, by name. */
export const SIZE_NAMES = ['small', 'medium', 'large'] as const
export type SizeName = (typeof SIZE_NAMES)[number]

/** How media is checked, processed and served (from the environment). */
export interface MediaSettings {
  /** MEDIA_MAX_BYTES: the largest image accepted (upload or URL). */
  maxBytes: number
  /** MEDIA_MAX_PIXELS: the largest width × height accepted (decompression bombs are refused before decoding). */
  maxPixels: number
  /** MEDIA_THUMBNAIL_SIZES: longest side in pixels of each thumbnail size. */
  sizes: Record<SizeName, number>
  /** MEDIA_FETCH_TIMEOUT_MS: the longest an image URL download may take. */
  fetchTimeoutMs: number
  /** MEDIA_URL_TTL_SECONDS: how long the download URLs minted by MediaFile.url and thumbnails stay valid. */
  urlTtlSeconds: number
}

/**
 * Large is 1000 pixels: what Amazon asks of a product image for its zoom (at least 1000 on the longest side),
 * and about a fifth less CPU in the image step than 1200 (fewer pixels to resize to and to encode twice; the
 * 2000-pixel decode stays the same). A shop wanting more sets MEDIA_THUMBNAIL_SIZES.
 */
export const DEFAULT_SIZES: Record<SizeName, number> = { small: 150, medium: 400, large: 1000 }

function positiveInteger(env: NodeJS.ProcessEnv, name: string, fallback: number, max?: number): number {
  const raw = env[name]?.trim()
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isSafeInteger(value) || value <= 0 || (max !== undefined && value > max)) {
    throw new Error(`${name} must be a positive integer${max === undefined ? '' : ` of at most ${max}`}`)
  }
  return value
}

/** "small:150,medium:400,large:1000" (any of the three, the others keep their defaults). */
export function parseSizes(raw: string | undefined): Record<SizeName, number> {
  const sizes = { ...DEFAULT_SIZES }
  const value = raw?.trim()
  if (!value) return sizes
  for (const part of value.split(',')) {
    const match = /^\s*(small|medium|large)\s*[:=]\s*(\d{1,5})\s*$/.exec(part)
    const pixels = match ? Number(match[2]) : 0
    if (!match || pixels < 16 || pixels > 4096) {
      throw new Error(
        `MEDIA_THUMBNAIL_SIZES must read like "small:150,medium:400,large:1000" (16 to 4096 pixels each), not "${value}"`,
      )
    }
    sizes[match[1] as SizeName] = pixels
  }
  return sizes
}

export function loadMediaSettings(env: NodeJS.ProcessEnv = process.env): MediaSettings {
  return {
    maxBytes: positiveInteger(env, 'MEDIA_MAX_BYTES', 25 * 1024 * 1024),
    maxPixels: positiveInteger(env, 'MEDIA_MAX_PIXELS', 50_000_000),
    sizes: parseSizes(env.MEDIA_THUMBNAIL_SIZES),
    fetchTimeoutMs: positiveInteger(env, 'MEDIA_FETCH_TIMEOUT_MS', 30_000),
    urlTtlSeconds: positiveInteger(env, 'MEDIA_URL_TTL_SECONDS', 3600, 7 * 24 * 3600),
  }
}

const perEnv = new WeakMap<object, MediaSettings>()
/** The settings of an environment, read once (the process's, or a test stack's). */
export function mediaSettings(env: NodeJS.ProcessEnv): MediaSettings {
  let found = perEnv.get(env)
  if (!found) {
    found = loadMediaSettings(env)
    perEnv.set(env, found)
  }
  return found
}
