/**
 * `pnpm bench --media`: N generated 2000×2000 JPEGs uploaded through the gateway (POST /uploads, then
 * attachProductImage) and processed by the media worker into every thumbnail (small, medium, large; JPEG and
 * WebP), while a client reads a product page through the gateway: images per second, upload of the first to
 * the last one processed, and the page's p95 idle and meanwhile. The media worker runs as deployed: `pm worker
 * --domain media` in a process of its own (its default nice value and concurrency, or WORKER_NICE,
 * WORKER_CONCURRENCY and MEDIA_SHARP_CONCURRENCY from the environment); the gateway in a process of its own
 * too (as docker-compose and bench Q1 run it), the subgraphs in this process, on fresh databases. CPU seconds
 * of the worker and of the API (gateway and subgraphs) are reported per image.
 */
import { randomUUID } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import { startTestStack } from '@pm/testing/stack'
import { postGraphQL } from '@pm/testing/subgraph'
import sharp from 'sharp'
import { jobs as mediaJobs, sharpConcurrency } from '../subgraphs/media/src/jobs'
import { formatResultFiles, REPO_ROOT, startBenchServer } from './src/data'
import { p95, timeDuring, timeIdle } from './src/page-probe'
import {
  describeFailure,
  exited,
  type GatewayProcess,
  machineCpuSeconds,
  niceOf,
  sampleProcess,
  startGatewayProcess,
  startWorkerProcess,
  type WorkerProcess,
} from './src/services'

/** The scenario's targets on this machine's two cores. */
export const MEDIA_TARGETS = { imagesPerSecond: 20, pageP95Ratio: 2 }

export interface MediaBenchResult {
  images: number
  averageBytes: number
  seconds: number
  imagesPerSecond: number
  completed: number
  failed: number
  thumbnails: number
  idleP95Ms: number
  /** The same page idle, its media answer not cached (a media mutation before each read, as during the batch). */
  idleUncachedP95Ms: number
  busyP95Ms: number
  busySamples: number
  /** The worker process's settings: nice value, jobs at once, libvips threads per operation. */
  worker: { nice: number; concurrency: number; sharpConcurrency: number }
  /** CPU milliseconds per image between the first upload and the last processed, by process. */
  workerCpuMsPerImage: number
  apiCpuMsPerImage: number
  /** Every process on the machine (other helpers' work included). */
  machineCpuMsPerImage: number
  workerPeakRssMb: number
  loadBefore: number[]
  loadAfter: number[]
}

const PAGE = `query($id: UUID!) { product(id: $id) { id title
  media { id processingStatus url thumbnail(size: MEDIUM) { url } } } }`
const ATTACH = `mutation($input: AttachProductImageInput!) { attachProductImage(input: $input) { mediaFile { id } } }`
const TOUCH = `mutation($id: UUID!, $alt: String) { updateMediaFile(id: $id, input: { altText: $alt }) { id } }`

