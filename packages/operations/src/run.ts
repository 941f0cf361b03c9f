import { DOMAINS, type Domain, getMigrationStatus, runMigrations } from '@pm/db'
import type { Storage } from '@pm/storage'
import {
  type BackupManifest,
  backupDatabase,
  backupRetentionDays,
  findBackup,
  pruneBackups,
  restoreDatabase,
  type VerifyResult,
  verifyBackup,
} from './backup'
import { mapLimit, OperationError } from './connect'
import { databaseHealth } from './health'
import { checkIntegrity, type ReferenceResult } from './integrity'
import { type MaintenanceAction, runMaintenance } from './maintenance'
import { cleanExpired, partitionUpkeep, upkeepSettings } from './upkeep'

/** Databases backed up or restored at once. */
const PARALLEL_DATABASES = 3

/** The operations a run records (core's operation_runs.kind). */
export type OperationKind =
  | 'report'
  | 'vacuum'
  | 'analyze'
  | 'reindex'
  | 'backup'
  | 'backup_verify'
  | 'integrity_check'
  | 'integrity_fix'
  | 'upkeep'

export const OPERATION_KINDS: readonly OperationKind[] = [
  'report',
  'vacuum',
  'analyze',
  'reindex',
  'backup',
  'backup_verify',
  'integrity_check',
  'integrity_fix',
  'upkeep',
]

export interface OperationRequest {
  kind: OperationKind
  /** One domain, or all seven when absent (integrity and upkeep always span them). */
  domain?: Domain | null
  table?: string | null
  dryRun?: boolean
}

export interface OperationContext {
  urls: Record<Domain, string>
  storage: Storage
  env?: NodeJS.ProcessEnv
  signal?: AbortSignal
  log?: (line: string) => void
  /** What an earlier, interrupted run of the same request recorded (steps already done are skipped). */
  checkpoint?: Record<string, unknown>
  /** Called after each step with the result so far: the caller records it (progress, resume). */
  progress?: (result: Record<string, unknown>, done: number, total: number) => Promise<void>
  /**
   * After rows of these domains were deleted or changed (an integrity fix, each reference as it is fixed):
   * make the gateway's cached answers of them stale (gatewayCacheInvalidation), as a mutation would.
   */
  invalidate?: (domains: Domain[]) => Promise<void>
}

/**
 * Runs one operation with direct connections to the domains' databases: what `pm db …`, `pm backup`,
 * `pm integrity …` and core's operations worker all call. Multi-domain operations go one domain at a
 * time, report progress after each and skip the domains a checkpoint says are done.
 */
export async function runOperation(
  request: OperationRequest,
  ctx: OperationContext,
): Promise<Record<string, unknown>> {
  const env = ctx.env ?? process.env
  const log = ctx.log ?? (() => {})
  const domains = request.domain ? [request.domain] : [...DOMAINS]
  if (request.table && !request.domain) throw new OperationError('a table needs its domain')
  const result: Record<string, unknown> = { ...ctx.checkpoint }
  // Databases a few at once (dumps and restores wait on the disk more than on the CPU).
  const perDomain = async (fn: (domain: Domain) => Promise<unknown>, concurrency = 1) => {
    const done = (result.domains ?? {}) as Record<string, unknown>
    result.domains = done
    await mapLimit(
      domains.filter((d) => done[d] === undefined),
      concurrency,
      async (domain) => {
        ctx.signal?.throwIfAborted()
        done[domain] = await fn(domain)
        await ctx.progress?.(result, Object.keys(done).length, domains.length)
      },
    )
    return result
  }
  switch (request.kind) {
    case 'report':
      return perDomain((d) => databaseHealth(d, ctx.urls[d]))
    case 'vacuum':
    case 'analyze':
    case 'reindex':
      return perDomain(async (d) => {
        const outcome = await runMaintenance(
          d,
          ctx.urls[d],
          request.kind as MaintenanceAction,
          request.table ?? null,
        )
        log(`${d}: ${request.kind}${request.table ? ` ${request.table}` : ''} in ${outcome.durationMs} ms`)
        return outcome
      })
    case 'backup': {
      result.backup ??= new Date()
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d+Z$/, 'Z')
      await perDomain(async (d) => {
        const m = await backupDatabase(d, ctx.urls[d], {
          storage: ctx.storage,
          env,
          stamp: result.backup as string,
        })
        log(
          `${d}: ${m.key} ${m.size} bytes, sha256 ${m.sha256.slice(0, 12)}…, migration ${m.migrationVersion}`,
        )
        return { key: m.key, size: m.size, sha256: m.sha256, migrationVersion: m.migrationVersion }
      }, PARALLEL_DATABASES)
      const pruned = await pruneBackups(ctx.storage, backupRetentionDays(env))
      if (pruned.length)
        log(`deleted backups older than ${backupRetentionDays(env)} days: ${pruned.join(', ')}`)
      result.pruned = pruned
      return result
    }
    case 'backup_verify': {
      await perDomain(async (d) => {
        const manifest = await findBackup(ctx.storage, d)
        const v = await verifyBackup(manifest, ctx.urls[d], { storage: ctx.storage, env })
        log(describeVerify(v))
        return v
      }, PARALLEL_DATABASES)
      const failed = Object.values(result.domains as Record<string, VerifyResult>).filter((v) => !v.ok)
      result.ok = failed.length === 0
      return result
    }
    case 'integrity_check':
    case 'integrity_fix': {
      const done = (result.references ?? []) as ReferenceResult[]
      const report = await checkIntegrity(ctx.urls, {
        fix: request.kind === 'integrity_fix',
        dryRun: Boolean(request.dryRun),
        done,
        log,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
        onReference: async (r) => {
          if (r.fixed > 0 && request.kind === 'integrity_fix' && !request.dryRun)
            await ctx.invalidate?.([r.reference.split('.')[0] as Domain])
          done.push(r)
          result.references = done
          await ctx.progress?.(result, done.length, 0)
        },
      })
      return { ...report }
    }
    case 'upkeep': {
      const settings = upkeepSettings(env)
      const partitions = await partitionUpkeep(ctx.urls.imports, settings, new Date(), log)
      const expired = await cleanExpired(ctx.urls.core)
      log(
        `core: ${expired.notifications} expired notifications, ${expired.refreshTokens} refresh tokens, ${expired.loginAttempts} sign-in attempts deleted`,
      )
      return { partitions, expired }
    }
  }
}

