import type { IncomingMessage, ServerResponse } from 'node:http'
import { gzipSync } from 'node:zlib'

/**
 * @graphql-yoga/render-graphiql holds the whole page as source text: about 28 MB of heap once loaded. Loaded
 * on the first page asked for, so a gateway that serves none (production, GraphiQL off) never holds it.
 */
let renderer: Promise<typeof import('@graphql-yoga/render-graphiql')> | undefined
const loadRenderer = () => {
  renderer ??= import('@graphql-yoga/render-graphiql')
  return renderer
}

/**
 * The page may load nothing from outside the gateway: everything GraphiQL needs (its script, styles,
 * Monaco's workers as blob: URLs, the favicon as a data: URL) is inlined by @graphql-yoga/render-graphiql.
 * The policy makes the browser refuse any CDN load, should a later version of the package add one.
 */
export const GRAPHIQL_CSP = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-inline' 'unsafe-eval' blob:",
  "worker-src 'self' blob:",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ')

/** A browser navigating to /graphql asks for HTML; API clients (GET or POST) ask for JSON. */
export function wantsGraphiQL(req: IncomingMessage): boolean {
  return req.method === 'GET' && (req.headers.accept ?? '').includes('text/html')
}

export async function renderGraphiQLPage(endpoint: string, defaultQuery?: string): Promise<string> {
  const { renderGraphiQL } = await loadRenderer()
  return renderGraphiQL({
    endpoint,
    title: 'Products manager · GraphiQL',
    ...(defaultQuery ? { defaultQuery } : {}),
    // The gateway answers over plain HTTP POST; subscriptions are not served.
    method: 'POST',
    inputValueDeprecation: true,
    schemaDescription: true,
  })
}

/** Serves GraphiQL; the page (about 9 MB, all inlined) is rendered and gzipped once, on first use. */
export function graphiqlHandler(endpoint: string) {
  let cached: { html: Buffer; gzip: Buffer } | undefined
  return async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const headers = {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': GRAPHIQL_CSP,
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-cache',
      vary: 'accept, accept-encoding',
    }
    // ?query=… opens GraphiQL on that operation (links shared between developers).
    const query = url.searchParams.get('query')
    if (query) {
      const page = await renderGraphiQLPage(endpoint, query)
      res.writeHead(200, headers)
      res.end(page)
      return
    }
    if (!cached) {
      const html = Buffer.from(await renderGraphiQLPage(endpoint))
      cached = { html, gzip: gzipSync(html) }
    }
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))
    res.writeHead(200, { ...headers, ...(gzip ? { 'content-encoding': 'gzip' } : {}) })
    res.end(gzip ? cached.gzip : cached.html)
  }
}
