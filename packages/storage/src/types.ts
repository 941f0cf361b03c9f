import type { Readable } from 'node:stream'

export interface ObjectInfo {
  key: string
  size: number
  contentType?: string
  /** Hex SHA-256 of the content, when the driver recorded it (always on put's answer). */
  sha256?: string
  lastModified: Date
  /** User metadata given to put (keys lower-case). Empty in list()'s answers. */
  metadata: Record<string, string>
}

export interface PutOptions {
  contentType?: string
  /** Keys: lower-case letters, digits and "-"; values: printable ASCII (S3 sends them as HTTP headers). */
  metadata?: Record<string, string>
  /** More bytes than this fail the put with StorageLimitError, and nothing is stored. */
  maxBytes?: number
}

export interface UrlOptions {
  /** Default 3600 s (at most 7 days). */
  expiresInSeconds?: number
  /** Served as an attachment with this file name. */
  filename?: string
}

export interface Storage {
  readonly driver: 'local' | 's3'
  put(
    key: string,
    body: Readable | Buffer | string,
    opts?: PutOptions,
  ): Promise<ObjectInfo & { sha256: string }>
  /**
   * The object at `from` also under `to` (replacing what is there), with `opts`' content type and metadata;
   * `from` stays. No bytes pass through this process: local, a hard link (a copy where the file system has
   * none); S3, a server-side copy (objects up to 5 GB). StorageNotFoundError when `from` is missing.
   */
  copy(
    from: string,
    to: string,
    opts?: Omit<PutOptions, 'maxBytes'>,
  ): Promise<ObjectInfo & { sha256: string }>
  /** StorageNotFoundError when missing. `end` is inclusive. */
  get(key: string, range?: { start: number; end?: number }): Promise<Readable>
  head(key: string): Promise<ObjectInfo | null>
  /** A missing key is no error. */
  delete(key: string): Promise<void>
  /** Every object whose key starts with `prefix` (order unspecified); metadata is not read. */
  list(prefix: string): AsyncIterable<ObjectInfo>
  /** A URL the object can be downloaded from until it expires (local: signed, served by the gateway's /files/). */
  url(key: string, opts?: UrlOptions): Promise<string>
}

export class StorageNotFoundError extends Error {
  override name = 'StorageNotFoundError'
  readonly code = 'NOT_FOUND'
  constructor(readonly key: string) {
    super(`no stored object "${key}"`)
  }
}

export class StorageLimitError extends Error {
  override name = 'StorageLimitError'
  readonly code = 'PAYLOAD_TOO_LARGE'
  constructor(readonly maxBytes: number) {
    super(`the content is larger than the limit of ${maxBytes} bytes`)
  }
}

/** A key that could escape its place: empty, absolute, with "." or ".." segments, backslashes or control characters. */
export class StorageKeyError extends Error {
  override name = 'StorageKeyError'
  readonly code = 'BAD_KEY'
}

export class StorageConfigError extends Error {
  override name = 'StorageConfigError'
}

export const DEFAULT_URL_EXPIRY_SECONDS = 3600
export const MAX_URL_EXPIRY_SECONDS = 7 * 24 * 3600
