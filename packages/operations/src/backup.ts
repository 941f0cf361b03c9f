import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { type Domain, databaseUrl, describeUrl } from '@pm/db'
import type { Storage } from '@pm/storage'
import pg from 'pg'
import { migrationVersion, OperationError, rowCounts, withClient } from './connect'

/** Where backups live in storage: backups/<stamp>/<domain>.dump and its <domain>.json manifest. */
export const BACKUP_PREFIX = 'backups/'
export const DEFAULT_BACKUP_RETENTION_DAYS = 30

export interface BackupManifest {
  domain: Domain
  /** The backup's name: its time stamp, as `pm restore --from` takes it. */
  backup: string
  key: string
  database: string
  size: number
  sha256: string
  migrationVersion: string | null
  createdAt: string
  /** Exact rows per table in the dumped snapshot. */
  rowCounts: Record<string, number>
  pgDumpVersion: string
  serverVersion: string
}

export class MissingToolError extends OperationError {
  override name = 'MissingToolError'
}

/** pg_dump, pg_restore: from PG_BIN_DIR when set, else the PATH. */
export function toolPath(
  tool: 'pg_dump' | 'pg_restore' | 'psql',
  env: NodeJS.ProcessEnv = process.env,
): string {
  const dir = env.PG_BIN_DIR?.trim()
  return dir ? join(dir, tool) : tool
}

interface RunResult {
  code: number
  stderr: string
}

function run(
  command: string,
  args: string[],
  options: { stdout?: NodeJS.WritableStream; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ['ignore', options.stdout ? 'pipe' : 'ignore', 'pipe'],
      env: options.env ?? process.env,
    })
    let stderr = ''
    child.stderr!.on('data', (chunk: Buffer) => {
      if (stderr.length < 8_000) stderr += chunk.toString()
    })
    const piped = options.stdout ? pipeline(child.stdout!, options.stdout) : Promise.resolve()
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') {
        reject(
          new MissingToolError(
            `${command} was not found: a backup needs the PostgreSQL client tools (pg_dump, pg_restore) of the server's major version or newer. Install them (Debian/Ubuntu: apt-get install -y postgresql-client; macOS: brew install libpq) or set PG_BIN_DIR to their directory`,
          ),
        )
      } else reject(error)
    })
    child.on('close', (code) => {
      piped.then(
        () => resolve({ code: code ?? 1, stderr: stderr.trim() }),
        (error) => reject(error),
      )
    })
  })
}

/** "pg_dump (PostgreSQL) 15.20 (Debian …)" → 15; MissingToolError when absent. */
export async function toolMajor(tool: 'pg_dump' | 'pg_restore', env: NodeJS.ProcessEnv = process.env) {
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(toolPath(tool, env), ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] })
    let text = ''
    child.stdout.on('data', (c: Buffer) => {
      text += c.toString()
    })
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'ENOENT'
          ? new MissingToolError(
              `${tool} was not found: a backup needs the PostgreSQL client tools (pg_dump, pg_restore) of the server's major version or newer. Install them (Debian/Ubuntu: apt-get install -y postgresql-client; macOS: brew install libpq) or set PG_BIN_DIR to their directory`,
            )
          : error,
      ),
    )
    child.on('close', () => resolve(text.trim()))
  })
  const match = /(\d+)(?:\.(\d+))?/.exec(out)
  if (!match) throw new MissingToolError(`${tool} --version answered "${out}"`)
  return { major: Number(match[1]), version: out }
}

/** The tools must be at least the server's major version (pg_dump refuses newer servers). */
async function checkTools(client: pg.Client, env: NodeJS.ProcessEnv) {
  const server = await client.query<{ v: string; n: string }>(
    "SELECT current_setting('server_version') AS v, current_setting('server_version_num') AS n",
  )
  const serverMajor = Math.floor(Number(server.rows[0]!.n) / 10_000)
  const dump = await toolMajor('pg_dump', env)
  const restore = await toolMajor('pg_restore', env)
  for (const [tool, t] of [
    ['pg_dump', dump],
    ['pg_restore', restore],
  ] as const) {
    if (t.major < serverMajor) {
      throw new MissingToolError(
        `${tool} ${t.major} cannot handle a PostgreSQL ${serverMajor} server: install the client tools of version ${serverMajor} or newer (Debian/Ubuntu: apt-get install -y postgresql-client-${serverMajor} from apt.postgresql.org) and set PG_BIN_DIR to their directory, e.g. /usr/lib/postgresql/${serverMajor}/bin`,
      )
    }
  }
  return { serverVersion: server.rows[0]!.v, pgDumpVersion: dump.version }
}

const stampOf = (d: Date) =>
  d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')

