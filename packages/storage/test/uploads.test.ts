import { randomUUID } from 'node:crypto'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  cleanFilename,
  openUpload,
  type Storage,
  StorageLimitError,
  saveUpload,
  sniffContentType,
  UploadNotFoundError,
  XLSX_TYPE,
} from '../src'
import { DRIVERS, keys, randomStream, readAll, type StorageUnderTest, sha256 } from './helpers'

describe('sniffContentType', () => {
  const b = (...bytes: number[]) => Buffer.from(bytes)
  it('tells file types by their magic numbers, whatever they are called', () => {
    const zipHead = Buffer.concat([b(0x50, 0x4b, 0x03, 0x04), Buffer.from('....[Content_Types].xml')])
    expect(sniffContentType(zipHead, { filename: 'products.csv' })).toBe(XLSX_TYPE)
    expect(sniffContentType(Buffer.concat([b(0x50, 0x4b, 0x03, 0x04), Buffer.from('data.txt')]))).toBe(
      'application/zip',
    )
    expect(sniffContentType(b(0x1f, 0x8b, 8, 0))).toBe('application/gzip')
    expect(sniffContentType(Buffer.from('%PDF-1.7\n'))).toBe('application/pdf')
    expect(sniffContentType(b(0xff, 0xd8, 0xff, 0xe0))).toBe('image/jpeg')
    expect(sniffContentType(b(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a))).toBe('image/png')
    expect(sniffContentType(Buffer.from('GIF89a...'))).toBe('image/gif')
    expect(sniffContentType(Buffer.from('RIFF\x10\x00\x00\x00WEBPVP8 '))).toBe('image/webp')
    expect(sniffContentType(b(0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1))).toBe(
      'application/vnd.ms-excel',
    )
  })

  it('reads text as JSON, JSON lines, XML or CSV (UTF-8 with or without BOM, or Windows-1252)', () => {
    expect(sniffContentType(Buffer.from(' [{"sku":"A"}]'))).toBe('application/json')
    expect(sniffContentType(Buffer.from('{"sku":"A"}\n{"sku":"B"}\n'), { filename: 'f.jsonl' })).toBe(
      'application/x-ndjson',
    )
    expect(sniffContentType(Buffer.from('<?xml version="1.0"?><products/>'))).toBe('application/xml')
    expect(sniffContentType(Buffer.from('\ufeffsku;désignation;prix\nA;Thé;12,50\n'))).toBe('text/csv')
    expect(sniffContentType(Buffer.from('sku;désignation\nA;Thé vert\n', 'latin1'))).toBe('text/csv')
    expect(sniffContentType(Buffer.from('sku\tname\n'), { declaredType: 'text/tab-separated-values' })).toBe(
      'text/tab-separated-values',
    )
    // A binary file declared as CSV is still binary.
    expect(sniffContentType(b(0, 1, 2, 3, 0xfe, 0x00, 0x81), { declaredType: 'text/csv' })).toBe(
      'application/octet-stream',
    )
  })

  it('keeps a file name to its last segment, without control characters', () => {
    expect(cleanFilename('../../etc/passwd')).toBe('passwd')
    expect(cleanFilename('C:\\fournisseurs\\tarif été.csv')).toBe('tarif été.csv')
    expect(cleanFilename('a\u0000b\nc.csv')).toBe('abc.csv')
    expect(cleanFilename('')).toBe('upload')
    expect(cleanFilename('..')).toBe('upload')
  })
})

