import { existsSync } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import {
  type Context,
  EmbeddedPostgresError,
  type EmbeddedServer,
  errorCode,
  HOST,
  LOCK_TIMEOUT_MS,
  PORT_ENV_VAR,
  START_TIMEOUT_MS,
  seconds,
  sleep,
} from './common'
import { canConnect, connectionUrl } from './ports'

export type PidFileState =
  | { kind: 'none' }
  | { kind: 'stale'; pid: number | undefined; reason: string }
  | { kind: 'running'; pid: number; port: number | undefined; status: string }

export function isReadyStatus(status: string): boolean {
  return status === 'ready' || status === 'standby'
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return errorCode(err) === 'EPERM'
  }
}

/** Is pid a live postmaster serving dataDir? Uses /proc where available (pids get reused after a crash). */
export async function describePostmaster(
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

export async function readPidFile(dataDir: string): Promise<string[] | undefined> {
  try {
    return (await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')
  } catch (err) {
    if (errorCode(err) === 'ENOENT' || errorCode(err) === 'ENOTDIR') return undefined
    throw err
  }
}

export async function inspectPidFile(dataDir: string): Promise<PidFileState> {
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
export async function waitForSettledServer(
  dataDir: string,
  log: (message: string) => void,
): Promise<PidFileState> {
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

export async function attach(
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
export async function acquireStartLock(
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
