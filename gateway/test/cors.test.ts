import { existsSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import { type Browser, chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadGatewaySecurity } from '../src/environment'

// Browsers on another origin: a page served from a listed origin (another loopback port) calls the API with
// a bearer token; a page from an unlisted one is kept out by the browser. Real Chromium, real gateway.

const CHROMIUM = '/usr/bin/chromium'
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking']
const MISSING = `${CHROMIUM} is missing: install it with \`apt-get update && apt-get install -y chromium\``

let stack: TestStack<'core'>
let browser: Browser | undefined
const pages: Server[] = []
let allowedOrigin = ''
let otherOrigin = ''

async function pageServer(): Promise<string> {
  const server = createServer((_req, res) => {
    res
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      .end('<!doctype html><title>shop</title>')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  pages.push(server)
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`
}

beforeAll(async () => {
  allowedOrigin = await pageServer()
  otherOrigin = await pageServer()
  stack = await startTestStack({ only: ['core'], gateway: { corsOrigins: [allowedOrigin] } })
  if (existsSync(CHROMIUM)) browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await stack?.stop()
  for (const server of pages) await new Promise((resolve) => server.close(resolve))
})

/** Runs fetch(graphql) inside a page loaded from `origin`: the answer's JSON, or the browser's error. */
async function callFrom(origin: string): Promise<{ data?: unknown; error?: string }> {
  if (!browser) throw new Error(MISSING)
  const page = await browser.newPage()
  try {
    await page.goto(origin)
    return await page.evaluate(
      async ({ url, token }) => {
        try {
          const response = await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
            body: JSON.stringify({ query: '{ __typename }' }),
          })
          return { data: await response.json(), requestId: response.headers.get('x-request-id') }
        } catch (error) {
          return { error: String(error) }
        }
      },
      { url: stack.graphqlUrl, token: stack.tokenFor({ superuser: true }) },
    )
  } finally {
    await page.close()
  }
}

describe('CORS', () => {
  it('lets a page from a listed origin call the API with a bearer token', async () => {
    const answer = (await callFrom(allowedOrigin)) as { data?: unknown; requestId?: string | null }
    expect(answer).toMatchObject({ data: { data: { __typename: 'Query' } } })
    // Exposed: the page can read the request id it would quote in a support request.
    expect(answer.requestId).toBeTruthy()
  })

  it('keeps a page from another origin out', async () => {
    const answer = await callFrom(otherOrigin)
    expect(answer.data).toBeUndefined()
    expect(answer.error).toContain('TypeError')
  })

  it('answers preflights: 204 with the allowed headers for a listed origin, 403 without CORS headers else', async () => {
    const preflight = (origin: string) =>
      fetch(stack.graphqlUrl, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type',
        },
      })
    const allowed = await preflight(allowedOrigin)
    expect(allowed.status).toBe(204)
    expect(allowed.headers.get('access-control-allow-origin')).toBe(allowedOrigin)
    expect(allowed.headers.get('access-control-allow-headers')).toContain('authorization')
    expect(allowed.headers.get('access-control-allow-credentials')).toBeNull()
    const refused = await preflight(otherOrigin)
    expect(refused.status).toBe(403)
    expect(refused.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('is off unless origins are listed, and refuses a malformed origin setting', () => {
    expect(loadGatewaySecurity({}).corsOrigins).toEqual([])
    expect(
      loadGatewaySecurity({ GATEWAY_CORS_ORIGINS: 'https://a.example, http://127.0.0.1:5173' }).corsOrigins,
    ).toEqual(['https://a.example', 'http://127.0.0.1:5173'])
    for (const bad of ['*', 'https://a.example/path', 'a.example', 'ftp://a.example'])
      expect(() => loadGatewaySecurity({ GATEWAY_CORS_ORIGINS: bad })).toThrow(/GATEWAY_CORS_ORIGINS/)
  })
})
