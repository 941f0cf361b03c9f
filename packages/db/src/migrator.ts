import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import { describeUrl } from './config'
import type { Domain } from './domains'
import { DatabaseUnavailableError } from './pool'

export const MIGRATIONS_ROOT = new URL('../../../migrations', import.meta.url).pathname
const FILE_PATTERN = /^(\d{3})_[a-z0-9_]+\.sql$/
const UP_MARKER = /^-- migrate:up[ \t]*$/m
const DOWN_MARKER = /^-- migrate:down[ \t]*$/m
/** Our bookkeeping lives outside `public`, so a full downgrade leaves `public` empty. */
const HISTORY = 'pm.schema_migrations'
/** pg_advisory_lock key (advisory locks are scoped to the current database). */
const LOCK_KEY = 7_316_001

export interface MigrationFile {
  version: string
  name: string
  up: string
  down: string
  /** Line in the file where the up (and down) part starts, to point errors at the right line. */
  upLine: number
  downLine: number
  checksum: string
}

export interface MigrationStatus {
  version: string
  name: string
  state: 'applied' | 'pending' | 'changed'
  appliedAt: Date | null
}

export interface MigrateOptions {
  connectionString: string
  domain: Domain
  direction: 'up' | 'down'
  /** up: default all pending; down: default 1. */
  steps?: number
  migrationsDir?: string
  log?: (message: string) => void
}

export class MigrationError extends Error {
  override name = 'MigrationError'
  constructor(
    message: string,
    readonly file?: string,
  ) {
    super(message)
  }
}

export function loadMigrations(domain: Domain, migrationsDir = MIGRATIONS_ROOT): MigrationFile[] {
  const dir = join(migrationsDir, domain)
  const names = readdirSync(dir)
    .filter((name) => name.endsWith('.sql'))
    .sort()
  const seen = new Set<string>()
  return names.map((name) => {
    const match = FILE_PATTERN.exec(name)
    if (!match)
      throw new MigrationError(`${domain}/${name}: file names must look like NNN_snake_name.sql`, name)
    const version = match[1]!
    if (seen.has(version))
      throw new MigrationError(`${domain}/${name}: version ${version} is used twice`, name)
    seen.add(version)
    const text = readFileSync(join(dir, name), 'utf8')
    const up = UP_MARKER.exec(text)
    const down = DOWN_MARKER.exec(text)
    if (!up || !down || down.index < up.index) {
      throw new MigrationError(
        `${domain}/${name}: needs a "-- migrate:up" line followed by a "-- migrate:down" line`,
        name,
      )
    }
    const upStart = up.index + up[0].length
    const downStart = down.index + down[0].length
    return {
      version,
      name,
      up: text.slice(upStart, down.index),
      down: text.slice(downStart),
      upLine: lineAt(text, upStart),
      downLine: lineAt(text, downStart),
      checksum: createHash('sha256').update(text).digest('hex'),
    }
  })
}

function lineAt(text: string, offset: number): number {
  let line = 1
  for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 10) line++
  return line
}

async function connect(connectionString: string, domain: Domain): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString,
    application_name: 'pm-migrate',
    connectionTimeoutMillis: 10_000,
  })
  client.on('error', () => {}) // a dropped connection surfaces as the failing query's error
  try {
    await client.connect()
  } catch (error) {
    await client.end().catch(() => {})
    throw new DatabaseUnavailableError(domain, connectionString, error)
  }
  return client
}

async function ensureHistory(client: pg.Client) {
  await client.query(`CREATE SCHEMA IF NOT EXISTS pm;
    CREATE TABLE IF NOT EXISTS ${HISTORY} (
      version text PRIMARY KEY,
      name text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now(),
      execution_ms integer NOT NULL
    )`)
}

async function readHistory(client: pg.Client) {
  const exists = await client.query(`SELECT to_regclass('${HISTORY}') IS NOT NULL AS ok`)
  if (!exists.rows[0].ok) return new Map<string, { checksum: string; applied_at: Date; name: string }>()
  const { rows } = await client.query(`SELECT version, name, checksum, applied_at FROM ${HISTORY}`)
  return new Map(rows.map((r) => [r.version as string, r]))
}

