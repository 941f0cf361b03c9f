import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { generate } from 'selfsigned'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConnectorError, type FtpConfig, ftpConnector } from '../src/index'
import { startFtpServer, type TestFtpServer } from './ftp-server'
import { startSilentServer } from './silent-server'

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of body) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

async function failure(promise: Promise<unknown>): Promise<ConnectorError> {
  try {
    await promise
  } catch (error) {
    expect(error).toBeInstanceOf(ConnectorError)
    return error as ConnectorError
  }
  throw new Error('expected a ConnectorError')
}

describe('ftpConnector against real FTP and FTPS servers (ftp-srv)', () => {
  let dir: string
  let plain: TestFtpServer
  let secure: TestFtpServer
  let cert: string
  const password = 'Ftp-S3cret!'
  const big = randomBytes(1_200_000)
  let base: FtpConfig

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pm-connectors-ftp-'))
    await mkdir(join(dir, 'exports'), { recursive: true })
    const files: [string, string | Buffer, string][] = [
      ['acme_2026-01-01.csv', 'old', '2026-01-01T10:00:00Z'],
      ['acme_2026-03-01.csv', big, '2026-03-01T10:00:00Z'],
      ['acme_2026-02-01.csv', 'middle', '2026-02-01T10:00:00Z'],
      ['other.xlsx', 'x', '2026-04-01T10:00:00Z'],
    ]
    for (const [name, content, date] of files) {
      const path = join(dir, 'exports', name)
      await writeFile(path, content)
      await utimes(path, new Date(date), new Date(date))
    }
    const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
      keySize: 2048,
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
    })
    cert = pems.cert
    plain = await startFtpServer({ root: dir, username: 'pm', password })
    secure = await startFtpServer({ root: dir, username: 'pm', password, tls: { key: pems.private, cert } })
    base = { host: '127.0.0.1', port: plain.port, username: 'pm', path: '/exports', allowPrivate: true }
  })

  afterAll(async () => {
    await plain?.close()
    await secure?.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('lists the files matching the pattern, newest first, and downloads one with equal bytes', async () => {
    const ftp = ftpConnector({ ...base, password })
    try {
      const files = await ftp.list('acme_*.csv')
      expect(files.map((f) => f.name)).toEqual([
        'acme_2026-03-01.csv',
        'acme_2026-02-01.csv',
        'acme_2026-01-01.csv',
      ])
      expect(files[0]).toMatchObject({ size: big.length, modifiedAt: new Date('2026-03-01T10:00:00Z') })
      expect((await readAll(await ftp.get(files[0]!.name))).equals(big)).toBe(true)
      // The connection is usable again once a download has been read.
      expect((await readAll(await ftp.get('acme_2026-02-01.csv'))).toString()).toBe('middle')
      expect((await failure(ftp.get('missing.csv'))).code).toBe('NOT_FOUND')
      expect((await failure(ftp.get('../secret.csv'))).code).toBe('OUTSIDE_ROOT')
    } finally {
      await ftp.close()
    }
  })

  it('uploads a stream with equal bytes, replacing the file', async () => {
    const ftp = ftpConnector({ ...base, password })
    const body = randomBytes(600_000)
    try {
      await ftp.put('feeds/out.csv', Readable.from([body.subarray(0, 100_000), body.subarray(100_000)]))
      expect((await readFile(join(dir, 'exports', 'feeds', 'out.csv'))).equals(body)).toBe(true)
      await ftp.put('feeds/out.csv', Readable.from(['second']))
      expect(await readFile(join(dir, 'exports', 'feeds', 'out.csv'), 'utf8')).toBe('second')
      expect(await readdir(join(dir, 'exports', 'feeds'))).toEqual(['out.csv'])
    } finally {
      await ftp.close()
    }
  })

  it('answers AUTH for a wrong password, without the password in the message', async () => {
    const wrong = 'Wrong-ftp-pass'
    const error = await failure(ftpConnector({ ...base, password: wrong }).list())
    expect(error.code).toBe('AUTH')
    expect(error.message).not.toContain(wrong)
  })

  it('speaks explicit FTPS with a trusted certificate, and refuses an untrusted one', async () => {
    const ftps = ftpConnector({ ...base, port: secure.port, password, secure: true, caCertificate: cert })
    try {
      const files = await ftps.list('acme_*.csv')
      expect(files[0]?.name).toBe('acme_2026-03-01.csv')
      expect((await readAll(await ftps.get('acme_2026-03-01.csv'))).equals(big)).toBe(true)
      const body = randomBytes(200_000)
      await ftps.put('tls/out.bin', Readable.from([body]))
      expect((await readFile(join(dir, 'exports', 'tls', 'out.bin'))).equals(body)).toBe(true)
    } finally {
      await ftps.close()
    }
    const untrusted = await failure(
      ftpConnector({ ...base, port: secure.port, password, secure: true }).list(),
    )
    expect(untrusted.code).toBe('AUTH')
  })

  it('refuses loopback unless allowed', async () => {
    expect((await failure(ftpConnector({ ...base, password, allowPrivate: false }).list())).code).toBe(
      'FORBIDDEN_ADDRESS',
    )
  })

  it('answers TIMEOUT when the server never greets', async () => {
    const silent = await startSilentServer()
    try {
      const error = await failure(
        ftpConnector({ ...base, password, port: silent.port, timeoutMs: 500 }).list(),
      )
      expect(error.code).toBe('TIMEOUT')
    } finally {
      await silent.close()
    }
  })

  it('gives the connection back when a reader drops a download halfway', async () => {
    const ftp = ftpConnector({ ...base, password })
    try {
      const stream = await ftp.get('acme_2026-03-01.csv')
      await new Promise<void>((resolve) => stream.once('readable', () => resolve()))
      stream.destroy()
      expect((await ftp.list('acme_*.csv')).length).toBe(3)
      expect((await readAll(await ftp.get('acme_2026-03-01.csv'))).equals(big)).toBe(true)
    } finally {
      await ftp.close()
    }
  })
})