export interface BackupOptions {
  storage: Storage
  env?: NodeJS.ProcessEnv
  /** The backup's name (default: now, 20261206T180000Z); every domain of one run shares it. */
  stamp?: string
}

/**
 * `pg_dump -Fc` of one database into storage, with its manifest. The rows are counted in the very snapshot
 * pg_dump reads (an exported snapshot), so a verify compares like with like. The dump goes to a temporary
 * file first (a full disk fails here, before storage holds anything) and is then put with its SHA-256;
 * a failure keeps nothing.
 */
export async function backupDatabase(
  domain: Domain,
  url: string,
  options: BackupOptions,
): Promise<BackupManifest> {
  const env = options.env ?? process.env
  const stamp = options.stamp ?? stampOf(new Date())
  const key = `${BACKUP_PREFIX}${stamp}/${domain}.dump`
  const dir = await mkdtemp(join(env.BACKUP_TMP_DIR?.trim() || tmpdir(), 'pm-backup-'))
  const file = join(dir, `${domain}.dump`)
  // Where a full disk hits: the temporary dump, or the storage it is put into.
  let phase: 'dump' | 'store' = 'dump'
  try {
    return await withClient(domain, url, async (client) => {
      const tools = await checkTools(client, env)
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
      const snapshot = (await client.query<{ s: string }>('SELECT pg_export_snapshot() AS s')).rows[0]!.s
      const version = await migrationVersion(client)
      // Counted while pg_dump reads: the same snapshot, on this connection.
      const counting = rowCounts(client)
      counting.catch(() => {})
      const dumped = await run(
        toolPath('pg_dump', env),
        [
          '--format=custom',
          // Fast compression: the dump is CPU-bound at the default level.
          '--compress=1',
          '--no-owner',
          '--no-privileges',
          `--snapshot=${snapshot}`,
          `--file=${file}`,
          `--dbname=${url}`,
        ],
        { env },
      )
      const counts = await counting
      await client.query('COMMIT')
      if (dumped.code !== 0) {
        if (/No space left on device/i.test(dumped.stderr))
          throw Object.assign(new Error(dumped.stderr), { code: 'ENOSPC' })
        throw new OperationError(`${domain}: pg_dump failed: ${scrub(dumped.stderr, url)}`)
      }
      phase = 'store'
      const size = (await stat(file)).size
      const { createReadStream } = await import('node:fs')
      const stored = await options.storage.put(key, createReadStream(file), {
        contentType: 'application/octet-stream',
      })
      const manifest: BackupManifest = {
        domain,
        backup: stamp,
        key,
        database: decodeURIComponent(new URL(url).pathname.slice(1)),
        size,
        sha256: stored.sha256,
        migrationVersion: version,
        createdAt: new Date().toISOString(),
        rowCounts: counts,
        ...tools,
      }
      await options.storage.put(manifestKey(stamp, domain), JSON.stringify(manifest, null, 2), {
        contentType: 'application/json',
      })
      return manifest
    })
  } catch (error) {
    // Neither the dump nor its manifest of this backup stays; earlier backups are not touched.
    await options.storage.delete(key).catch(() => {})
    await options.storage.delete(manifestKey(stamp, domain)).catch(() => {})
    if ((error as NodeJS.ErrnoException).code === 'ENOSPC') {
      throw new OperationError(
        phase === 'dump'
          ? `${domain}: no space left on device for the backup's temporary file in ${dir} (set BACKUP_TMP_DIR to a larger disk); nothing was kept, earlier backups are untouched`
          : `${domain}: no space left on device in the backup storage while storing ${key}; nothing was kept, earlier backups are untouched`,
      )
    }
    throw error
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** Never a password in a message. */
function scrub(text: string, url: string): string {
  const u = new URL(url)
  return u.password ? text.split(u.password).join('***') : text
}

export const manifestKey = (stamp: string, domain: Domain) => `${BACKUP_PREFIX}${stamp}/${domain}.json`

/** Manifests in storage, newest first (optionally one domain's). */
export async function listBackups(storage: Storage, domain?: Domain): Promise<BackupManifest[]> {
  const found: BackupManifest[] = []
  for await (const object of storage.list(BACKUP_PREFIX)) {
    if (!object.key.endsWith('.json')) continue
    if (domain && !object.key.endsWith(`/${domain}.json`)) continue
    found.push(await readManifest(storage, object.key))
  }
  return found.sort((a, b) => b.backup.localeCompare(a.backup) || a.domain.localeCompare(b.domain))
}

async function readManifest(storage: Storage, key: string): Promise<BackupManifest> {
  const chunks: Buffer[] = []
  for await (const chunk of await storage.get(key)) chunks.push(chunk as Buffer)
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as BackupManifest
}

/** The manifest of `backup` (a stamp, or "latest") for a domain. */
export async function findBackup(
  storage: Storage,
  domain: Domain,
  backup = 'latest',
): Promise<BackupManifest> {
  const all = await listBackups(storage, domain)
  const found = backup === 'latest' ? all[0] : all.find((m) => m.backup === backup)
  if (!found) {
    throw new OperationError(
      `${domain}: no backup ${backup === 'latest' ? 'in storage' : `"${backup}"`} (backups: ${all.map((m) => m.backup).join(', ') || 'none'})`,
    )
  }
  return found
}

/** Copies the dump out of storage into a temporary file, checking its SHA-256 against the manifest. */
async function fetchDump(storage: Storage, manifest: BackupManifest, dir: string): Promise<string> {
  const file = join(dir, `${manifest.domain}.dump`)
  const hash = createHash('sha256')
  const source = await storage.get(manifest.key)
  source.on('data', (chunk: Buffer) => hash.update(chunk))
  await pipeline(source, createWriteStream(file))
  const sha256 = hash.digest('hex')
  if (sha256 !== manifest.sha256) {
    throw new OperationError(
      `${manifest.domain}: backup ${manifest.backup} is corrupted (its SHA-256 is ${sha256}, the manifest says ${manifest.sha256}); nothing was restored`,
    )
  }
  return file
}

export interface RestoreOptions {
  storage: Storage
  env?: NodeJS.ProcessEnv
  /** Restore over the domain's own database (all its objects replaced, in one transaction). */
  inPlace?: boolean
  /** The new database's name (default <database>_restored_<stamp>); not with inPlace. */
  target?: string
}

async function createDatabase(domain: Domain, url: string, name: string) {
  await withClient(domain, databaseUrl(url, 'postgres'), async (client) => {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])
    if (exists.rowCount)
      throw new OperationError(`${domain}: database "${name}" already exists; choose another --target`)
    await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`)
  })
}

export async function dropDatabase(domain: Domain, url: string, name: string) {
  await withClient(domain, databaseUrl(url, 'postgres'), async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`)
  })
}

