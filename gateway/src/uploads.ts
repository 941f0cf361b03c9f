import type { IncomingMessage, ServerResponse } from 'node:http'
import { PassThrough, type Readable } from 'node:stream'
import { ErrorCode, requestId, sendJson } from '@pm/service-kit'
import {
  discardUpload,
  type Storage,
  StorageLimitError,
  saveUpload,
  type UploadInfo,
  uploadOwner,
} from '@pm/storage'
import busboy from 'busboy'
import type { Authentication } from './auth'
import { LimitCode } from './limits'
import type { CallerKey, RateDecision, RateLimiter } from './rate-limit'

export { DEFAULT_UPLOAD_MAX_BYTES } from './environment'

/** After a refusal, the rest of a body is read and dropped up to this much, so the client gets to read the answer. */
const DRAIN_BYTES = 16 * 1_048_576

/** Content types a browser may send cross-site without a preflight (as Apollo's CSRF prevention lists them). */
const SIMPLE_TYPES = new Set(['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'])
const PREFLIGHT_HEADERS = ['x-apollo-operation-name', 'apollo-require-preflight']

export interface UploadRouteOptions {
  storage: Storage
  authenticate: (req: IncomingMessage) => Promise<Authentication>
  maxBytes: number
  rateLimiter?: RateLimiter
  caller?: CallerKey
}

class UploadRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(message)
  }
}

function refuse(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  extensions: Record<string, unknown> = {},
  headers: Record<string, string> = {},
) {
  sendJson(
    res,
    status,
    { errors: [{ message, extensions: { code, ...extensions } }] },
    {
      'x-request-id': requestId(req),
      ...headers,
    },
  )
}

function rateHeaders(res: ServerResponse, decision: RateDecision) {
  res.setHeader('ratelimit-limit', String(decision.limit))
  res.setHeader('ratelimit-remaining', String(decision.remaining))
  res.setHeader('ratelimit-reset', String(decision.resetSeconds))
}

/** The essence of a Content-Type (`text/csv; charset=…` → `text/csv`), lower-case; undefined when absent. */
function mediaType(req: IncomingMessage): string | undefined {
  const raw = req.headers['content-type']
  return raw ? raw.split(';')[0]!.trim().toLowerCase() : undefined
}

/** A file name from Content-Disposition (`filename*=UTF-8''…` preferred over `filename="…"`). */
export function dispositionFilename(header: string | undefined): string | undefined {
  if (!header) return undefined
  const extended = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(header)
  if (extended) {
    try {
      return decodeURIComponent(extended[1]!.trim())
    } catch {}
  }
  const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]+))/.exec(header)
  return plain ? (plain[1]?.replace(/\\(.)/g, '$1') ?? plain[2]?.trim()) : undefined
}

/** Reads and drops the rest of the request (bounded): true when it all arrived. */
function drain(req: IncomingMessage): Promise<boolean> {
  if (req.readableEnded) return Promise.resolve(true)
  return new Promise((resolve) => {
    let size = 0
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > DRAIN_BYTES) finish(false)
    }
    const finish = (complete: boolean) => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('close', onClose)
      resolve(complete)
    }
    const onEnd = () => finish(true)
    const onClose = () => finish(req.readableEnded)
    req.on('data', onData)
    req.once('end', onEnd)
    req.once('close', onClose)
    req.resume()
  })
}

/** The one file of a multipart/form-data body, streamed into storage as it arrives. */
function saveMultipart(
  req: IncomingMessage,
  save: (
    body: Readable,
    filename: string | undefined,
    declaredType: string | undefined,
  ) => Promise<UploadInfo>,
  discard: (id: string) => Promise<void>,
): Promise<UploadInfo> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy
    try {
      parser = busboy({
        headers: req.headers,
        limits: { files: 1, fields: 20, fieldSize: 65_536, parts: 40 },
      })
    } catch {
      return reject(new UploadRefusal(400, 'BAD_REQUEST', 'The multipart/form-data body has no boundary'))
    }
    let saving: Promise<UploadInfo> | undefined
    let failed = false
    const fail = (error: unknown) => {
      if (failed) return
      failed = true
      req.unpipe(parser)
      // A file already on its way to storage is not kept: the request as a whole is refused.
      saving?.then((info) => discard(info.id)).catch(() => {})
      reject(error)
    }
    parser.on('file', (_name, stream, info) => {
      saving = save(stream, info.filename, info.mimeType)
      saving.catch((error) => {
        stream.resume()
        fail(error)
      })
    })
    parser.on('filesLimit', () =>
      fail(new UploadRefusal(400, 'BAD_REQUEST', 'Send one file per upload request')),
    )
    parser.on('error', () =>
      fail(new UploadRefusal(400, 'BAD_REQUEST', 'The multipart/form-data body is malformed')),
    )
    parser.on('close', () => {
      if (failed) return
      if (!saving)
        return fail(new UploadRefusal(400, 'BAD_REQUEST', 'The multipart/form-data body holds no file part'))
      saving.then(resolve, fail)
    })
    // A client that goes away mid-file: the stored part is dropped.
    req.once('close', () => {
      if (!req.readableEnded) parser.destroy(new Error('the client closed the connection during the upload'))
    })
    req.pipe(parser)
  })
}