describe.each(Object.keys(DRIVERS) as Array<keyof typeof DRIVERS>)('uploads on %s storage', (driver) => {
  let under: StorageUnderTest
  let storage: Storage
  const alice = `user:${randomUUID()}`
  const bob = `user:${randomUUID()}`
  beforeAll(async () => {
    under = await DRIVERS[driver]()
    storage = under.storage
  })
  afterAll(() => under?.stop())

  it('saves a file with its SHA-256, size, sniffed type and owner; its owner opens it', async () => {
    const csv = Buffer.from('sku;ean;prix\nA1;3017620422003;12,50\n', 'latin1')
    const info = await saveUpload(storage, Readable.from([csv]), {
      owner: alice,
      filename: 'tarif.csv',
      maxBytes: 1_000,
      declaredType: 'application/octet-stream',
    })
    expect(info).toMatchObject({
      filename: 'tarif.csv',
      size: csv.length,
      sha256: sha256(csv),
      contentType: 'text/csv',
      owner: alice,
    })
    expect(info.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(Date.parse(info.createdAt)).not.toBeNaN()
    const opened = await openUpload(storage, info.id, alice)
    expect(opened.info).toEqual(info)
    expect((await readAll(await opened.stream())).equals(csv)).toBe(true)
    // The platform's own jobs open any upload.
    expect((await openUpload(storage, info.id, 'service')).info.id).toBe(info.id)
  })

  it('streams a large file whose type is read from its first bytes', async () => {
    const { data } = randomStream(6 * 1_048_576)
    data.write('PK\x03\x04', 0, 'latin1')
    data.write('[Content_Types].xml', 30, 'latin1')
    const chunks: Buffer[] = []
    for (let at = 0; at < data.length; at += 1000) chunks.push(data.subarray(at, at + 1000))
    const info = await saveUpload(storage, Readable.from(chunks), {
      owner: alice,
      filename: 'x.bin',
      maxBytes: 10 * 1_048_576,
    })
    expect(info).toMatchObject({ size: data.length, sha256: sha256(data), contentType: XLSX_TYPE })
  })

  it('stores a body of plain Uint8Array and string chunks byte for byte (views of one shared buffer)', async () => {
    const data = Buffer.from('sku;titre\nA1;Café crème\nB2;Thé\n'.repeat(500), 'utf8')
    const shared = new Uint8Array(data.length + 16)
    shared.set(data, 8)
    const chunks: Array<Uint8Array | string> = []
    for (let at = 0; at < data.length; at += 700)
      chunks.push(shared.subarray(8 + at, 8 + Math.min(at + 700, data.length)))
    chunks.push('C3;fin\n')
    const whole = Buffer.concat([data, Buffer.from('C3;fin\n')])
    const info = await saveUpload(storage, Readable.from(chunks, { objectMode: true }), {
      owner: alice,
      filename: 'u8.csv',
      maxBytes: 1_048_576,
    })
    expect(info).toMatchObject({ size: whole.length, sha256: sha256(whole), contentType: 'text/csv' })
    expect((await readAll(await (await openUpload(storage, info.id, alice)).stream())).equals(whole)).toBe(
      true,
    )
  })

  it('does not show an upload to anyone but its owner, nor an unknown id', async () => {
    const info = await saveUpload(storage, Readable.from([Buffer.from('a;b\n')]), {
      owner: alice,
      filename: 'mine.csv',
      maxBytes: 100,
    })
    await expect(openUpload(storage, info.id, bob)).rejects.toBeInstanceOf(UploadNotFoundError)
    await expect(openUpload(storage, info.id, `apikey:${alice.slice(5)}`)).rejects.toBeInstanceOf(
      UploadNotFoundError,
    )
    await expect(openUpload(storage, randomUUID(), alice)).rejects.toBeInstanceOf(UploadNotFoundError)
    await expect(openUpload(storage, '../../etc/passwd', alice)).rejects.toBeInstanceOf(UploadNotFoundError)
  })

  it('refuses a file over the limit, keeping nothing of it', async () => {
    const before = await keys(storage, 'uploads/')
    const { stream } = randomStream(2 * 1_048_576)
    await expect(
      saveUpload(storage, stream, { owner: bob, filename: 'big.csv', maxBytes: 1_048_576 }),
    ).rejects.toBeInstanceOf(StorageLimitError)
    expect(await keys(storage, 'uploads/')).toEqual(before)
  })
})
