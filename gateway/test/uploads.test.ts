import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LocalStorage, openUpload, UploadNotFoundError } from '@pm/storage'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const MAX = 256 * 1024
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex')

let stack: TestStack<'core'>
let storage: LocalStorage
let dir: string
const alice = randomUUID()
const bob = randomUUID()

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pm-uploads-'))
  storage = new LocalStorage({ dir, publicUrl: 'http://files.invalid', urlSecret: 'u'.repeat(40) })
  stack = await startTestStack({
    only: ['core'],
    gateway: {
      storage,
      uploadMaxBytes: MAX,
      rateLimitPerMinute: 10_000,
      rateLimitKeyPrefix: `t:${randomUUID()}:`,
    },
  })
})

afterAll(async () => {
  await stack?.stop()
  rmSync(dir, { recursive: true, force: true })
})

const as = (userId: string) => ({ authorization: `Bearer ${stack.tokenFor({ userId })}` })

function upload(body: BodyInit, headers: Record<string, string>, query = '') {
  return fetch(`${stack.gatewayUrl}/uploads${query}`, {
    method: 'POST',
    body,
    headers,
    // A ReadableStream body is sent chunked, as it comes.
    ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
  } as RequestInit)
}

async function storedKeys(): Promise<string[]> {
  const keys: string[] = []
  for await (const o of storage.list('uploads/')) keys.push(o.key)
  return keys.sort()
}

function chunked(data: Buffer, size = 16 * 1024): ReadableStream<Uint8Array> {
  let at = 0
  return new ReadableStream({
    pull(controller) {
      if (at >= data.length) return controller.close()
      controller.enqueue(data.subarray(at, at + size))
      at += size
    },
  })
}

