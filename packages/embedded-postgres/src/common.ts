import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

export interface EmbeddedServerOptions {
  /** Absolute path; created if missing; kept across runs (persistent). */
  dataDir: string
  port: number
  /** Progress lines. Defaults to nothing; postgres's own output goes to a log file and is shown only on failure. */
  log?: (message: string) => void
}

export interface EmbeddedServer {
  /** postgres://postgres:<password>@127.0.0.1:<port>/postgres */
  url: string
  port: number
  dataDir: string
  /** false when we attached to a server already running from the same dataDir */
  ownedByThisProcess: boolean
  /** Clean fast shutdown if owned; no-op otherwise; idempotent. */
  stop(): Promise<void>
}

export class EmbeddedPostgresError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'EmbeddedPostgresError'
  }
}

export const USER = 'postgres'
export const PASSWORD = 'postgres'
export const HOST = '127.0.0.1'
export const PORT_ENV_VAR = 'EMBEDDED_PG_PORT'
/** Written next to PG_VERSION in the data directory; holds postgres's stderr. */
export const SERVER_LOG_FILE = 'embedded-postgres.log'
export const SERVER_LOG_MAX_BYTES = 5 * 1024 * 1024

export const INITDB_TIMEOUT_MS = 60_000
export const START_TIMEOUT_MS = 30_000
export const STOP_TIMEOUT_MS = 15_000
export const LOCK_TIMEOUT_MS = INITDB_TIMEOUT_MS + START_TIMEOUT_MS
export const PORT_CHECK_TIMEOUT_MS = 1_000
export const POLL_MS = 25

export const noop = (): void => {}
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
export const execFileAsync = promisify(execFile)
export const seconds = (ms: number) => `${Math.round(ms / 1000)} s`

export function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

export interface Binaries {
  postgres: string
  initdb: string
  /** Version of the binaries package, e.g. 18.4.0-beta.17 (PostgreSQL 18.4). */
  version: string
  major: string
  nativeDir: string
  /** Extra environment for the binaries (library path fallback when node_modules is read-only). */
  env: Record<string, string>
}

export interface RunAsUser {
  name: string
  uid: number
  gid: number
}

export interface Context {
  dataDir: string
  port: number
  log: (message: string) => void
  bin: Binaries
  runAs: RunAsUser | undefined
}