/**
 * In place, atomically: the archive turned into SQL by pg_restore and run by psql in ONE transaction after
 * dropping every schema of the database (what a migration created since the backup goes too). A failure
 * anywhere rolls everything back.
 */
async function restoreInPlace(domain: Domain, file: string, url: string, env: NodeJS.ProcessEnv) {
  const { PassThrough } = await import('node:stream')
  const script = new PassThrough()
  const schemas = await withClient(domain, url, async (client) => {
    const { rows } = await client.query<{ n: string }>(
      `SELECT nspname AS n FROM pg_namespace WHERE nspname NOT IN ('pg_catalog', 'information_schema')
          AND nspname NOT LIKE 'pg\\_%'`,
    )
    return rows.map((r) => r.n)
  })
  script.write(
    `${schemas.map((n) => `DROP SCHEMA ${pg.escapeIdentifier(n)} CASCADE;`).join('\n')}\nCREATE SCHEMA public;\n`,
  )
  const psql = new Promise<RunResult>((resolve, reject) => {
    const child = spawn(
      toolPath('psql', env),
      ['--no-psqlrc', '--quiet', '--single-transaction', '-v', 'ON_ERROR_STOP=1', `--dbname=${url}`],
      {
        stdio: ['pipe', 'ignore', 'pipe'],
        env,
      },
    )
    let stderr = ''
    child.stderr.on('data', (c: Buffer) => {
      if (stderr.length < 8_000) stderr += c.toString()
    })
    child.on('error', reject)
    script.pipe(child.stdin)
    child.stdin.on('error', () => {})
    child.on('close', (code) => resolve({ code: code ?? 1, stderr: stderr.trim() }))
  })
  const converted = await run(
    toolPath('pg_restore', env),
    ['--no-owner', '--no-privileges', '--file=-', file],
    {
      env,
      stdout: script,
    },
  ).catch((error) => {
    script.destroy()
    throw error
  })
  const applied = await psql
  if (converted.code !== 0) throw restoreFailure(domain, converted.stderr, url)
  if (applied.code !== 0) throw restoreFailure(domain, applied.stderr, url)
}

function restoreFailure(domain: Domain, stderr: string, url: string) {
  const reason =
    /not appear to be a valid archive|unexpected end of file|could not read|did not find magic|unsupported version|in file header/i.test(
      stderr,
    )
      ? 'the file is not a readable pg_dump archive (corrupted or truncated)'
      : scrub(stderr, url)
  return new OperationError(`${domain}: restore failed: ${reason}; the target was left as it was`)
}