/**
 * POST /uploads: a file into storage, for a caller authenticated as on /graphql (bearer token or API key;
 * anonymous callers are refused), counted by the same rate limit and under the same CSRF rule (a
 * multipart/form-data, text/plain or type-less body needs an `apollo-require-preflight` or
 * `x-apollo-operation-name` header). The body is the raw file (name in `?filename=` or Content-Disposition)
 * or multipart/form-data with one file part; it is streamed to storage, never held whole, and refused
 * with 413 past the limit (nothing is kept). Answers 201 with the UploadInfo.
 */
export function uploadsRoute(options: UploadRouteOptions) {
  const { storage, maxBytes, rateLimiter } = options
  return async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    if (req.method !== 'POST')
      return refuse(req, res, 405, 'METHOD_NOT_ALLOWED', 'Upload a file with POST', {}, { allow: 'POST' })
    const auth = await options.authenticate(req)
    const caller = options.caller ? await options.caller(req) : auth.rateKey
    const limit = (auth.ok && auth.rateLimitPerMinute) || rateLimiter?.perMinute || 0
    if (rateLimiter && limit > 0) {
      const decision = await rateLimiter.hit(caller, 1, limit)
      rateHeaders(res, decision)
      if (!decision.allowed) {
        return refuse(
          req,
          res,
          429,
          LimitCode.RATE_LIMITED,
          `Too many requests: more than ${decision.limit} a minute from this caller; retry in ${decision.resetSeconds} s`,
          { limit: decision.limit, retryAfter: decision.resetSeconds },
          { 'retry-after': String(decision.resetSeconds) },
        )
      }
    }
    if (!auth.ok) {
      const challenge: Record<string, string> =
        auth.status === 401 ? { 'www-authenticate': 'Bearer realm="uploads"' } : {}
      return refuse(req, res, auth.status, auth.code, auth.message, {}, challenge)
    }
    const owner = uploadOwner(auth.caller)
    if (!owner) {
      return refuse(
        req,
        res,
        401,
        ErrorCode.UNAUTHENTICATED,
        'Sign in (bearer token) or send an API key to upload files',
        {},
        {
          'www-authenticate': 'Bearer realm="uploads"',
        },
      )
    }
    const type = mediaType(req)
    if ((type === undefined || SIMPLE_TYPES.has(type)) && !PREFLIGHT_HEADERS.some((h) => req.headers[h])) {
      return refuse(
        req,
        res,
        400,
        'BAD_REQUEST',
        `This upload has been blocked as a potential cross-site request forgery: send a Content-Type other than ${[...SIMPLE_TYPES].join(', ')}, or an "apollo-require-preflight: true" header`,
      )
    }
    const tooLarge = () =>
      new UploadRefusal(
        413,
        LimitCode.PAYLOAD_TOO_LARGE,
        `The file is larger than the upload limit of ${maxBytes} bytes`,
        { limit: maxBytes },
      )
    if (Number(req.headers['content-length']) > maxBytes + (type === 'multipart/form-data' ? 65_536 : 0)) {
      return refuse(
        req,
        res,
        413,
        LimitCode.PAYLOAD_TOO_LARGE,
        tooLarge().message,
        { limit: maxBytes },
        {
          connection: 'close',
        },
      )
    }

    const save = (body: Readable, filename: string | undefined, declaredType: string | undefined) =>
      saveUpload(storage, body, {
        owner,
        filename: filename ?? '',
        maxBytes,
        ...(declaredType ? { declaredType } : {}),
      })
    try {
      let info: UploadInfo
      if (type === 'multipart/form-data')
        info = await saveMultipart(req, save, (id) => discardUpload(storage, id))
      else {
        // Through a pass-through: a refused body stops being stored without destroying the request.
        const body = new PassThrough()
        req.once('close', () => {
          if (!req.readableEnded)
            body.destroy(new Error('the client closed the connection during the upload'))
        })
        req.pipe(body)
        const filename =
          url.searchParams.get('filename') ?? dispositionFilename(req.headers['content-disposition'])
        try {
          info = await save(body, filename, type)
        } finally {
          req.unpipe(body)
        }
      }
      if (info.size === 0) {
        await discardUpload(storage, info.id)
        throw new UploadRefusal(400, 'BAD_REQUEST', 'The file is empty')
      }
      sendJson(res, 201, info, { 'x-request-id': requestId(req), location: `/uploads/${info.id}` })
    } catch (error) {
      const refusal =
        error instanceof UploadRefusal ? error : error instanceof StorageLimitError ? tooLarge() : undefined
      // Nobody is left to answer.
      if (!req.readableEnded && req.destroyed) return
      if (!refusal) throw error
      // The client is still sending: read (a bounded amount of) the rest so it can read the answer.
      const complete = await drain(req)
      if (!complete) res.on('finish', () => req.socket.destroy())
      refuse(
        req,
        res,
        refusal.status,
        refusal.code,
        refusal.message,
        refusal.extensions,
        complete ? {} : { connection: 'close' },
      )
    }
  }
}
