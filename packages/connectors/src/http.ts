import type { Readable } from 'node:stream'
import type { AllowPrivate } from './address'
import { ConnectorError } from './errors'
import { type SafeFetchOptions, safeFetch } from './fetch'
import type { RemoteFile, SourceConnector } from './types'

export interface HttpSourceConfig {
  url: string
  method?: 'GET' | 'POST'
  username?: string
  password?: string
  /** Sent as "Authorization: Bearer <token>". */
  token?: string
  headers?: Record<string, string>
  timeoutMs?: number
  maxBytes?: number
  allowPrivate?: AllowPrivate
}

/** The name an HTTP resource is listed under: its last path segment ("latest", "catalogue.csv"). */
function resourceName(url: URL): string {
  const segment = url.pathname.split('/').filter(Boolean).pop()
  try {
    return segment ? decodeURIComponent(segment) : url.hostname
  } catch {
    return segment ?? url.hostname
  }
}

/**
 * One HTTP(S) resource as a source, fetched with safeFetch. `list` answers that one resource whatever the
 * pattern (a feed URL such as /catalogue/latest is rarely named like a file); `get` fetches it, a 404 being
 * NOT_FOUND, a 401/403 AUTH and any other non-2xx answer HTTP_STATUS.
 */
export function httpSource(config: HttpSourceConfig): SourceConnector {
  let url: URL
  try {
    url = new URL(config.url)
  } catch {
    throw new ConnectorError('BAD_CONFIG', 'url must be an absolute http:// or https:// URL')
  }
  const name = resourceName(url)
  const headers: Record<string, string> = { ...config.headers }
  if (config.token) headers.authorization = `Bearer ${config.token}`
  else if (config.username !== undefined) {
    headers.authorization = `Basic ${Buffer.from(`${config.username}:${config.password ?? ''}`).toString('base64')}`
  }
  const options: SafeFetchOptions = { method: config.method ?? 'GET', headers }
  if (config.timeoutMs !== undefined) options.timeoutMs = config.timeoutMs
  if (config.maxBytes !== undefined) options.maxBytes = config.maxBytes
  if (config.allowPrivate !== undefined) options.allowPrivate = config.allowPrivate

  return {
    async list(): Promise<RemoteFile[]> {
      return [{ name }]
    },
    async get(requested: string): Promise<Readable> {
      if (requested !== name)
        throw new ConnectorError('NOT_FOUND', `this http connection serves "${name}" only`)
      const response = await safeFetch(url.href, options)
      if (response.status >= 200 && response.status < 300) return response.body
      response.body.on('error', () => {})
      response.body.destroy()
      const where = `${url.origin}${url.pathname}`
      if (response.status === 404 || response.status === 410) {
        throw new ConnectorError('NOT_FOUND', `${where} answered ${response.status}`, {
          status: response.status,
        })
      }
      if (response.status === 401 || response.status === 403) {
        throw new ConnectorError('AUTH', `${where} refused the credentials (${response.status})`, {
          status: response.status,
        })
      }
      throw new ConnectorError('HTTP_STATUS', `${where} answered ${response.status}`, {
        status: response.status,
      })
    },
    async close() {},
  }
}
