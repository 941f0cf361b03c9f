import sharp from 'sharp'

export interface DemoImage {
  /** The encoded image. */
  bytes: Buffer
  format: 'jpeg' | 'png' | 'webp'
}

/** Background and motif colours of the demo product photos. */
const PALETTE: [string, string][] = [
  ['#f4efe6', '#8c2f39'],
  ['#e8f1f2', '#1b4965'],
  ['#f6f4d2', '#588157'],
  ['#fdf0d5', '#c1121f'],
  ['#edf2f4', '#2b2d42'],
  ['#f1faee', '#e63946'],
  ['#fefae0', '#bc6c25'],
  ['#e9ecef', '#495057'],
  ['#fff1e6', '#6d597a'],
  ['#eaf4f4', '#006d77'],
  ['#f8edeb', '#9d8189'],
  ['#f0efeb', '#283618'],
]

/**
 * The demo data set's product photos: twelve small images (800×800 or 800×600; JPEG, PNG and WebP) of a
 * "product" on a plain background, the same bytes on every run (same sharp version). Demo media files
 * point at them, a product never twice at the same one.
 */
export async function demoImages(): Promise<DemoImage[]> {
  return Promise.all(
    PALETTE.map(async ([background, motif], i) => {
      const width = 800
      const height = i % 3 === 2 ? 600 : 800
      const format: DemoImage['format'] = i % 4 === 3 ? 'png' : i % 6 === 5 ? 'webp' : 'jpeg'
      const cx = width / 2
      const cy = height / 2
      const shape =
        i % 3 === 0
          ? `<rect x="${cx - 180}" y="${cy - 200}" width="360" height="400" rx="40" fill="${motif}"/>`
          : i % 3 === 1
            ? `<circle cx="${cx}" cy="${cy}" r="220" fill="${motif}"/>`
            : `<polygon points="${cx},${cy - 220} ${cx + 240},${cy + 200} ${cx - 240},${cy + 200}" fill="${motif}"/>`
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
        <rect width="100%" height="100%" fill="${background}"/>
        <ellipse cx="${cx}" cy="${height - 60}" rx="260" ry="24" fill="#000" fill-opacity="0.12"/>
        ${shape}
        <rect x="${cx - 90}" y="${cy - 20}" width="180" height="40" rx="8" fill="#fff" fill-opacity="0.85"/>
      </svg>`
      const bytes = await sharp(Buffer.from(svg)).toFormat(format, { quality: 85 }).toBuffer()
      return { bytes, format }
    }),
  )
}
