import type { IncomingMessage, ServerResponse } from 'node:http'
import { pipeline } from 'node:stream/promises'
import { checkKey } from './keys'
import { LocalStorage } from './local'
import { contentDisposition } from './s3'
import { FILES_PATH, verifyFileUrl } from './signing'
import type { Storage } from './types'

function refuse(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
) {
  const body = JSON.stringify({ errors: [{ message, extensions: { code } }] })
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers })
  res.end(body)
}

type Range = { start: number; end: number } | 'unsatisfiable' | undefined

/** One `bytes=` range (`a-b`, `a-`, `-n`); several ranges or a malformed header are ignored (full answer). */
export function parseRange(header: string | undefined, size: number): Range {
  const match = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null
  if (!match) return undefined
  const [, a, b] = match
  if (!a && !b) return undefined
  if (!a) {
    const suffix = Number(b)
    if (suffix === 0) return 'unsatisfiable'
    return size === 0 ? 'unsatisfiable' : { start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = Number(a)
  const end = b ? Math.min(Number(b), size - 1) : size - 1
  if (start >= size || (b && Number(b) < start)) return 'unsatisfiable'
  return { start, end }
}

/**
 * Serves the local driver's signed download URLs under /files/<key>: checks the signature and expiry,
 * then streams the object with its ETag (its SHA-256), Cache-Control up to the URL's expiry, and single
 * byte ranges. With the S3 driver download URLs point at S3, so this answers 404.
 */
export function storageDownloadHandler(storage: Storage) {
  return async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return refuse(res, 405, 'METHOD_NOT_ALLOWED', 'Downloads are GET or HEAD requests', {
        allow: 'GET, HEAD',
      })
    const secret = storage instanceof LocalStorage ? storage.urlSecret : undefined
    if (!secret || !url.pathname.startsWith(FILES_PATH)) return refuse(res, 404, 'NOT_FOUND', 'No such file')
    let key: string
    try {
      key = checkKey(url.pathname.slice(FILES_PATH.length).split('/').map(decodeURIComponent).join('/'))
    } catch {
      return refuse(res, 404, 'NOT_FOUND', 'No such file')
    }
    const verified = verifyFileUrl(secret, key, url.searchParams)
    if (!verified.ok) {
      return verified.reason === 'expired'
        ? refuse(res, 403, 'FORBIDDEN', 'This download link has expired: ask for a new one')
        : refuse(res, 403, 'FORBIDDEN', 'This download link is not valid (its signature does not match)')
    }
    const info = await storage.head(key)
    if (!info) return refuse(res, 404, 'NOT_FOUND', 'No such file')
    const etag = `"${info.sha256 ?? `${info.size.toString(16)}-${info.lastModified.getTime().toString(16)}`}"`
    const maxAge = Math.max(0, verified.expires - Math.floor(Date.now() / 1000))
    const headers: Record<string, string> = {
      etag,
      'last-modified': info.lastModified.toUTCString(),
      'cache-control': `private, max-age=${maxAge}`,
      'accept-ranges': 'bytes',
      'content-type': info.contentType ?? 'application/octet-stream',
      'x-content-type-options': 'nosniff',
      ...(verified.filename ? { 'content-disposition': contentDisposition(verified.filename) } : {}),
    }
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers)
      return void res.end()
    }
    const ifRange = req.headers['if-range']
    const range = ifRange && ifRange !== etag ? undefined : parseRange(req.headers.range, info.size)
    if (range === 'unsatisfiable')
      return refuse(res, 416, 'RANGE_NOT_SATISFIABLE', 'The requested range is outside the file', {
        'content-range': `bytes */${info.size}`,
      })
    if (range) {
      headers['content-range'] = `bytes ${range.start}-${range.end}/${info.size}`
      headers['content-length'] = String(range.end - range.start + 1)
    } else headers['content-length'] = String(info.size)
    res.writeHead(range ? 206 : 200, headers)
    if (req.method === 'HEAD') return void res.end()
    const body = await storage.get(key, range)
    // A client that goes away mid-download is not an error of ours.
    await pipeline(body, res).catch(() => body.destroy())
  }
}