/** A photo-like 2000×2000 JPEG: gradients, shapes and sensor-like noise, about what a product shot weighs. */
export async function baseJpeg(i: number): Promise<Buffer> {
  const size = 2000
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}">
    <defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">
      <stop offset="0" stop-color="hsl(${(i * 47) % 360},40%,92%)"/><stop offset="1" stop-color="hsl(${(i * 47 + 40) % 360},30%,70%)"/>
    </linearGradient></defs>
    <rect width="100%" height="100%" fill="url(#g)"/>
    <circle cx="${700 + i * 30}" cy="900" r="520" fill="hsl(${(i * 91) % 360},55%,45%)"/>
    <rect x="1000" y="1100" width="700" height="600" rx="60" fill="hsl(${(i * 23) % 360},35%,30%)"/>
  </svg>`
  const noise = await sharp({
    create: {
      width: size,
      height: size,
      channels: 3,
      background: '#808080',
      noise: { type: 'gaussian', mean: 128, sigma: 12 },
    },
  })
    .png()
    .toBuffer()
  return sharp(Buffer.from(svg))
    .composite([{ input: noise, blend: 'overlay' }])
    .jpeg({ quality: 88 })
    .toBuffer()
}

/** The same picture with a JPEG comment of its own: distinct bytes (and SHA-256), the same work to process. */
export function variant(base: Buffer, n: number): Buffer {
  const text = Buffer.from(`bench image ${n}`)
  const marker = Buffer.alloc(4)
  marker.writeUInt16BE(0xfffe, 0)
  marker.writeUInt16BE(text.length + 2, 2)
  return Buffer.concat([base.subarray(0, 2), marker, text, base.subarray(2)])
}

export async function runMediaBench(o: {
  images: number
  log: (m: string) => void
}): Promise<MediaBenchResult> {
  const server = await startBenchServer(o.log)
  process.env.PM_STACK_SERVER_URL = server.url
  const work = await mkdtemp(path.join(tmpdir(), 'pm-bench-media-'))
  process.env.STORAGE_DIR = path.join(work, 'storage')
  const cacheName = `bench-media-${process.pid}`
  process.env.GATEWAY_CACHE_NAME = cacheName
  // Core too, as deployed: the gateway asks it about the caller's session (cached), as it does in production.
  const stack = await startTestStack({
    only: ['core', 'catalog', 'media'],
    subgraphTimeoutMs: 120_000,
    gateway: {
      ...(process.env.REDIS_URL ? { redisUrl: process.env.REDIS_URL } : {}),
      cache: { name: cacheName },
    },
  })
  let worker: WorkerProcess | undefined
  let gateway: GatewayProcess | undefined
  try {
    gateway = await startGatewayProcess({
      subgraphUrls: {
        core: stack.subgraphs.core.server.graphqlUrl,
        catalog: stack.subgraphs.catalog.server.graphqlUrl,
        media: stack.subgraphs.media.server.graphqlUrl,
      },
      env: { GATEWAY_SUBGRAPH_TIMEOUT_MS: '120000', GATEWAY_CACHE_NAME: cacheName },
    })
    const api = gateway
    const gatewayCpuSeconds = () => sampleProcess(api.service.child.pid!)?.cpuSeconds ?? 0
    worker = await startWorkerProcess({
      domain: 'media',
      databaseUrl: stack.subgraphs.media.testDatabase.url,
      env: { GATEWAY_URL: api.url, GATEWAY_SIGNING_SECRET: stack.secrets.signing },
    })
    const running = worker
    // Read from the process itself: what the worker applied at start.
    const workerNiceValue = niceOf(worker.service.child.pid!) ?? Number.NaN
    const products = Array.from({ length: Math.min(50, o.images) }, () => randomUUID())
    await stack.subgraphs.catalog.database.db
      .insertInto('products')
      .values(products.map((id, i) => ({ id, title: `Bench product ${i}` })))
      .execute()
    const bases = await Promise.all(Array.from({ length: 4 }, (_, i) => baseJpeg(i)))
    const averageBytes = bases.reduce((n, b) => n + b.length, 0) / bases.length
    o.log(`media: ${o.images} images of 2000×2000 (${(averageBytes / 1e6).toFixed(2)} MB each)`)
    const token = stack.tokenFor({ userId: stack.superuserId, superuser: true })
    const request = (query: string, variables: Record<string, unknown>) =>
      postGraphQL(api.graphqlUrl, query, variables, { authorization: `Bearer ${token}` })
    const page = async () => {
      const res = await request(PAGE, { id: products[0] })
      if (res.errors) throw new Error(`product page: ${res.errors[0]!.message}`)
    }
    // A product page with an image, idle.
    const first = await request(ATTACH, {
      input: { productId: products[0], uploadId: await uploadOne(variant(bases[0]!, -1)) },
    })
    if (first.errors) throw new Error(`attachProductImage: ${first.errors[0]!.message}`)
    const media = stack.subgraphs.media.database.db
    const settled = async () => {
      if (exited(running.service)) throw new Error(describeFailure(running.service))
      const rows = await media
        .selectFrom('media_files')
        .select(['processing_status', (eb) => eb.fn.countAll<string>().as('n')])
        .groupBy('processing_status')
        .execute()
      const count = (s: string) => Number(rows.find((r) => r.processing_status === s)?.n ?? 0)
      return { completed: count('completed'), failed: count('failed') }
    }
    while ((await settled()).completed < 1) await new Promise((r) => setTimeout(r, 100))
    // Warm-up, not measured: the gateway's process is fresh (its code not yet optimised by V8).
    await timeIdle(page, 100)
    const idle = await timeIdle(page, 100)
    // During the batch every processed image drops the gateway's cached media answers: the page idle with
    // its media fetched anew each time (a mutation of a field the page does not read, untimed, before each).
    const firstId = (first.data as { attachProductImage: { mediaFile: { id: string } } }).attachProductImage
      .mediaFile.id
    const idleUncached: number[] = []
    for (let i = 0; i < 100; i++) {
      const touched = await request(TOUCH, { id: firstId, alt: `idle ${i}` })
      if (touched.errors) throw new Error(`updateMediaFile: ${touched.errors[0]!.message}`)
      idleUncached.push(...(await timeIdle(page, 1)))
    }

    async function uploadOne(bytes: Buffer): Promise<string> {
      const response = await fetch(`${api.url}/uploads?filename=photo.jpg`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/octet-stream',
          'x-apollo-operation-name': 'upload',
        },
        body: new Uint8Array(bytes),
      })
      if (response.status !== 201) throw new Error(`POST /uploads answered ${response.status}`)
      return ((await response.json()) as { id: string }).id
    }

    const loadBefore = loadavg()
    const cpuBefore = {
      worker: worker.cpuSeconds(),
      api: process.cpuUsage(),
      gateway: gatewayCpuSeconds(),
      machine: machineCpuSeconds(),
    }
    const start = performance.now()
    let next = 0
    const uploader = async () => {
      while (next < o.images) {
        const n = next++
        const uploadId = await uploadOne(variant(bases[n % bases.length]!, n))
        const res = await request(ATTACH, {
          input: { productId: products[n % products.length], uploadId },
        })
        if (res.errors) throw new Error(`attachProductImage: ${res.errors[0]!.message}`)
      }
    }
    // The page is asked one request at a time, 50 ms apart, until every image is processed.
    const { value: state, samples: busy } = await timeDuring(
      page,
      (async () => {
        await Promise.all([uploader(), uploader()])
        let state = await settled()
        while (state.completed + state.failed < o.images + 1) {
          await new Promise((r) => setTimeout(r, 100))
          state = await settled()
        }
        return state
      })(),
    )
    const seconds = (performance.now() - start) / 1000
    const perImage = (cpuSeconds: number) => (1000 * cpuSeconds) / o.images
    const apiCpu = process.cpuUsage(cpuBefore.api)
    const cpu = {
      worker: perImage(worker.cpuSeconds() - cpuBefore.worker),
      api: perImage((apiCpu.user + apiCpu.system) / 1e6 + gatewayCpuSeconds() - cpuBefore.gateway),
      machine: perImage(machineCpuSeconds() - cpuBefore.machine),
    }
    const loadAfter = loadavg()
    const workerPeakRssMb = worker.peakRssMb()
    await worker.stop()
    const thumbnails = await media
      .selectFrom('media_thumbnails')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow()
    const result: MediaBenchResult = {
      images: o.images,
      averageBytes,
      seconds,
      imagesPerSecond: o.images / seconds,
      completed: state.completed - 1,
      failed: state.failed,
      thumbnails: Number(thumbnails.n),
      idleP95Ms: p95(idle),
      idleUncachedP95Ms: p95(idleUncached),
      busyP95Ms: p95(busy),
      busySamples: busy.length,
      worker: {
        nice: workerNiceValue,
        concurrency: Number(process.env.WORKER_CONCURRENCY?.trim() || mediaJobs.concurrency || 1),
        sharpConcurrency: sharpConcurrency(process.env),
      },
      workerCpuMsPerImage: cpu.worker,
      apiCpuMsPerImage: cpu.api,
      machineCpuMsPerImage: cpu.machine,
      workerPeakRssMb,
      loadBefore,
      loadAfter,
    }
    o.log(
      `media: ${o.images} processed in ${seconds.toFixed(1)} s (${result.imagesPerSecond.toFixed(1)} images/s), page p95 ${result.idleP95Ms.toFixed(1)} (media not cached ${result.idleUncachedP95Ms.toFixed(1)}) → ${result.busyP95Ms.toFixed(1)} ms; CPU per image: worker ${cpu.worker.toFixed(0)} ms, API ${cpu.api.toFixed(0)} ms, machine ${cpu.machine.toFixed(0)} ms`,
    )
    return result
  } finally {
    await worker?.stop()
    await gateway?.stop()
    await stack.stop()
    await server.stop()
    await rm(work, { recursive: true, force: true })
  }
}

export function mediaMarkdown(r: MediaBenchResult): string {
  const mark = (ok: boolean) => (ok ? 'met' : 'missed')
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ')
  return [
    '## Media: upload to every thumbnail',
    '',
    `${r.images} generated 2000×2000 JPEGs (${(r.averageBytes / 1e6).toFixed(2)} MB each) uploaded by two clients and processed into small, medium and large thumbnails in JPEG and WebP by the media worker in its own process, as deployed (\`pm worker --domain media\`: nice ${r.worker.nice}, ${r.worker.concurrency} jobs at once, ${r.worker.sharpConcurrency} libvips thread per operation); the gateway in its own process too, the subgraphs in the benchmark's. Load average (1, 5, 15 min) before: ${load(r.loadBefore)}, after: ${load(r.loadAfter)} — the machine is shared.`,
    '',
    '| measure | value | target |',
    '|---|---|---|',
    `| first upload → last processed | ${r.seconds.toFixed(1)} s, ${r.imagesPerSecond.toFixed(1)} images/s (${r.completed} completed, ${r.failed} failed, ${r.thumbnails} thumbnails) | ≥ ${MEDIA_TARGETS.imagesPerSecond} images/s: ${mark(r.imagesPerSecond >= MEDIA_TARGETS.imagesPerSecond)} |`,
    `| CPU per image (first upload → last processed) | worker ${r.workerCpuMsPerImage.toFixed(0)} ms, API: gateway and subgraphs (uploads, attach, page reads) ${r.apiCpuMsPerImage.toFixed(0)} ms; whole machine, other work included, ${r.machineCpuMsPerImage.toFixed(0)} ms of its ${(2000 / MEDIA_TARGETS.imagesPerSecond).toFixed(0)} ms budget at the target | |`,
    `| worker peak RSS | ${r.workerPeakRssMb.toFixed(0)} MB | |`,
    `| product page p95, idle → meanwhile | ${r.idleP95Ms.toFixed(1)} ms → ${r.busyP95Ms.toFixed(1)} ms (${r.busySamples} requests) | ≤ ${MEDIA_TARGETS.pageP95Ratio}× idle: ${mark(r.busyP95Ms <= MEDIA_TARGETS.pageP95Ratio * r.idleP95Ms)} |`,
    `| product page p95 idle, its media answer not cached (as after each processed image) | ${r.idleUncachedP95Ms.toFixed(1)} ms (${(r.idleUncachedP95Ms / r.idleP95Ms).toFixed(1)}× the cached idle p95) | |`,
    '',
  ].join('\n')
}

