import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConnectorError, connectorFromConfig, validateConnectionConfig } from '../src/index'
import { startFtpServer, type TestFtpServer } from './ftp-server'
import { startHttpServer, type TestHttpServer } from './http-servers'

async function readAll(body: Readable): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of body) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString()
}

async function failure(promise: Promise<unknown> | (() => unknown)): Promise<ConnectorError> {
  try {
    await (typeof promise === 'function' ? promise() : promise)
  } catch (error) {
    expect(error).toBeInstanceOf(ConnectorError)
    return error as ConnectorError
  }
  throw new Error('expected a ConnectorError')
}

describe('validateConnectionConfig', () => {
  it.each([
    {
      type: 'sftp',
      host: 'sftp.supplier.example',
      port: 22,
      username: 'pm',
      password: 'x',
      path: '/exports/',
    },
    {
      type: 'sftp',
      host: '203.0.113.7',
      username: 'pm',
      privateKey: '-----BEGIN OPENSSH PRIVATE KEY-----\n…',
      hostFingerprint: `SHA256:${Buffer.alloc(32, 1).toString('base64').replace(/=$/, '')}`,
    },
    { type: 'ftp', host: 'ftp.supplier.example', username: 'pm', password: 'x', passive: true, secure: true },
    { type: 'ftps', host: 'ftp.supplier.example', username: 'pm', secure: 'implicit', timeoutSeconds: 60 },
    { type: 'http', url: 'https://flux.supplier.example/catalogue/latest', username: 'a', password: 'b' },
    {
      type: 'http',
      host: 'flux.supplier.example',
      path: '/feed.csv',
      secure: true,
      method: 'post',
      token: 't',
    },
    { type: 'local', path: '/acme' },
    { type: 'local' },
    {
      type: 'email',
      host: 'imap.example',
      username: 'u',
      password: 'p',
      fromAddress: 'tarifs@supplier.example',
    },
  ])('accepts %j', (config) => {
    expect(validateConnectionConfig(config)).toEqual([])
  })

  it('names every problem at its path', () => {
    const issues = validateConnectionConfig(
      { type: 'sftp', hots: 'x', port: 70_000, password: '***', hostFingerprint: 'md5:abc' },
      'input.connectionConfig',
    )
    expect(issues.map((i) => i.path).sort()).toEqual(
      [
        'input.connectionConfig.hots',
        'input.connectionConfig.host',
        'input.connectionConfig.username',
        'input.connectionConfig.port',
        'input.connectionConfig.password',
        'input.connectionConfig.hostFingerprint',
      ].sort(),
    )
    for (const issue of issues) expect(issue.message.startsWith(issue.path)).toBe(true)
    expect(issues.find((i) => i.path.endsWith('.password'))?.message).toMatch(/masked placeholder/)
  })

  it('refuses unknown kinds, active FTP, a local path going up and URLs with credentials', () => {
    expect(validateConnectionConfig({ type: 'gopher' }).map((i) => i.path)).toEqual(['connectionConfig.type'])
    expect(validateConnectionConfig(null).map((i) => i.path)).toEqual(['connectionConfig'])
    expect(
      validateConnectionConfig({ type: 'ftp', host: 'h.example', username: 'u', passive: false }).map(
        (i) => i.path,
      ),
    ).toEqual(['connectionConfig.passive'])
    expect(validateConnectionConfig({ type: 'local', path: '/acme/../../etc' }).map((i) => i.path)).toEqual([
      'connectionConfig.path',
    ])
    expect(
      validateConnectionConfig({ type: 'http', url: 'https://u:p@x.example/' }).map((i) => i.path),
    ).toEqual(['connectionConfig.url'])
    expect(
      validateConnectionConfig({ type: 'http', url: 'https://x.example/', headers: { 'bad name': 'v' } }).map(
        (i) => i.path,
      ),
    ).toEqual(['connectionConfig.headers["bad name"]'])
  })
})