export function describeVerify(v: VerifyResult): string {
  const head = `${v.domain}: backup ${v.backup} ${v.ok ? 'verified' : 'FAILED verification'}: ${v.tables} tables, migration ${v.migrationVersion.restored ?? 'none'}${v.migrationVersion.restored === v.migrationVersion.manifest ? '' : ` (manifest: ${v.migrationVersion.manifest})`}, ${v.durationMs} ms`
  return v.mismatches.length === 0
    ? head
    : `${head}\n${v.mismatches.map((m) => `  ${m.table}: manifest ${m.manifest}, restored ${m.restored}`).join('\n')}`
}

/**
 * `pm migrate up --safe`: for each domain with pending migrations, back it up, migrate, check that every
 * migration is applied; when a step fails, restore that backup in place and stop with the error.
 */
export async function safeMigrate(
  urls: Record<Domain, string>,
  domains: readonly Domain[],
  ctx: { storage: Storage; env?: NodeJS.ProcessEnv; log?: (line: string) => void; migrationsDir?: string },
): Promise<{ domain: Domain; applied: string[]; backup: string }[]> {
  const log = ctx.log ?? (() => {})
  const done: { domain: Domain; applied: string[]; backup: string }[] = []
  for (const domain of domains) {
    const dirOption = ctx.migrationsDir ? { migrationsDir: ctx.migrationsDir } : {}
    const pending = (
      await getMigrationStatus({ connectionString: urls[domain], domain, ...dirOption })
    ).filter((s) => s.state === 'pending')
    if (pending.length === 0) {
      log(`${domain}: nothing to apply`)
      continue
    }
    const manifest: BackupManifest = await backupDatabase(domain, urls[domain], {
      storage: ctx.storage,
      env: ctx.env ?? process.env,
    })
    log(`${domain}: backed up as ${manifest.backup} before ${pending.length} migrations`)
    try {
      const { applied } = await runMigrations({
        connectionString: urls[domain],
        domain,
        direction: 'up',
        log,
        ...dirOption,
      })
      const after = await getMigrationStatus({ connectionString: urls[domain], domain, ...dirOption })
      const left = after.filter((s) => s.state !== 'applied')
      if (left.length)
        throw new OperationError(
          `${domain}: ${left.map((s) => s.name).join(', ')} not applied after migrating`,
        )
      done.push({ domain, applied, backup: manifest.backup })
    } catch (error) {
      log(
        `${domain}: migration failed (${(error as Error).message}); restoring backup ${manifest.backup} in place`,
      )
      await restoreDatabase(manifest, urls[domain], {
        storage: ctx.storage,
        env: ctx.env ?? process.env,
        inPlace: true,
      })
      log(`${domain}: restored to migration ${manifest.migrationVersion}`)
      throw error
    }
  }
  return done
}