/** The scenario as `pnpm bench` runs it: results in bench/results (smoke-media.md, or media-<stamp>.md and media-latest.md). */
export async function mediaScenario(
  o: { images: number; smoke: boolean; commandLine: string },
  log: (m: string) => void,
): Promise<number> {
  const startedAt = new Date()
  const result = await runMediaBench({ images: o.images, log })
  const markdown = `# Media benchmark (${startedAt.toISOString()})\n\n${o.commandLine}\n\n${mediaMarkdown(result)}`
  const dir = path.join(REPO_ROOT, 'bench/results')
  mkdirSync(dir, { recursive: true })
  const stamp = startedAt.toISOString().replace(/[:]/g, '-').replace(/\..*$/, 'Z')
  const files = o.smoke
    ? [path.join(dir, 'smoke-media.md')]
    : [path.join(dir, `media-${stamp}.md`), path.join(dir, 'media-latest.md')]
  for (const file of files) writeFileSync(file, markdown)
  const json = files[0]!.replace(/\.md$/, '.json')
  writeFileSync(json, `${JSON.stringify({ startedAt, media: result }, null, 2)}\n`)
  formatResultFiles([...files, json])
  console.log(mediaMarkdown(result))
  if (o.smoke) return result.failed === 0 && result.completed === result.images ? 0 : 1
  return result.imagesPerSecond >= MEDIA_TARGETS.imagesPerSecond ? 0 : 1
}
