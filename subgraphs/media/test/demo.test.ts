import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { demoImages, generateDemoData } from '@pm/seed'
import { LocalStorage } from '@pm/storage'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { storeDemoMedia } from '../src/engine/demo'
import { loadMediaSettings } from '../src/engine/settings'

let stack: TestStack<'media'>
let dir = ''

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pm-demo-media-'))
  stack = await startTestStack({ only: ['media'] })
  const rows = generateDemoData({ products: 40 }).rows.media
  const db = stack.subgraphs.media.database.db
  await db.insertInto('media_files').values(rows.media_files).execute()
  await db.insertInto('media_thumbnails').values(rows.media_thumbnails).execute()
}, 120_000)
afterAll(async () => {
  await stack?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('demo media', () => {
  it('stores real images for the seeded files, a product never twice the same, and is idempotent', async () => {
    const storage = new LocalStorage({ dir, publicUrl: 'http://127.0.0.1:4000', urlSecret: 's'.repeat(32) })
    const images = await demoImages()
    // The same bytes on every run.
    const again = await demoImages()
    expect(again.every((image, i) => image.bytes.equals(images[i]!.bytes))).toBe(true)

    const db = stack.subgraphs.media.database.db
    const total = (await db.selectFrom('media_files').select('id').execute()).length
    const updated = await storeDemoMedia(db, storage, images, loadMediaSettings({}))
    expect(updated).toBe(total)
    const files = await db.selectFrom('media_files').selectAll().execute()
    for (const f of files) {
      expect(f.object_key).toBe(`media/originals/${f.file_hash}`)
      expect(await storage.head(f.object_key!)).not.toBeNull()
    }
    const perProduct = new Map<string, Set<string>>()
    for (const f of files) {
      const set = perProduct.get(f.product_id!) ?? new Set()
      expect(set.has(f.file_hash!)).toBe(false)
      set.add(f.file_hash!)
      perProduct.set(f.product_id!, set)
    }
    const done = files.filter((f) => f.processing_status === 'completed')
    expect(done.length).toBeGreaterThan(0)
    const thumbnails = await db.selectFrom('media_thumbnails').selectAll().execute()
    for (const f of done) {
      const own = thumbnails.filter((t) => t.media_file_id === f.id)
      expect(own.length === 6 || (f.format === 'webp' && own.length === 3)).toBe(true)
      for (const t of own) expect(await storage.head(t.object_key)).not.toBeNull()
    }
    expect(await storeDemoMedia(db, storage, images, loadMediaSettings({}))).toBe(0)
  })
})