describe('POST /uploads', () => {
  it("stores a signed-in user's raw file, answering 201 with its SHA-256, size, type and owner", async () => {
    const csv = Buffer.from('sku;ean;prix\nA1;3017620422003;12,50\nA2;5449000000996;3,10\n', 'latin1')
    const res = await upload(
      csv,
      { ...as(alice), 'content-type': 'text/csv' },
      '?filename=tarif%20%C3%A9t%C3%A9.csv',
    )
    expect(res.status).toBe(201)
    const info = (await res.json()) as any
    expect(info).toMatchObject({
      filename: 'tarif été.csv',
      size: csv.length,
      sha256: sha256(csv),
      contentType: 'text/csv',
      owner: `user:${alice}`,
    })
    expect(res.headers.get('location')).toBe(`/uploads/${info.id}`)
    const opened = await openUpload(storage, info.id, `user:${alice}`)
    const chunks: Buffer[] = []
    for await (const chunk of await opened.stream()) chunks.push(chunk)
    expect(Buffer.concat(chunks).equals(csv)).toBe(true)
  })

  it('streams a body sent in chunks (no Content-Length), naming it from Content-Disposition', async () => {
    const data = randomBytes(200 * 1024)
    const res = await upload(chunked(data), {
      ...as(alice),
      'content-type': 'application/octet-stream',
      'content-disposition': `attachment; filename="ignored.bin"; filename*=UTF-8''donn%C3%A9es.bin`,
    })
    expect(res.status).toBe(201)
    expect(await res.json()).toMatchObject({
      filename: 'données.bin',
      size: data.length,
      sha256: sha256(data),
      contentType: 'application/octet-stream',
    })
  })

  it('takes multipart/form-data with one file part', async () => {
    const json = JSON.stringify([{ sku: 'A1', price: '12.50' }])
    const form = new FormData()
    form.append('note', 'spring catalogue')
    form.append('file', new Blob([json], { type: 'application/json' }), 'catalogue.json')
    const res = await upload(form, { ...as(alice), 'apollo-require-preflight': 'true' })
    expect(res.status).toBe(201)
    const info = (await res.json()) as any
    expect(info).toMatchObject({
      filename: 'catalogue.json',
      size: Buffer.byteLength(json),
      sha256: sha256(json),
      contentType: 'application/json',
    })
    expect((await openUpload(storage, info.id, `user:${alice}`)).info.sha256).toBe(sha256(json))

    const two = new FormData()
    two.append('a', new Blob(['x;y\n']), 'a.csv')
    two.append('b', new Blob(['x;y\n']), 'b.csv')
    const refused = await upload(two, { ...as(alice), 'apollo-require-preflight': 'true' })
    expect(refused.status).toBe(400)
    expect(((await refused.json()) as any).errors[0].message).toMatch(/one file/)
    // The first file of the refused request is not kept either.
    const kept = async () => {
      for await (const o of storage.list('uploads/')) {
        if (!o.key.endsWith('.json')) continue
        const opened = await openUpload(storage, o.key.slice(8, -5), 'service').catch(() => undefined)
        if (opened?.info.filename === 'a.csv') return true
      }
      return false
    }
    for (let i = 0; i < 100 && (await kept()); i++) await new Promise((r) => setTimeout(r, 50))
    expect(await kept()).toBe(false)

    const none = new FormData()
    none.append('note', 'no file here')
    const empty = await upload(none, { ...as(alice), 'apollo-require-preflight': 'true' })
    expect(empty.status).toBe(400)
    expect(((await empty.json()) as any).errors[0].message).toMatch(/no file part/)
  })

  it('refuses a file over UPLOAD_MAX_BYTES with 413, keeping nothing', async () => {
    const before = await storedKeys()
    const big = randomBytes(MAX + 1)
    // Declared too large: refused before reading.
    const declared = await upload(big, { ...as(alice), 'content-type': 'text/csv' })
    expect(declared.status).toBe(413)
    expect(((await declared.json()) as any).errors[0].extensions).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      limit: MAX,
    })
    // Streamed without a length: refused once the limit is crossed.
    const streamed = await upload(chunked(randomBytes(MAX * 2)), { ...as(alice), 'content-type': 'text/csv' })
    expect(streamed.status).toBe(413)
    expect(((await streamed.json()) as any).errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE')
    // In a multipart body.
    const form = new FormData()
    form.append('file', new Blob([randomBytes(MAX + 10)]), 'big.csv')
    const multipart = await upload(form, { ...as(alice), 'apollo-require-preflight': 'true' })
    expect(multipart.status).toBe(413)
    await multipart.body?.cancel()

    expect(await storedKeys()).toEqual(before)
    expect(readdirSync(join(dir, 'tmp'))).toEqual([])
  })

  it('refuses anonymous callers and bad tokens with 401', async () => {
    const anonymous = await upload('a;b\n', { 'content-type': 'text/csv' })
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/)
    expect(((await anonymous.json()) as any).errors[0].extensions.code).toBe('UNAUTHENTICATED')
    const forged = await upload('a;b\n', { authorization: 'Bearer not.a.token', 'content-type': 'text/csv' })
    expect(forged.status).toBe(401)
    expect(((await forged.json()) as any).errors[0].extensions.code).toBe('UNAUTHENTICATED')
  })

  it('keeps each upload to its owner', async () => {
    const res = await upload('sku\nB1\n', { ...as(bob), 'content-type': 'text/csv' }, '?filename=bob.csv')
    const info = (await res.json()) as any
    expect(info.owner).toBe(`user:${bob}`)
    await expect(openUpload(storage, info.id, `user:${alice}`)).rejects.toBeInstanceOf(UploadNotFoundError)
    expect((await openUpload(storage, info.id, `user:${bob}`)).info.filename).toBe('bob.csv')
  })

  it('applies the CSRF rule of /graphql: simple cross-site bodies need a preflight header', async () => {
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded']) {
      const res = await upload('a=b', { ...as(alice), 'content-type': contentType })
      expect(res.status, contentType).toBe(400)
      expect(((await res.json()) as any).errors[0].message).toMatch(/cross-site request forgery/)
    }
    const form = new FormData()
    form.append('file', new Blob(['x;y\n']), 'a.csv')
    expect((await upload(form, as(alice))).status).toBe(400)
    const allowed = await upload('a;b\n', {
      ...as(alice),
      'content-type': 'text/plain',
      'apollo-require-preflight': 'true',
    })
    expect(allowed.status).toBe(201)
    expect(((await allowed.json()) as any).contentType).toBe('text/plain')
  })

  it('counts uploads in the caller’s rate limit, with /graphql', async () => {
    const carol = randomUUID()
    const first = await upload('a;b\n', { ...as(carol), 'content-type': 'text/csv' })
    const remaining = Number(first.headers.get('ratelimit-remaining'))
    expect(remaining).toBeGreaterThan(0)
    const graphql = await stack.send('{ __typename }', {}, as(carol))
    expect(Number(graphql.headers.get('ratelimit-remaining'))).toBe(remaining - 1)
    const second = await upload('a;b\n', { ...as(carol), 'content-type': 'text/csv' })
    expect(Number(second.headers.get('ratelimit-remaining'))).toBe(remaining - 2)
  })

  it('serves signed local download URLs under /files/', async () => {
    const res = await upload('sku\nC1\n', { ...as(alice), 'content-type': 'text/csv' })
    const info = (await res.json()) as any
    const signed = new URL(await storage.url(`uploads/${info.id}`, { filename: 'c.csv' }))
    const download = await fetch(`${stack.gatewayUrl}${signed.pathname}${signed.search}`)
    expect(download.status).toBe(200)
    expect(download.headers.get('etag')).toBe(`"${info.sha256}"`)
    expect(download.headers.get('content-disposition')).toContain('c.csv')
    expect(await download.text()).toBe('sku\nC1\n')
    const unsigned = await fetch(`${stack.gatewayUrl}${signed.pathname}`)
    expect(unsigned.status).toBe(403)
    await unsigned.body?.cancel()
  })
})
