import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConnectorError, localPathSource } from '../src/index'

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of body) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (error) {
    expect(error).toBeInstanceOf(ConnectorError)
    return (error as ConnectorError).code
  }
  throw new Error('expected a ConnectorError')
}

describe('localPathSource', () => {
  let dir: string
  let root: string
  const content = randomBytes(200_000)

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pm-connectors-local-'))
    root = join(dir, 'root')
    await mkdir(join(root, 'acme'), { recursive: true })
    await writeFile(join(dir, 'secret.csv'), 'outside')
    await writeFile(join(root, 'catalog_2026-01.csv'), 'old')
    await writeFile(join(root, 'catalog_2026-02.csv'), content)
    await writeFile(join(root, 'CATALOG_2025-12.CSV'), 'older')
    await writeFile(join(root, 'prices.xlsx'), 'x')
    await writeFile(join(root, 'acme', 'catalog_a.csv'), 'nested')
    await utimes(join(root, 'CATALOG_2025-12.CSV'), new Date('2025-12-01'), new Date('2025-12-01'))
    await utimes(join(root, 'catalog_2026-01.csv'), new Date('2026-01-01'), new Date('2026-01-01'))
    await utimes(join(root, 'catalog_2026-02.csv'), new Date('2026-02-01'), new Date('2026-02-01'))
    await symlink(join(dir, 'secret.csv'), join(root, 'catalog_link-out.csv'))
    await symlink(dir, join(root, 'up'))
    await symlink(join(root, 'catalog_2026-02.csv'), join(root, 'catalog_link-in.csv'))
  })

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('lists the files matching a pattern, newest first, links leading outside left out', async () => {
    const source = localPathSource(root)
    const files = await source.list('catalog_*.csv')
    expect(files.map((f) => f.name)).toEqual([
      'catalog_2026-02.csv',
      'catalog_link-in.csv',
      'catalog_2026-01.csv',
      'CATALOG_2025-12.CSV',
    ])
    expect(files[0]).toMatchObject({ size: content.length, modifiedAt: new Date('2026-02-01') })
    expect((await source.list('acme/*.csv')).map((f) => f.name)).toEqual(['acme/catalog_a.csv'])
    expect((await source.list('*.{xlsx,xls}')).map((f) => f.name)).toEqual(['prices.xlsx'])
    expect((await source.list()).length).toBe(5)
  })

  it('reads a file as a stream, bytes equal', async () => {
    const source = localPathSource(root)
    expect((await readAll(await source.get('catalog_2026-02.csv'))).equals(content)).toBe(true)
    expect((await readAll(await source.get('acme/catalog_a.csv'))).toString()).toBe('nested')
  })

  it('refuses anything outside the root', async () => {
    const source = localPathSource(root)
    expect(await code(source.get('../secret.csv'))).toBe('OUTSIDE_ROOT')
    expect(await code(source.get('acme/../../secret.csv'))).toBe('OUTSIDE_ROOT')
    expect(await code(source.get(join(dir, 'secret.csv')))).toBe('OUTSIDE_ROOT')
    expect(await code(source.get('catalog_link-out.csv'))).toBe('OUTSIDE_ROOT')
    expect(await code(source.get('up/secret.csv'))).toBe('OUTSIDE_ROOT')
    expect(await code(source.list('up/*.csv'))).toBe('OUTSIDE_ROOT')
    expect(await code(source.list('../*.csv'))).toBe('OUTSIDE_ROOT')
    expect(await code(source.put('../dropped.csv', Readable.from(['x'])))).toBe('OUTSIDE_ROOT')
    expect(await code(source.put('up/dropped.csv', Readable.from(['x'])))).toBe('OUTSIDE_ROOT')
  })

  it('answers NOT_FOUND for a missing file or root', async () => {
    expect(await code(localPathSource(root).get('nope.csv'))).toBe('NOT_FOUND')
    expect(await code(localPathSource(root).get('acme'))).toBe('NOT_FOUND')
    expect(await code(localPathSource(join(dir, 'missing')).list('*.csv'))).toBe('NOT_FOUND')
  })

  it('writes a stream into place, replacing a file of that name', async () => {
    const source = localPathSource(root)
    const body = randomBytes(100_000)
    await source.put('out/feed.csv', Readable.from([body.subarray(0, 50_000), body.subarray(50_000)]))
    expect((await readFile(join(root, 'out', 'feed.csv'))).equals(body)).toBe(true)
    await source.put('out/feed.csv', Readable.from(['second']))
    expect(await readFile(join(root, 'out', 'feed.csv'), 'utf8')).toBe('second')
    expect((await source.list('out/*')).map((f) => f.name)).toEqual(['out/feed.csv'])
  })
})
