import { createHash } from 'node:crypto'
import { basename } from 'node:path'
import type { Readable } from 'node:stream'
import {
  ConnectorError,
  type ConnectorSettings,
  connectorFromConfig,
  localPathSource,
  safeFetch,
} from '@pm/connectors'
import { badUserInput, type Caller, ErrorCode, MAX_URL_LENGTH, userError } from '@pm/service-kit'
import { openUpload, SERVICE_OWNER, type Storage, UploadNotFoundError, uploadKey } from '@pm/storage'
import type { GraphQLError } from 'graphql'
import type { ImportConfigRow } from '../db/mappers'
import type { ImportSourceInput } from '../generated/graphql'

/** Where an import reads its file (import_jobs.source). */
export type ImportSource =
  | { kind: 'upload'; uploadId: string }
  | { kind: 'path'; path: string }
  | { kind: 'url'; url: string }
  | { kind: 'connection' }

const MAX_PATH = 1_024

/** Exactly one of uploadId, path, url, fromConnection: true. */
export function checkSource(input: ImportSourceInput, field = 'source'): ImportSource {
  const given = [
    input.uploadId != null && 'uploadId',
    input.path != null && 'path',
    input.url != null && 'url',
    input.fromConnection === true && 'fromConnection',
  ].filter(Boolean)
  if (given.length !== 1) {
    throw badUserInput(
      `${field}: give exactly one of uploadId, path, url or fromConnection: true (got ${given.length === 0 ? 'none' : given.join(', ')})`,
      { field },
    )
  }
  if (input.uploadId != null) return { kind: 'upload', uploadId: input.uploadId }
  if (input.path != null) {
    const path = input.path.trim()
    if (path === '' || path.length > MAX_PATH) {
      throw badUserInput(`${field}.path must be a file path of 1 to ${MAX_PATH} characters`, {
        field: `${field}.path`,
      })
    }
    return { kind: 'path', path }
  }
  if (input.url != null) {
    let url: URL
    try {
      url = new URL(input.url.trim())
    } catch {
      throw badUserInput(`${field}.url is not a URL`, { field: `${field}.url` })
    }
    if (!/^https?:$/.test(url.protocol) || input.url.length > MAX_URL_LENGTH) {
      throw badUserInput(`${field}.url must be an http(s) URL of at most ${MAX_URL_LENGTH} characters`, {
        field: `${field}.url`,
      })
    }
    return { kind: 'url', url: url.toString() }
  }
  return { kind: 'connection' }
}

/** The owner string uploads are stored under for this caller. */
export function uploadOwner(caller: Caller): string {
  if (caller.kind === 'user' && caller.userId) return `user:${caller.userId}`
  if (caller.kind === 'partner' && caller.apiKeyId) return `apikey:${caller.apiKeyId}`
  return SERVICE_OWNER
}

export interface OpenedFile {
  stream: Readable
  fileName: string
  /** import_files.source */
  origin: 'upload' | 'local' | 'http' | 'sftp' | 'ftp'
  size?: number
  sha256?: string
  mimeType?: string
  /** Set for an upload: where storage keeps it. */
  objectKey?: string
  close(): Promise<void>
}

export interface SourceDeps {
  storage: Storage
  settings: ConnectorSettings
}

const connectionType = (config: ImportConfigRow) =>
  String((config.connection_config as { type?: unknown } | null)?.type ?? '').toLowerCase()

/**
 * Opens the source's file for reading (the caller closes it): an upload (of `owner`, or any for the service),
 * a path under IMPORT_FILES_ROOT, a URL through safeFetch (private addresses as FETCH_ALLOW_PRIVATE says), or
 * the newest file of the configuration's connection that matches its file pattern.
 */
export async function openFile(
  deps: SourceDeps,
  config: ImportConfigRow,
  source: ImportSource,
  owner: string,
): Promise<OpenedFile> {
  switch (source.kind) {
    case 'upload': {
      const upload = await openUpload(deps.storage, source.uploadId, owner)
      return {
        stream: await upload.stream(),
        fileName: upload.info.filename,
        origin: 'upload',
        size: upload.info.size,
        sha256: upload.info.sha256,
        mimeType: upload.info.contentType,
        objectKey: uploadKey(source.uploadId),
        close: async () => {},
      }
    }
    case 'path': {
      const local = localPathSource(deps.settings.filesRoot)
      const stream = await local.get(source.path)
      return { stream, fileName: basename(source.path), origin: 'local', close: () => local.close() }
    }
    case 'url': {
      const response = await safeFetch(source.url, {
        allowPrivate: deps.settings.allowPrivate,
        timeoutMs: deps.settings.fetchTimeoutMs,
        maxBytes: deps.settings.fetchMaxBytes,
      })
      if (response.status < 200 || response.status > 299) {
        response.body.destroy()
        throw new ConnectorError('HTTP_STATUS', `the URL answered HTTP ${response.status}`)
      }
      const length = Number(response.headers.get('content-length'))
      const name = decodeURIComponent(new URL(response.url).pathname.split('/').pop() ?? '') || 'download'
      return {
        stream: response.body,
        fileName: name,
        origin: 'http',
        ...(Number.isSafeInteger(length) && length >= 0 ? { size: length } : {}),
        ...(response.headers.get('content-type') ? { mimeType: response.headers.get('content-type')! } : {}),
        close: async () => {},
      }
    }
    case 'connection': {
      const connector = connectorFromConfig(config.connection_config)
      try {
        const files = await connector.list(config.file_pattern ?? undefined)
        const newest = files[0]
        if (!newest) {
          throw new ConnectorError(
            'NOT_FOUND',
            `no file on the connection matches ${config.file_pattern ? `"${config.file_pattern}"` : 'the configuration'}`,
          )
        }
        const stream = await connector.get(newest.name)
        const type = connectionType(config)
        return {
          stream,
          fileName: basename(newest.name),
          origin:
            type === 'sftp'
              ? 'sftp'
              : type === 'ftp' || type === 'ftps'
                ? 'ftp'
                : type === 'http'
                  ? 'http'
                  : 'local',
          ...(newest.size !== undefined ? { size: newest.size } : {}),
          close: () => connector.close(),
        }
      } catch (error) {
        await connector.close().catch(() => {})
        throw error
      }
    }
  }
}

/** SHA-256 and size of a stream, read to its end. */
export async function hashStream(stream: Readable) {
  const hash = createHash('sha256')
  let size = 0
  for await (const chunk of stream) {
    hash.update(chunk as Buffer)
    size += (chunk as Buffer).length
  }
  return { sha256: hash.digest('hex'), size }
}

/** A source failure as the GraphQL error a caller of startImport / previewImport gets. */
export function sourceError(error: unknown, source: ImportSource): GraphQLError | undefined {
  const field =
    source.kind === 'upload'
      ? 'source.uploadId'
      : source.kind === 'path'
        ? 'source.path'
        : source.kind === 'url'
          ? 'source.url'
          : 'source.fromConnection'
  if (error instanceof UploadNotFoundError) {
    return userError(ErrorCode.NOT_FOUND, `${field}: ${error.message}`, { field })
  }
  if (error instanceof ConnectorError) {
    const code = error.code === 'NOT_FOUND' ? ErrorCode.NOT_FOUND : ErrorCode.BAD_USER_INPUT
    return userError(code, `${field}: ${error.message}`, { field, reason: error.code })
  }
  return undefined
}