describe('connectorFromConfig', () => {
  let dir: string
  let ftp: TestFtpServer
  let http: TestHttpServer

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pm-connectors-config-'))
    await mkdir(join(dir, 'root', 'acme'), { recursive: true })
    await mkdir(join(dir, 'outside'))
    await writeFile(join(dir, 'root', 'acme', 'acme_1.csv'), 'local file')
    await writeFile(join(dir, 'outside', 'acme_2.csv'), 'secret')
    await symlink(join(dir, 'outside'), join(dir, 'root', 'escape'))
    await mkdir(join(dir, 'ftp', 'exports', 'catalogue'), { recursive: true })
    await writeFile(join(dir, 'ftp', 'exports', 'catalogue', 'dist_20260101.csv'), 'ftp file')
    ftp = await startFtpServer({ root: join(dir, 'ftp'), username: 'pm_dist', password: 'Abc123def456ghi7' })
    http = await startHttpServer((req, res) => {
      if (req.url === '/catalogue/latest') {
        if (req.headers.authorization !== `Basic ${Buffer.from('products-manager:pw').toString('base64')}`) {
          res.writeHead(401)
          return res.end()
        }
        res.writeHead(200, { 'content-type': 'text/csv' })
        return res.end('http file')
      }
      res.writeHead(404)
      res.end()
    })
  })

  afterAll(async () => {
    await ftp?.close()
    await http?.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('reads a local directory under the files root, never one linked out of it', async () => {
    const filesRoot = join(dir, 'root')
    const local = connectorFromConfig({ type: 'local', path: '/acme' }, { filesRoot })
    expect((await local.list('acme_*.csv')).map((f) => f.name)).toEqual(['acme_1.csv'])
    expect(await readAll(await local.get('acme_1.csv'))).toBe('local file')
    const escaped = connectorFromConfig({ type: 'local', path: 'escape' }, { filesRoot })
    expect((await failure(escaped.list('*.csv'))).code).toBe('OUTSIDE_ROOT')
    expect(
      (await failure(() => connectorFromConfig({ type: 'local', path: '../x' }, { filesRoot }))).code,
    ).toBe('BAD_CONFIG')
  })

  it('reads a config stored in the seeded shape (kind from import_type, remote_path)', async () => {
    const seeded = {
      host: '127.0.0.1',
      port: ftp.port,
      username: 'pm_dist',
      password: 'Abc123def456ghi7',
      remote_path: '/exports/catalogue/',
      passive: true,
    }
    const connector = connectorFromConfig(seeded, { importType: 'ftp', allowPrivate: true })
    try {
      const files = await connector.list('dist_*.csv')
      expect(files.map((f) => f.name)).toEqual(['dist_20260101.csv'])
      expect(await readAll(await connector.get('dist_20260101.csv'))).toBe('ftp file')
    } finally {
      await connector.close()
    }
    // The same seeded shape over SFTP carries passive: false, which is dropped.
    expect(() => connectorFromConfig({ ...seeded, passive: false }, { importType: 'sftp' })).not.toThrow()
  })

  it('fetches an http resource with basic authentication (seeded auth object)', async () => {
    const config = {
      url: `${http.url}/catalogue/latest`,
      auth: { type: 'basic', username: 'products-manager', password: 'pw' },
    }
    const source = connectorFromConfig(config, { importType: 'http', allowPrivate: true })
    expect(await source.list('*.csv')).toEqual([{ name: 'latest' }])
    expect(await readAll(await source.get('latest'))).toBe('http file')
    const wrong = connectorFromConfig(
      { type: 'http', url: `${http.url}/catalogue/latest`, username: 'products-manager', password: 'nope' },
      { allowPrivate: true },
    )
    expect((await failure(wrong.get('latest'))).code).toBe('AUTH')
    const missing = connectorFromConfig({ type: 'http', url: `${http.url}/gone.csv` }, { allowPrivate: true })
    expect((await failure(missing.get('gone.csv'))).code).toBe('NOT_FOUND')
    const refused = connectorFromConfig(
      { type: 'http', url: `${http.url}/catalogue/latest` },
      { allowPrivate: false },
    )
    expect((await failure(refused.get('latest'))).code).toBe('FORBIDDEN_ADDRESS')
  })

  it('refuses invalid configs and kinds no connector fetches, listing the problems', async () => {
    const invalid = await failure(() => connectorFromConfig({ type: 'sftp', host: 'h.example', port: 0 }))
    expect(invalid.code).toBe('BAD_CONFIG')
    expect(invalid.message).toContain('connectionConfig.username')
    expect(invalid.message).toContain('connectionConfig.port')
    expect(
      (await failure(() => connectorFromConfig({ type: 'email', host: 'h.example', username: 'u' }))).code,
    ).toBe('BAD_CONFIG')
    const api = await failure(() =>
      connectorFromConfig({ base_url: 'https://api.x.example/v2', api_key: 'k' }, { importType: 'api' }),
    )
    expect(api.code).toBe('BAD_CONFIG')
    expect(api.message).not.toContain('"k"')
  })
})