async function pgRestore(domain: Domain, file: string, url: string, env: NodeJS.ProcessEnv, clean: boolean) {
  const restored = await run(
    toolPath('pg_restore', env),
    [
      '--no-owner',
      '--no-privileges',
      '--exit-on-error',
      // A new database is dropped when the restore fails, so it may load tables in parallel.
      ...(clean ? ['--clean', '--if-exists', '--single-transaction'] : ['--jobs=2']),
      `--dbname=${url}`,
      file,
    ],
    { env },
  )
  if (restored.code !== 0) throw restoreFailure(domain, restored.stderr, url)
}

/**
 * Restores a backup into a new database on the same server (default) or, with inPlace, over the domain's
 * own database in one transaction (a failure changes nothing). Answers the URL restored into.
 */
export async function restoreDatabase(
  manifest: BackupManifest,
  url: string,
  options: RestoreOptions,
): Promise<{ url: string; database: string }> {
  const env = options.env ?? process.env
  const dir = await mkdtemp(join(env.BACKUP_TMP_DIR?.trim() || tmpdir(), 'pm-restore-'))
  try {
    await withClient(manifest.domain, url, (client) => checkTools(client, env))
    const file = await fetchDump(options.storage, manifest, dir)
    if (options.inPlace) {
      await restoreInPlace(manifest.domain, file, url, env)
      return { url, database: decodeURIComponent(new URL(url).pathname.slice(1)) }
    }
    const name = options.target ?? `${manifest.database}_restored_${manifest.backup.toLowerCase()}`
    await createDatabase(manifest.domain, url, name)
    const target = databaseUrl(url, name)
    try {
      await pgRestore(manifest.domain, file, target, env, false)
    } catch (error) {
      await dropDatabase(manifest.domain, url, name).catch(() => {})
      throw error
    }
    return { url: target, database: name }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

export interface VerifyResult {
  domain: Domain
  backup: string
  ok: boolean
  migrationVersion: { manifest: string | null; restored: string | null }
  tables: number
  mismatches: { table: string; manifest: number | null; restored: number | null }[]
  durationMs: number
}

/**
 * The restore drill: restores the backup into a scratch database, compares its row counts and migration
 * version with the manifest, then drops the scratch database.
 */
export async function verifyBackup(
  manifest: BackupManifest,
  url: string,
  options: RestoreOptions,
): Promise<VerifyResult> {
  const started = performance.now()
  const scratch = `pm_verify_${manifest.domain}_${randomBytes(4).toString('hex')}`
  const restored = await restoreDatabase(manifest, url, { ...options, inPlace: false, target: scratch })
  try {
    const { counts, version } = await withClient(manifest.domain, restored.url, async (client) => ({
      counts: await rowCounts(client),
      version: await migrationVersion(client),
    }))
    const tables = new Set([...Object.keys(manifest.rowCounts), ...Object.keys(counts)])
    const mismatches = [...tables]
      .filter((t) => manifest.rowCounts[t] !== counts[t])
      .map((t) => ({ table: t, manifest: manifest.rowCounts[t] ?? null, restored: counts[t] ?? null }))
    return {
      domain: manifest.domain,
      backup: manifest.backup,
      ok: mismatches.length === 0 && version === manifest.migrationVersion,
      migrationVersion: { manifest: manifest.migrationVersion, restored: version },
      tables: tables.size,
      mismatches,
      durationMs: Math.round(performance.now() - started),
    }
  } finally {
    await dropDatabase(manifest.domain, url, scratch)
  }
}

/** Deletes backups older than `days` (dumps and manifests); answers the stamps deleted. */
export async function pruneBackups(
  storage: Storage,
  days = DEFAULT_BACKUP_RETENTION_DAYS,
  now = new Date(),
): Promise<string[]> {
  const cutoff = stampOf(new Date(now.getTime() - days * 86_400_000))
  const old = new Set<string>()
  const keys: string[] = []
  for await (const object of storage.list(BACKUP_PREFIX)) {
    const stamp = object.key.slice(BACKUP_PREFIX.length).split('/')[0]!
    if (stamp < cutoff) {
      old.add(stamp)
      keys.push(object.key)
    }
  }
  for (const key of keys) await storage.delete(key)
  return [...old].sort()
}

export function backupRetentionDays(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.BACKUP_RETENTION_DAYS?.trim()
  if (!raw) return DEFAULT_BACKUP_RETENTION_DAYS
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 1)
    throw new OperationError(`BACKUP_RETENTION_DAYS must be a positive integer, got "${raw}"`)
  return n
}

export { describeUrl }
