import type { LookupFunction } from 'node:net'
import { PassThrough, pipeline, type Readable, Transform } from 'node:stream'
import { Agent, request } from 'undici'
import { type AllowPrivate, bareHost, type ResolvedAddress, resolveAllowed } from './address'
import { ConnectorError, networkError } from './errors'
import { connectorSettings } from './settings'

export interface SafeFetchOptions {
  /** Largest body accepted (default FETCH_MAX_BYTES): a larger declared length is refused before reading. */
  maxBytes?: number
  /** The whole exchange, redirects and body included (default FETCH_TIMEOUT_MS). */
  timeoutMs?: number
  /** Establishing one connection (default 10 s, at most timeoutMs). */
  connectTimeoutMs?: number
  /** Redirects followed (default 5); one more is TOO_MANY_REDIRECTS. */
  maxRedirects?: number
  /** Private addresses: `true` all, a list of addresses/CIDR blocks those only (default FETCH_ALLOW_PRIVATE). */
  allowPrivate?: AllowPrivate
  headers?: Record<string, string>
  method?: string
  body?: string | Buffer
}

export interface SafeFetchResponse {
  status: number
  headers: Headers
  /** The body, limited to maxBytes and the timeout: it errors with TOO_LARGE or TIMEOUT past them. */
  body: Readable
  /** The URL that answered, after redirects. */
  url: string
}

const REDIRECTS = new Set([301, 302, 303, 307, 308])
/** Headers that carry the caller's credentials: not sent on to another origin. */
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization', 'x-api-key']

function checkUrl(raw: string | URL): URL {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new ConnectorError('BAD_CONFIG', `"${String(raw).slice(0, 200)}" is not an absolute URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConnectorError('BAD_CONFIG', `${url.protocol} URLs are not fetched; use http:// or https://`)
  }
  if (url.username || url.password) {
    throw new ConnectorError(
      'BAD_CONFIG',
      'credentials in the URL are not accepted; send them as an Authorization header (username/password or token)',
    )
  }
  return url
}

/** A lookup that answers the addresses already resolved and checked, so the connection goes where we checked. */
function pinnedLookup(addresses: ResolvedAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family
    const usable = family === 4 || family === 6 ? addresses.filter((a) => a.family === family) : addresses
    const cb = callback as (error: NodeJS.ErrnoException | null, address: unknown, family?: number) => void
    if (usable.length === 0) {
      const error: NodeJS.ErrnoException = new Error(`no IPv${family} address`)
      error.code = 'ENOTFOUND'
      cb(error, undefined)
    } else if (options.all) {
      cb(null, usable)
    } else {
      cb(null, usable[0]!.address, usable[0]!.family)
    }
  }
}

/** Drops a body not to be read (destroying undici's body emits an abort error nobody waits for). */
function discard(body: Readable) {
  body.on('error', () => {})
  body.destroy()
}

function toHeaders(raw: Record<string, string | string[] | undefined>): Headers {
  const headers = new Headers()
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v)
  }
  return headers
}

function limitBytes(maxBytes: number, url: string): Transform {
  let seen = 0
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length
      if (seen > maxBytes) {
        callback(new ConnectorError('TOO_LARGE', `${url}: the body is larger than ${maxBytes} bytes`))
      } else {
        callback(null, chunk)
      }
    },
  })
}

/**
 * An HTTP(S) request to the outside that cannot be turned against the network it runs in: the host is resolved
 * here and the connection pinned to the checked addresses (no second resolution to rebind), every redirect is
 * checked again, bodies are limited while they stream and the whole exchange has a deadline.
 */
export async function safeFetch(url: string, o: SafeFetchOptions = {}): Promise<SafeFetchResponse> {
  const settings = connectorSettings()
  const maxBytes = o.maxBytes ?? settings.fetchMaxBytes
  const timeoutMs = o.timeoutMs ?? settings.fetchTimeoutMs
  const connectTimeoutMs = Math.min(o.connectTimeoutMs ?? 10_000, timeoutMs)
  const maxRedirects = o.maxRedirects ?? 5
  const allowPrivate = o.allowPrivate ?? settings.allowPrivate

  let current = checkUrl(url)
  let method = (o.method ?? 'GET').toUpperCase()
  let body = o.body
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(o.headers ?? {})) headers[name.toLowerCase()] = value

  const controller = new AbortController()
  let onTimeout: (() => void) | undefined
  const timer = setTimeout(() => {
    const error = new ConnectorError(
      'TIMEOUT',
      `${current.origin}: no complete answer within ${timeoutMs} ms`,
    )
    controller.abort(error)
    onTimeout?.()
  }, timeoutMs)
  timer.unref()
  let agent: Agent | undefined
  const release = () => {
    clearTimeout(timer)
    agent?.destroy().catch(() => {})
  }

  try {
    for (let hop = 0; ; hop++) {
      const addresses = await resolveAllowed(current.hostname, allowPrivate)
      if (controller.signal.aborted) throw controller.signal.reason
      agent?.destroy().catch(() => {})
      agent = new Agent({
        connect: { lookup: pinnedLookup(addresses), timeout: connectTimeoutMs },
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        connections: 1,
        pipelining: 0,
      })
      let response: Awaited<ReturnType<typeof request>>
      try {
        response = await request(current, {
          dispatcher: agent,
          method: method as 'GET',
          headers,
          body: body ?? null,
          signal: controller.signal,
        })
      } catch (error) {
        if (controller.signal.aborted) throw controller.signal.reason
        throw (
          networkError(error, `${bareHost(current.host)}`) ??
          new ConnectorError('PROTOCOL', `${current.origin}: ${(error as Error).message}`, { cause: error })
        )
      }
      const status = response.statusCode
      const location = response.headers.location
      if (REDIRECTS.has(status) && typeof location === 'string') {
        discard(response.body)
        if (hop >= maxRedirects) {
          throw new ConnectorError(
            'TOO_MANY_REDIRECTS',
            `${url}: more than ${maxRedirects} redirects (last to ${current.href})`,
          )
        }
        let next: URL
        try {
          next = new URL(location, current)
        } catch {
          throw new ConnectorError('PROTOCOL', `${current.href}: redirect to an invalid location`)
        }
        next = checkUrl(next)
        if (next.origin !== current.origin) for (const name of CREDENTIAL_HEADERS) delete headers[name]
        if (status === 303 || ((status === 301 || status === 302) && method === 'POST')) {
          if (method !== 'HEAD') method = 'GET'
          body = undefined
          delete headers['content-type']
          delete headers['content-length']
        }
        current = next
        continue
      }

      const declared = Number(response.headers['content-length'])
      if (Number.isFinite(declared) && declared > maxBytes) {
        discard(response.body)
        throw new ConnectorError(
          'TOO_LARGE',
          `${current.href}: the body is ${declared} bytes; at most ${maxBytes} are accepted`,
        )
      }
      const limited = limitBytes(maxBytes, current.href)
      const out = new PassThrough({ highWaterMark: 64 * 1024 })
      onTimeout = () => out.destroy(controller.signal.reason as Error)
      pipeline(response.body, limited, out, (error) => {
        if (error && !out.destroyed) {
          out.destroy(
            controller.signal.aborted
              ? (controller.signal.reason as Error)
              : (networkError(error, current.host) ?? error),
          )
        }
      })
      out.once('close', release)
      return { status, headers: toHeaders(response.headers), body: out, url: current.href }
    }
  } catch (error) {
    release()
    throw error
  }
}
