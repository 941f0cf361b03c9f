import { resolve } from 'node:path'
import { parseAllowList } from './address'

/** Where files come from on this server and how far outbound connections may go. */
export interface ConnectorSettings {
  /** The directory server-side paths are read under (IMPORT_FILES_ROOT), absolute. */
  filesRoot: string
  /**
   * FETCH_ALLOW_PRIVATE: `true` lets outbound connections reach loopback, private, link-local … addresses;
   * a list of addresses or CIDR blocks lets only those through; `false` (the default) refuses them all.
   */
  allowPrivate: boolean | string[]
  /** FETCH_TIMEOUT_MS: the longest one HTTP(S) download may take, headers and body. */
  fetchTimeoutMs: number
  /** FETCH_MAX_BYTES: the largest body an HTTP(S) download may have. */
  fetchMaxBytes: number
}

function positiveInteger(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name]?.trim()
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`)
  return value
}

export function parseAllowPrivate(raw: string | undefined): boolean | string[] {
  const value = raw?.trim().toLowerCase()
  if (value === undefined || value === '' || value === 'false' || value === '0' || value === 'no')
    return false
  if (value === 'true' || value === '1' || value === 'yes') return true
  const list = value.split(',').map((s) => s.trim())
  try {
    parseAllowList(list)
  } catch (error) {
    throw new Error(
      `FETCH_ALLOW_PRIVATE must be true, false or a comma-separated list of addresses and CIDR blocks: ${(error as Error).message}`,
    )
  }
  return list
}

export function loadConnectorSettings(env: NodeJS.ProcessEnv = process.env): ConnectorSettings {
  return {
    filesRoot: resolve(env.IMPORT_FILES_ROOT?.trim() || '.data/import-files'),
    allowPrivate: parseAllowPrivate(env.FETCH_ALLOW_PRIVATE),
    fetchTimeoutMs: positiveInteger(env, 'FETCH_TIMEOUT_MS', 300_000),
    fetchMaxBytes: positiveInteger(env, 'FETCH_MAX_BYTES', 1024 * 1024 * 1024),
  }
}

/** The settings of the process environment, read at each use (a test or a CLI may set them late). */
export function connectorSettings(): ConnectorSettings {
  return loadConnectorSettings(process.env)
}
