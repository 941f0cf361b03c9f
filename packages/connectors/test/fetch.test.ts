import { randomBytes } from 'node:crypto'
import type { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConnectorError, isPublicAddress, safeFetch } from '../src/index'
import { startHttpServer, type TestHttpServer } from './http-servers'

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

describe('isPublicAddress', () => {
  it.each([
    '127.0.0.1',
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::1',
    '::',
    '::ffff:127.0.0.1',
    '::ffff:8.8.8.8',
    'fe80::1',
    'fd00::1',
    'ff02::1',
    '2002:7f00:1::',
    '64:ff9b::a00:1',
  ])('refuses %s', (address) => {
    expect(isPublicAddress(address)).toBe(false)
  })

  it.each(['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '2002:808:808::', '64:ff9b::808:808'])(
    'accepts %s',
    (address) => {
      expect(isPublicAddress(address)).toBe(true)
    },
  )
})

describe('safeFetch', () => {
  const payload = randomBytes(300_000)
  let main: TestHttpServer
  /** On 127.0.0.2: the one address the redirect tests allow, so that a hop to 127.0.0.1 is a private one. */
  let front: TestHttpServer

  beforeAll(async () => {
    main = await startHttpServer((req, res) => {
      if (req.url === '/file') {
        res.writeHead(200, { 'content-type': 'text/csv', 'content-length': payload.length })
        res.end(payload)
      } else if (req.url === '/big-declared') {
        res.writeHead(200, { 'content-length': 10_000_000 })
        res.write(Buffer.alloc(1024))
      } else if (req.url === '/endless') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' })
        const chunk = Buffer.alloc(64 * 1024, 7)
        const pump = () => {
          while (!res.destroyed && res.write(chunk)) {}
          if (!res.destroyed) res.once('drain', pump)
        }
        pump()
      } else if (req.url === '/silent') {
        // Never answers.
      } else if (req.url === '/stalls') {
        res.writeHead(200, { 'content-length': 1000 })
        res.write(Buffer.alloc(10))
      } else if (req.url?.startsWith('/loop/')) {
        const n = Number(req.url.slice('/loop/'.length))
        res.writeHead(302, { location: `/loop/${n + 1}` })
        res.end()
      } else if (req.url === '/echo-auth') {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ authorization: req.headers.authorization ?? null, method: req.method }))
      } else {
        res.writeHead(404)
        res.end()
      }
    })
    front = await startHttpServer((req, res) => {
      if (req.url === '/to-loopback') {
        res.writeHead(302, { location: `${main.url}/file` })
      } else if (req.url === '/to-file-scheme') {
        res.writeHead(301, { location: 'file:///etc/passwd' })
      } else if (req.url === '/see-other') {
        res.writeHead(303, { location: '/landing' })
      } else if (req.url === '/landing') {
        res.writeHead(200, { 'content-type': 'text/plain' })
        res.end(req.method)
        return
      } else {
        res.writeHead(404)
      }
      res.end()
    }, '127.0.0.2')
  })

  afterAll(async () => {
    await main?.close()
    await front?.close()
  })

  it('refuses loopback addresses unless allowed, without connecting', async () => {
    const before = main.hits.length
    const error = await failure(safeFetch(`${main.url}/file`, { allowPrivate: false }))
    expect(error.code).toBe('FORBIDDEN_ADDRESS')
    const byName = await failure(safeFetch(`http://localhost:${main.port}/file`, { allowPrivate: false }))
    expect(byName.code).toBe('FORBIDDEN_ADDRESS')
    const mapped = await failure(
      safeFetch(`http://[::ffff:127.0.0.1]:${main.port}/file`, { allowPrivate: false }),
    )
    expect(mapped.code).toBe('FORBIDDEN_ADDRESS')
    expect(main.hits.length).toBe(before)
  })

  it('lets loopback through when allowed, by address or by name', async () => {
    const res = await safeFetch(`${main.url}/file`, { allowPrivate: true })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/csv')
    expect((await readAll(res.body)).equals(payload)).toBe(true)
    const byName = await safeFetch(`http://localhost:${main.port}/file`, {
      allowPrivate: ['127.0.0.0/8', '::1'],
    })
    expect((await readAll(byName.body)).equals(payload)).toBe(true)
  })

  it('checks every redirect hop: a redirect to 127.0.0.1 is refused', async () => {
    const before = main.hits.length
    const error = await failure(safeFetch(`${front.url}/to-loopback`, { allowPrivate: ['127.0.0.2'] }))
    expect(error.code).toBe('FORBIDDEN_ADDRESS')
    expect(main.hits.length).toBe(before)
    expect(front.hits).toContain('/to-loopback')
    // Allowed, the same redirect is followed.
    const followed = await safeFetch(`${front.url}/to-loopback`, { allowPrivate: true })
    expect(followed.url).toBe(`${main.url}/file`)
    expect((await readAll(followed.body)).equals(payload)).toBe(true)
  })

  it('refuses other schemes, first or after a redirect', async () => {
    expect((await failure(safeFetch('file:///etc/passwd'))).code).toBe('BAD_CONFIG')
    expect((await failure(safeFetch('ftp://127.0.0.1/x'))).code).toBe('BAD_CONFIG')
    const error = await failure(safeFetch(`${front.url}/to-file-scheme`, { allowPrivate: true }))
    expect(error.code).toBe('BAD_CONFIG')
  })

  it('turns a POST into a GET on 303', async () => {
    const res = await safeFetch(`${front.url}/see-other`, { allowPrivate: true, method: 'POST', body: 'x=1' })
    expect((await readAll(res.body)).toString()).toBe('GET')
  })

  it('bounds redirect loops', async () => {
    const before = main.hits.length
    const error = await failure(safeFetch(`${main.url}/loop/0`, { allowPrivate: true, maxRedirects: 3 }))
    expect(error.code).toBe('TOO_MANY_REDIRECTS')
    expect(main.hits.slice(before)).toEqual(['/loop/0', '/loop/1', '/loop/2', '/loop/3'])
  })

  it('refuses a declared length over the limit before reading the body', async () => {
    const error = await failure(
      safeFetch(`${main.url}/big-declared`, { allowPrivate: true, maxBytes: 100_000 }),
    )
    expect(error.code).toBe('TOO_LARGE')
  })

  it('stops an undeclared body at the limit while it streams', async () => {
    const res = await safeFetch(`${main.url}/endless`, { allowPrivate: true, maxBytes: 1_000_000 })
    let received = 0
    const error = await failure(
      (async () => {
        for await (const chunk of res.body) received += (chunk as Buffer).length
      })(),
    )
    expect(error.code).toBe('TOO_LARGE')
    expect(received).toBeLessThanOrEqual(1_000_000)
  })

  it('times out a server that never answers, and one that stops mid-body', async () => {
    const silent = await failure(safeFetch(`${main.url}/silent`, { allowPrivate: true, timeoutMs: 300 }))
    expect(silent.code).toBe('TIMEOUT')
    const res = await safeFetch(`${main.url}/stalls`, { allowPrivate: true, timeoutMs: 300 })
    expect(res.status).toBe(200)
    expect((await failure(readAll(res.body))).code).toBe('TIMEOUT')
  })

  it('reports an unreachable port', async () => {
    const closed = await startHttpServer(() => {})
    const url = closed.url
    await closed.close()
    expect((await failure(safeFetch(url, { allowPrivate: true }))).code).toBe('UNREACHABLE')
  })

  it('drops credentials on a redirect to another origin and answers non-2xx statuses as they are', async () => {
    const res = await safeFetch(`${main.url}/echo-auth`, {
      allowPrivate: true,
      headers: { Authorization: 'Bearer abc' },
    })
    expect(JSON.parse((await readAll(res.body)).toString())).toEqual({
      authorization: 'Bearer abc',
      method: 'GET',
    })
    const missing = await safeFetch(`${main.url}/nothing`, { allowPrivate: true })
    expect(missing.status).toBe(404)
    await readAll(missing.body)
  })
})

describe('addressPolicy', () => {
  it('allows listed private blocks only, each family on its own', async () => {
    const { addressPolicy } = await import('../src/index')
    const allowed = addressPolicy(['10.8.0.0/16', '::1'])
    expect(allowed('10.8.3.4')).toBe(true)
    expect(allowed('10.9.0.1')).toBe(false)
    expect(allowed('::1')).toBe(true)
    expect(allowed('127.0.0.1')).toBe(false)
    expect(allowed('8.8.8.8')).toBe(true)
    expect(() => addressPolicy(['10.0.0.0/33'])).toThrow(/prefix/)
  })
})
