import { type ChildProcess, spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import {
  type Context,
  EmbeddedPostgresError,
  type EmbeddedServer,
  HOST,
  POLL_MS,
  SERVER_LOG_FILE,
  SERVER_LOG_MAX_BYTES,
  START_TIMEOUT_MS,
  STOP_TIMEOUT_MS,
  seconds,
  sleep,
} from './common'
import { lastLines } from './data-dir'
import { isReadyStatus, readPidFile } from './pid-file'
import { connectionUrl, portInUseError } from './ports'
import { binaryEnv, permissionHint, spawnIdentity } from './run-as'

/** Servers started by this process that are still running: stopped on normal process exit (see start.ts). */
export const ownedChildren = new Set<ChildProcess>()
let exitListenerInstalled = false

export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null
}

export function trackOwnedChild(child: ChildProcess): void {
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

export async function readLogSince(logPath: string, offset: number): Promise<string> {
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

export type LaunchOutcome =
  | { kind: 'ready' }
  | { kind: 'spawn-error'; error: Error }
  | { kind: 'exit'; code: number | null; signal: NodeJS.Signals | null }
  | { kind: 'timeout' }

export function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
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

export async function launch(ctx: Context): Promise<EmbeddedServer> {
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

export async function launchOnce(
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
        // The seven documented pools (docs/requirements.md#connection-pools) reach 150 connections at full
        // overflow; leave room for tools and tests.
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

export async function stopChild(child: ChildProcess, { log, port }: Context): Promise<void> {
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