export async function getMigrationStatus(options: {
  connectionString: string
  domain: Domain
  migrationsDir?: string
}): Promise<MigrationStatus[]> {
  const files = loadMigrations(options.domain, options.migrationsDir)
  const client = await connect(options.connectionString, options.domain)
  try {
    const history = await readHistory(client)
    const status: MigrationStatus[] = files.map((f) => {
      const applied = history.get(f.version)
      return {
        version: f.version,
        name: f.name,
        state: !applied ? 'pending' : applied.checksum === f.checksum ? 'applied' : 'changed',
        appliedAt: applied?.applied_at ?? null,
      }
    })
    for (const [version, applied] of history) {
      if (!files.some((f) => f.version === version)) {
        throw new MigrationError(
          `${options.domain}: ${applied.name} is applied in ${describeUrl(options.connectionString)} but its file is missing`,
          applied.name,
        )
      }
    }
    return status
  } finally {
    await client.end().catch(() => {})
  }
}

/**
 * Applies pending migrations (or reverts applied ones), one transaction per file, holding an advisory
 * lock so that two processes never migrate one database at once: the second waits, then finds the
 * work done. A failing file rolls back entirely and stops the run.
 */
export async function runMigrations(options: MigrateOptions): Promise<{ applied: string[] }> {
  const { domain, direction } = options
  const log = options.log ?? (() => {})
  const files = loadMigrations(domain, options.migrationsDir)
  const steps = options.steps ?? (direction === 'up' ? Number.POSITIVE_INFINITY : 1)
  if (!(steps >= 0)) throw new MigrationError(`steps must be a non-negative number, got ${options.steps}`)
  const client = await connect(options.connectionString, domain)
  const applied: string[] = []
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY])
    await ensureHistory(client)
    const history = await readHistory(client)
    for (const f of files) {
      const done = history.get(f.version)
      if (done && done.checksum !== f.checksum) {
        throw new MigrationError(
          `${domain}: ${f.name} was edited after it was applied; restore it and add a new migration instead`,
          f.name,
        )
      }
    }
    const plan =
      direction === 'up'
        ? files.filter((f) => !history.has(f.version)).slice(0, steps)
        : files
            .filter((f) => history.has(f.version))
            .reverse()
            .slice(0, steps)
    for (const file of plan) {
      const started = performance.now()
      const body = direction === 'up' ? file.up : file.down
      await client.query('BEGIN')
      try {
        await client.query(body)
        if (direction === 'up') {
          await client.query(
            `INSERT INTO ${HISTORY} (version, name, checksum, execution_ms) VALUES ($1, $2, $3, $4)`,
            [file.version, file.name, file.checksum, Math.round(performance.now() - started)],
          )
        } else {
          await client.query(`DELETE FROM ${HISTORY} WHERE version = $1`, [file.version])
        }
        await client.query('COMMIT')
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {})
        throw new MigrationError(describeFailure(domain, file, direction, body, error), file.name)
      }
      applied.push(file.name)
      log(
        `${domain}: ${direction === 'up' ? 'applied' : 'reverted'} ${file.name} in ${Math.round(performance.now() - started)} ms`,
      )
    }
    return { applied }
  } finally {
    // Ending the session releases the advisory lock too.
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => {})
    await client.end().catch(() => {})
  }
}

function describeFailure(
  domain: Domain,
  file: MigrationFile,
  direction: 'up' | 'down',
  body: string,
  error: unknown,
) {
  const pgError = error as { message?: string; position?: string; code?: string }
  let where = ''
  if (pgError.position) {
    const offset = Number(pgError.position) - 1
    where = ` (line ${(direction === 'up' ? file.upLine : file.downLine) + lineAt(body, offset) - 1})`
  }
  const code = pgError.code ? ` [${pgError.code}]` : ''
  return `${domain}: ${file.name} (${direction}) failed${where}: ${pgError.message ?? String(error)}${code}; the file was rolled back`
}
