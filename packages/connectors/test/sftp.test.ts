import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConnectorError, type SftpConfig, sftpConnector } from '../src/index'
import { rsaKeyPair, startSftpServer, type TestSftpServer } from './sftp-server'
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

describe('sftpConnector against a real SFTP server', () => {
  let dir: string
  let server: TestSftpServer
  const clientKey = rsaKeyPair()
  const password = 'S3cret-pass!word'
  const big = randomBytes(1_500_000)
  let base: SftpConfig

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pm-connectors-sftp-'))
    await mkdir(join(dir, 'exports', 'catalogue'), { recursive: true })
    const files: [string, string | Buffer, string][] = [
      ['catalog_2026-01-01.csv', 'old', '2026-01-01'],
      ['catalog_2026-03-01.csv', big, '2026-03-01'],
      ['catalog_2026-02-01.csv', 'middle', '2026-02-01'],
      ['readme.txt', 'not a catalogue', '2026-04-01'],
    ]
    for (const [name, content, date] of files) {
      const path = join(dir, 'exports', 'catalogue', name)
      await writeFile(path, content)
      await utimes(path, new Date(date), new Date(date))
    }
    await mkdir(join(dir, 'exports', 'catalogue', 'catalog_dir.csv'))
    server = await startSftpServer({
      root: dir,
      username: 'pm',
      password,
      authorizedKey: clientKey.publicKey,
    })
    base = {
      host: server.host,
      port: server.port,
      username: 'pm',
      path: '/exports/catalogue',
      allowPrivate: true,
      timeoutMs: 20_000,
    }
  })

  afterAll(async () => {
    await server?.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('lists the files matching the pattern, newest first, and downloads one with equal bytes', async () => {
    const sftp = sftpConnector({ ...base, password, hostFingerprint: server.fingerprint })
    try {
      const files = await sftp.list('catalog_*.csv')
      expect(files.map((f) => f.name)).toEqual([
        'catalog_2026-03-01.csv',
        'catalog_2026-02-01.csv',
        'catalog_2026-01-01.csv',
      ])
      expect(files[0]).toMatchObject({ size: big.length, modifiedAt: new Date('2026-03-01') })
      expect((await readAll(await sftp.get(files[0]!.name))).equals(big)).toBe(true)
      expect((await failure(sftp.get('missing.csv'))).code).toBe('NOT_FOUND')
      expect((await failure(sftp.get('../../etc/passwd'))).code).toBe('OUTSIDE_ROOT')
    } finally {
      await sftp.close()
    }
  })

  it('signs in with a private key and uploads a stream with equal bytes, replacing the file', async () => {
    const sftp = sftpConnector({ ...base, privateKey: clientKey.privateKey })
    const body = randomBytes(700_000)
    try {
      await sftp.put('feeds/out.csv', Readable.from([body.subarray(0, 300_000), body.subarray(300_000)]))
      expect((await readFile(join(dir, 'exports', 'catalogue', 'feeds', 'out.csv'))).equals(body)).toBe(true)
      await sftp.put('feeds/out.csv', Readable.from(['second']))
      expect(await readFile(join(dir, 'exports', 'catalogue', 'feeds', 'out.csv'), 'utf8')).toBe('second')
      expect(await readdir(join(dir, 'exports', 'catalogue', 'feeds'))).toEqual(['out.csv'])
      expect((await readAll(await sftp.get('feeds/out.csv'))).toString()).toBe('second')
    } finally {
      await sftp.close()
    }
  })

  it('answers AUTH for a wrong password, without the password in the message', async () => {
    const wrong = 'Wrong-pass-123'
    const error = await failure(sftpConnector({ ...base, password: wrong }).list('*.csv'))
    expect(error.code).toBe('AUTH')
    expect(error.message).not.toContain(wrong)
    expect(error.message).not.toContain(password)
  })

  it('answers AUTH when the host key does not match the fingerprint', async () => {
    const error = await failure(
      sftpConnector({
        ...base,
        password,
        hostFingerprint: `SHA256:${Buffer.alloc(32).toString('base64')}`,
      }).list(),
    )
    expect(error.code).toBe('AUTH')
  })

  it('refuses loopback unless allowed, and reports a closed port as UNREACHABLE', async () => {
    expect((await failure(sftpConnector({ ...base, password, allowPrivate: false }).list())).code).toBe(
      'FORBIDDEN_ADDRESS',
    )
    const closed = await startSftpServer({ root: dir, username: 'pm', password })
    const port = closed.port
    await closed.close()
    expect((await failure(sftpConnector({ ...base, password, port }).list())).code).toBe('UNREACHABLE')
  })

  it('answers TIMEOUT when the server never completes the handshake', async () => {
    const silent = await startSilentServer()
    try {
      const error = await failure(
        sftpConnector({ ...base, password, port: silent.port, timeoutMs: 500 }).list(),
      )
      expect(error.code).toBe('TIMEOUT')
    } finally {
      await silent.close()
    }
  })
})
