/**
 * `node --import tsx bench/media-render.ts [images]`: the media worker's image step alone (inspectImage and
 * renderImage, as engine/process.ts calls them) on the media benchmark's 2000×2000 JPEGs, two images at a time
 * with one libvips thread per operation, as the worker runs by default. Prints the CPU milliseconds each image
 * cost this process (every thread), median of 3 rounds, and the load average (the machine may be shared:
 * CPU time moves less with load than wall time). MEDIA_THUMBNAIL_SIZES, MEDIA_SHARP_CONCURRENCY and
 * WORKER_CONCURRENCY apply as in the worker.
 */
import { loadavg } from 'node:os'
import sharp from 'sharp'
import { inspectImage, renderImage } from '../subgraphs/media/src/engine/image'
import { loadMediaSettings } from '../subgraphs/media/src/engine/settings'
import { sharpConcurrency } from '../subgraphs/media/src/jobs'
import { baseJpeg, variant } from './media'

const images = Number(process.argv[2] ?? 50)
const parallel = Number(process.env.WORKER_CONCURRENCY?.trim() || 2)
const settings = loadMediaSettings(process.env)
sharp.concurrency(sharpConcurrency(process.env))

const renderOne = async (bytes: Buffer) => renderImage(bytes, await inspectImage(bytes, settings), settings)

async function round(inputs: Buffer[]): Promise<{ cpuMs: number; wallMs: number }> {
  const cpu = process.cpuUsage()
  const start = performance.now()
  let next = 0
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < inputs.length) await renderOne(inputs[next++]!)
    }),
  )
  const used = process.cpuUsage(cpu)
  return {
    cpuMs: (used.user + used.system) / 1000 / inputs.length,
    wallMs: (performance.now() - start) / inputs.length,
  }
}

const bases = await Promise.all([0, 1, 2, 3].map(baseJpeg))
const inputs = Array.from({ length: images }, (_, i) => variant(bases[i % bases.length]!, i))
for (const bytes of inputs.slice(0, 4)) await renderOne(bytes)
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')
const before = load()
const rounds = [await round(inputs), await round(inputs), await round(inputs)]
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
console.log(
  `sizes ${JSON.stringify(settings.sizes)}, ${images} images × 3 rounds, ${parallel} at a time, ${sharp.concurrency()} libvips thread(s): ` +
    `CPU ${median(rounds.map((r) => r.cpuMs)).toFixed(1)} ms per image (rounds ${rounds.map((r) => r.cpuMs.toFixed(1)).join(', ')}), ` +
    `wall ${median(rounds.map((r) => r.wallMs)).toFixed(1)} ms; load average before ${before}, after ${load()}`,
)
