import fs from 'node:fs/promises'
import path from 'node:path'
import {
  type Binaries,
  type Context,
  EmbeddedPostgresError,
  errorMessage,
  execFileAsync,
  noop,
  type RunAsUser,
  USER,
} from './common'

let runAsPromise: Promise<RunAsUser | undefined> | undefined

export function getRunAsUser(log: (message: string) => void): Promise<RunAsUser | undefined> {
  runAsPromise ??= resolveRunAsUser(log).catch((err: unknown) => {
    runAsPromise = undefined
    throw err
  })
  return runAsPromise
}

export async function lookupUser(name: string): Promise<RunAsUser | undefined> {
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

export async function resolveRunAsUser(log: (message: string) => void): Promise<RunAsUser | undefined> {
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
export async function assertReachable(runAs: RunAsUser, dir: string, what: string): Promise<void> {
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

export function spawnIdentity(runAs: RunAsUser | undefined): { uid?: number; gid?: number } {
  return runAs ? { uid: runAs.uid, gid: runAs.gid } : {}
}

export function binaryEnv(bin: Binaries): NodeJS.ProcessEnv {
  return { ...process.env, LC_ALL: 'C', LANG: 'C', ...bin.env }
}

export function permissionHint(ctx: Context, text: string): string {
  if (!ctx.runAs || !/permission denied|EACCES/i.test(text)) return ''
  return `\nPostgreSQL runs as the system user "${ctx.runAs.name}" (uid ${ctx.runAs.uid}) because this process is root; that user must be able to reach ${ctx.dataDir} and ${ctx.bin.nativeDir}. Keep the project and its data folder outside private folders such as /root, or give the parent folders o+x.`
}
