import { readdirSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type Storage,
  StorageKeyError,
  StorageLimitError,
  StorageNotFoundError,
  signedFileUrl,
  storageDownloadHandler,
} from '../src'
import { DRIVERS, keys, randomStream, readAll, type StorageUnderTest, sha256, URL_SECRET } from './helpers'

describe.each(Object.keys(DRIVERS) as Array<keyof typeof DRIVERS>)('%s storage', (driver) => {
  let under: StorageUnderTest
  let storage: Storage
  let server: Server | undefined
  beforeAll(async () => {
    if (driver === 'local') {
      // The local driver's URLs point at a server mounting the download handler, as the gateway does.
      server = createServer((req, res) => {
        const url = new URL(req.url ?? '/', 'http://localhost')
        void handler(req, res, url)
      })
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
      const { port } = server.address() as AddressInfo
      under = await DRIVERS.local(`http://127.0.0.1:${port}`)
    } else under = await DRIVERS.s3()
    storage = under.storage
    handler = storageDownloadHandler(storage)
  })
  let handler: ReturnType<typeof storageDownloadHandler>
  afterAll(async () => {
    await under?.stop()
    if (server) await new Promise((resolve) => server!.close(resolve))
  })

  it('stores a buffer, a string and a stream, answering size and SHA-256', async () => {
    const text = 'sku;prix\nA1;12,50\n'
    const a = await storage.put('t/put/a.csv', text, { contentType: 'text/csv', metadata: { owner: 'me' } })
    expect(a).toMatchObject({ key: 't/put/a.csv', size: Buffer.byteLength(text), sha256: sha256(text) })
    const b = await storage.put('t/put/b.bin', Buffer.from([0, 1, 2, 3]))
    expect(b.sha256).toBe(sha256(Buffer.from([0, 1, 2, 3])))
    const { stream, data } = randomStream(300_000)
    const c = await storage.put('t/put/c.bin', stream)
    expect(c).toMatchObject({ size: 300_000, sha256: sha256(data) })

    expect(await storage.head('t/put/a.csv')).toMatchObject({
      key: 't/put/a.csv',
      size: Buffer.byteLength(text),
      contentType: 'text/csv',
      sha256: sha256(text),
      metadata: { owner: 'me' },
    })
    expect((await storage.head('t/put/c.bin'))?.sha256).toBe(sha256(data))
    expect((await readAll(await storage.get('t/put/a.csv'))).toString()).toBe(text)
    expect((await readAll(await storage.get('t/put/c.bin'))).equals(data)).toBe(true)
  })

  it('streams a multipart-sized body through, hashing it as it goes', async () => {
    const { stream, data } = randomStream(12 * 1_048_576)
    const info = await storage.put('t/big/file.bin', stream, { maxBytes: 12 * 1_048_576 })
    expect(info).toMatchObject({ size: data.length, sha256: sha256(data) })
    const back = await readAll(await storage.get('t/big/file.bin'))
    expect(sha256(back)).toBe(sha256(data))
  })

  it('reads a byte range (end inclusive, or to the end)', async () => {
    await storage.put('t/range.txt', '0123456789')
    expect((await readAll(await storage.get('t/range.txt', { start: 2, end: 5 }))).toString()).toBe('2345')
    expect((await readAll(await storage.get('t/range.txt', { start: 7 }))).toString()).toBe('789')
  })

  it('replaces an object put again under the same key', async () => {
    await storage.put('t/replace.txt', 'first version')
    await storage.put('t/replace.txt', 'second')
    expect((await readAll(await storage.get('t/replace.txt'))).toString()).toBe('second')
    expect(await storage.head('t/replace.txt')).toMatchObject({ size: 6, sha256: sha256('second') })
  })

  it('says what is missing: get throws StorageNotFoundError, head is null, delete is quiet', async () => {
    await expect(storage.get('t/missing/nothing')).rejects.toBeInstanceOf(StorageNotFoundError)
    expect(await storage.head('t/missing/nothing')).toBeNull()
    await expect(storage.delete('t/missing/nothing')).resolves.toBeUndefined()
    await storage.put('t/missing/then-deleted', 'x')
    await storage.delete('t/missing/then-deleted')
    expect(await storage.head('t/missing/then-deleted')).toBeNull()
    await expect(storage.get('t/missing/then-deleted')).rejects.toBeInstanceOf(StorageNotFoundError)
  })

  it('copies an object under another key with its own type and metadata, the source left as it was', async () => {
    const { stream, data } = randomStream(200_000)
    await storage.put('t/copy/source.bin', stream, { contentType: 'application/octet-stream' })
    await storage.put('t/copy/target.jpg', 'an older version')
    const copied = await storage.copy('t/copy/source.bin', 't/copy/target.jpg', {
      contentType: 'image/jpeg',
      metadata: { kind: 'original' },
    })
    expect(copied).toMatchObject({ key: 't/copy/target.jpg', size: data.length, sha256: sha256(data) })
    expect(await storage.head('t/copy/target.jpg')).toMatchObject({
      size: data.length,
      contentType: 'image/jpeg',
      sha256: sha256(data),
      metadata: { kind: 'original' },
    })
    expect((await readAll(await storage.get('t/copy/target.jpg'))).equals(data)).toBe(true)
    expect(await storage.head('t/copy/source.bin')).toMatchObject({
      contentType: 'application/octet-stream',
      sha256: sha256(data),
      metadata: {},
    })
    // Each stands alone: deleting or replacing one leaves the other.
    await storage.delete('t/copy/source.bin')
    expect((await readAll(await storage.get('t/copy/target.jpg'))).equals(data)).toBe(true)
    await storage.put('t/copy/target.jpg', 'replaced')
    await storage.copy('t/copy/target.jpg', 't/copy/second.txt')
    await storage.put('t/copy/target.jpg', 'replaced again')
    expect((await readAll(await storage.get('t/copy/second.txt'))).toString()).toBe('replaced')
    await expect(storage.copy('t/copy/missing', 't/copy/nothing')).rejects.toBeInstanceOf(
      StorageNotFoundError,
    )
    expect(await storage.head('t/copy/nothing')).toBeNull()
    if (under.dir) expect(readdirSync(join(under.dir, 'tmp'))).toEqual([])
  })

  it('refuses a body over maxBytes while streaming, leaving nothing behind', async () => {
    const small = await storage.put('t/limit/exact', 'abcd', { maxBytes: 4 })
    expect(small.size).toBe(4)
    await expect(storage.put('t/limit/over', 'abcde', { maxBytes: 4 })).rejects.toBeInstanceOf(
      StorageLimitError,
    )
    // Past one multipart part before the limit strikes.
    const { stream } = randomStream(8 * 1_048_576)
    await expect(storage.put('t/limit/big', stream, { maxBytes: 6 * 1_048_576 })).rejects.toBeInstanceOf(
      StorageLimitError,
    )
    expect(await storage.head('t/limit/over')).toBeNull()
    expect(await storage.head('t/limit/big')).toBeNull()
    expect(await keys(storage, 't/limit/')).toEqual(['t/limit/exact'])
    if (under.dir) expect(readdirSync(join(under.dir, 'tmp'))).toEqual([])
  })

  it('fails a put whose source stream fails, storing nothing', async () => {
    async function* broken() {
      yield Buffer.from('some bytes')
      throw new Error('connection reset')
    }
    await expect(storage.put('t/broken', Readable.from(broken()))).rejects.toThrow('connection reset')
    expect(await storage.head('t/broken')).toBeNull()
    if (under.dir) expect(readdirSync(join(under.dir, 'tmp'))).toEqual([])
  })

  it('refuses keys that could escape: "..", absolute, empty segments, backslashes', async () => {
    for (const key of [
      '../x',
      'a/../../x',
      '/etc/passwd',
      'a//b',
      'a/./b',
      '.',
      'a\\..\\b',
      '',
      'a/b/',
      'nul\u0000',
    ]) {
      await expect(storage.put(key, 'x'), JSON.stringify(key)).rejects.toBeInstanceOf(StorageKeyError)
      await expect(storage.get(key), JSON.stringify(key)).rejects.toBeInstanceOf(StorageKeyError)
      await expect(storage.head(key), JSON.stringify(key)).rejects.toBeInstanceOf(StorageKeyError)
      await expect(storage.delete(key), JSON.stringify(key)).rejects.toBeInstanceOf(StorageKeyError)
      await expect(storage.url(key), JSON.stringify(key)).rejects.toBeInstanceOf(StorageKeyError)
    }
    await expect(keys(storage, '../')).rejects.toBeInstanceOf(StorageKeyError)
  })

  it('lists the objects under a prefix with their sizes', async () => {
    await storage.put('t/list/a/1.txt', 'one')
    await storage.put('t/list/a/2.txt', 'two!')
    await storage.put('t/list/b/3.txt', 'three')
    await storage.put('t/list-other/4.txt', 'four')
    expect(await keys(storage, 't/list/')).toEqual(['t/list/a/1.txt', 't/list/a/2.txt', 't/list/b/3.txt'])
    expect(await keys(storage, 't/list/a/')).toEqual(['t/list/a/1.txt', 't/list/a/2.txt'])
    expect(await keys(storage, 't/list')).toEqual([
      't/list-other/4.txt',
      't/list/a/1.txt',
      't/list/a/2.txt',
      't/list/b/3.txt',
    ])
    const sizes: Record<string, number> = {}
    for await (const o of storage.list('t/list/a/')) sizes[o.key] = o.size
    expect(sizes).toEqual({ 't/list/a/1.txt': 3, 't/list/a/2.txt': 4 })
    expect(await keys(storage, 't/nothing-here/')).toEqual([])
  })

  it('gives a download URL that serves the object, with a file name', async () => {
    const body = 'ean;title\n3017620422003;Pâte à tartiner\n'
    await storage.put('t/url/export feed.csv', body, { contentType: 'text/csv' })
    const url = await storage.url('t/url/export feed.csv', {
      expiresInSeconds: 600,
      filename: 'flux été.csv',
    })
    const response = await fetch(url)
    expect(response.status).toBe(200)
    expect(await response.text()).toBe(body)
    expect(response.headers.get('content-disposition')).toContain(`filename*=UTF-8''flux%20%C3%A9t%C3%A9.csv`)
  })

  it.runIf(driver === 'local')(
    'serves signed URLs with ETag, Cache-Control and ranges; refuses tampered and expired ones',
    async () => {
      await storage.put('t/dl/file.txt', 'hello, world', { contentType: 'text/plain' })
      const url = new URL(await storage.url('t/dl/file.txt', { expiresInSeconds: 120 }))
      const ok = await fetch(url)
      expect(ok.status).toBe(200)
      expect(ok.headers.get('etag')).toBe(`"${sha256('hello, world')}"`)
      expect(ok.headers.get('cache-control')).toMatch(/^private, max-age=\d+$/)
      expect(ok.headers.get('content-type')).toBe('text/plain')
      expect(await ok.text()).toBe('hello, world')

      const partial = await fetch(url, { headers: { range: 'bytes=7-' } })
      expect(partial.status).toBe(206)
      expect(partial.headers.get('content-range')).toBe('bytes 7-11/12')
      expect(await partial.text()).toBe('world')
      const unsatisfiable = await fetch(url, { headers: { range: 'bytes=50-60' } })
      expect(unsatisfiable.status).toBe(416)
      await unsatisfiable.body?.cancel()

      const cached = await fetch(url, { headers: { 'if-none-match': ok.headers.get('etag')! } })
      expect(cached.status).toBe(304)

      const tampered = new URL(url)
      tampered.pathname = tampered.pathname.replace('file.txt', 'other.txt')
      const forged = await fetch(tampered)
      expect(forged.status).toBe(403)
      expect(((await forged.json()) as any).errors[0].extensions.code).toBe('FORBIDDEN')

      const longer = new URL(url)
      longer.searchParams.set('expires', String(Number(url.searchParams.get('expires')) + 3600))
      expect((await fetch(longer)).status).toBe(403)

      // Signed a minute ago for one second: expired, with a valid signature.
      const past = new URL(
        signedFileUrl(url.origin, URL_SECRET, 't/dl/file.txt', { expiresInSeconds: 1 }, Date.now() - 60_000),
      )
      const gone = await fetch(past)
      expect(gone.status).toBe(403)
      expect(((await gone.json()) as any).errors[0].message).toMatch(/expired/)

      await storage.delete('t/dl/file.txt')
      expect((await fetch(url)).status).toBe(404)
    },
  )
})
