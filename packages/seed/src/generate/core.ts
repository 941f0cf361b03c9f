import type { DB } from '@pm/db/types/core'
import { hashPasswordWithSalt } from '@pm/service-kit'
import type { Insertable } from 'kysely'
import { MODULES, PERSONAS } from '../fixtures'
import { DAY_MS } from '../random'
import { anchorId, type Ctx, HOUR_MS, type UserInfo } from './context'
import type { DomainRows } from './index'

/**
 * Every demo user's password (demo only; the demo accounts are public knowledge).
 * Stored as `scrypt$N$r$p$<salt hex>$<hash hex>` (node:crypto scrypt, 64-byte key).
 */
export const DEMO_PASSWORD = 'demo1234'

const hashCache = new Map<string, string>()

/** A real scrypt hash of `password` with the given salt (memoised: generating the data set stays cheap). */
export function hashPassword(password: string, saltHex: string): string {
  const key = `${password}\0${saltHex}`
  let hash = hashCache.get(key)
  if (!hash) {
    hash = hashPasswordWithSalt(password, saltHex)
    hashCache.set(key, hash)
  }
  return hash
}

/**
 * Made by migrations/core (the roles, the permission vocabulary and the roles' grants, as fixtures.ts
 * ROLES and roleGrants describe them): the data sets use those rows and never write these tables.
 */
export const MIGRATION_TABLES = ['roles', 'permissions', 'role_permissions'] as const
export type MigrationTable = (typeof MIGRATION_TABLES)[number]

export function generateUsers(ctx: Ctx): { users: Insertable<DB['users']>[]; info: UserInfo[] } {
  const rng = ctx.rng('core.users')
  const ids = ctx.rng('core.users.id')
  const users: Insertable<DB['users']>[] = []
  const info: UserInfo[] = []
  PERSONAS.forEach((persona, i) => {
    // The admin's id is the core database's anchor (same for every seed).
    const id = i === 0 ? anchorId('core') : ids.uuid()
    const createdAt = ctx.daysAgo(540 - i * 40 - rng.int(0, 20))
    const isActive = persona.isActive ?? true
    users.push({
      id,
      email: persona.email,
      username: persona.username,
      hashed_password: hashPassword(DEMO_PASSWORD, rng.hex(32)),
      first_name: persona.firstName,
      last_name: persona.lastName,
      role: persona.role,
      is_active: isActive,
      is_verified: persona.isVerified ?? true,
      is_superuser: persona.isAdmin ?? false,
      is_admin: persona.isAdmin ?? false,
      permissions: persona.permissions ?? {},
      last_login: isActive
        ? ctx.after(ctx.daysAgo(rng.int(0, 6)), rng.int(0, 10) * HOUR_MS)
        : ctx.daysAgo(95),
      created_at: createdAt,
      updated_at: ctx.after(createdAt, rng.int(1, 30) * DAY_MS),
    })
    info.push({
      id,
      role: persona.role,
      username: persona.username,
      fullName: `${persona.firstName} ${persona.lastName}`,
      createdAt,
    })
  })
  return { users, info }
}

export interface NotificationSource {
  /** Recent finished import jobs, to notify about. */
  imports: { id: string; supplierCode: string; status: string; at: Date; rows: number; failed: number }[]
  exports: { id: string; platform: string; status: string; at: Date; items: number }[]
}

export function generateCore(
  ctx: Ctx,
  users: Insertable<DB['users']>[],
  info: UserInfo[],
  source: NotificationSource,
): DomainRows<'core'> {
  const rng = ctx.rng('core.notifications')
  const ids = ctx.rng('core.notifications.id')
  const settingIds = ctx.rng('core.app_settings.id')

  const notifications: Insertable<DB['notifications']>[] = []
  const staff = info.filter((u) => u.role !== 'partner')
  for (const imp of source.imports) {
    // Import results go to the admin, the manager and the importer.
    for (const user of staff.filter((u) => ['admin', 'manager', 'importer'].includes(u.role))) {
      if (!rng.chance(0.7)) continue
      const failed = imp.status === 'failed'
      const createdAt = ctx.after(imp.at, rng.int(1, 20) * 60_000)
      notifications.push({
        id: ids.uuid(),
        user_id: user.id,
        title: failed ? `Échec de l'import ${imp.supplierCode}` : `Import ${imp.supplierCode} terminé`,
        message: failed
          ? `L'import du fournisseur ${imp.supplierCode} a échoué après ${imp.rows} lignes. Consultez le journal du job.`
          : `${imp.rows} lignes traitées, ${imp.failed} en erreur.`,
        type: failed ? 'error' : imp.failed > 0 ? 'warning' : 'success',
        read: createdAt.getTime() < ctx.daysAgo(3).getTime() ? rng.chance(0.85) : rng.chance(0.3),
        created_at: createdAt,
        expires_at: new Date(createdAt.getTime() + 7 * DAY_MS),
        metadata: { importJobId: imp.id, supplierCode: imp.supplierCode },
      })
    }
  }
  for (const exp of source.exports) {
    const user = rng.pick(staff.filter((u) => ['admin', 'manager', 'editor'].includes(u.role)))
    const createdAt = ctx.after(exp.at, rng.int(1, 30) * 60_000)
    notifications.push({
      id: ids.uuid(),
      user_id: user.id,
      title: `Export ${exp.platform} ${exp.status === 'failed' ? 'en échec' : 'terminé'}`,
      message: `${exp.items} produits envoyés vers ${exp.platform}.`,
      type: exp.status === 'failed' ? 'error' : 'info',
      read: rng.chance(0.6),
      created_at: createdAt,
      expires_at: new Date(createdAt.getTime() + 7 * DAY_MS),
      metadata: { exportJobId: exp.id },
    })
  }
  const generic = [
    ['Bienvenue sur Products Manager', 'Votre compte est prêt. Commencez par explorer le catalogue.', 'info'],
    ['Nouvelle version disponible', 'La version 4.5 active le système de modules.', 'info'],
    ['Mot de passe bientôt expiré', 'Pensez à renouveler votre mot de passe dans les 7 jours.', 'warning'],
    ['Quota IA à 80 %', "La consommation de l'enrichissement IA atteint 80 % du budget mensuel.", 'warning'],
  ] as const
  for (const user of info) {
    for (const [title, message, type] of rng.sample(generic, rng.int(1, 3))) {
      const createdAt = ctx.daysAgo(rng.int(0, 20) + rng.float())
      notifications.push({
        id: ids.uuid(),
        user_id: user.id,
        title,
        message,
        type,
        read: rng.chance(0.5),
        created_at: createdAt,
        expires_at: new Date(createdAt.getTime() + 14 * DAY_MS),
        metadata: {},
      })
    }
  }
  notifications.sort((a, b) => (a.created_at as Date).getTime() - (b.created_at as Date).getTime())

  const admin = info[0]!
  const settingsAt = ctx.daysAgo(180)
  const appSettings: Insertable<DB['app_settings']>[] = MODULES.map(([id, name, order]) => ({
    id: settingIds.uuid(),
    key: `module.${id}`,
    value: { enabled: true },
    category: 'modules',
    description: `${name} (ordre ${order})`,
    is_secret: false,
    updated_by: admin.id,
    created_at: settingsAt,
    updated_at: settingsAt,
  }))
  appSettings.push(
    {
      id: settingIds.uuid(),
      key: 'catalog.default_currency',
      value: 'EUR',
      category: 'general',
      description: 'Devise par défaut des prix',
      is_secret: false,
      updated_by: admin.id,
      created_at: settingsAt,
      updated_at: settingsAt,
    },
    {
      id: settingIds.uuid(),
      key: 'imports.max_file_size_mb',
      value: 200,
      category: 'imports',
      description: "Taille maximale d'un fichier d'import",
      is_secret: false,
      updated_by: admin.id,
      created_at: settingsAt,
      updated_at: settingsAt,
    },
  )

  return {
    users,
    notifications,
    app_settings: appSettings,
    api_keys: [],
    // Written at run time by sign-in, never seeded.
    refresh_tokens: [],
    login_attempts: [],
    // Written by the operations worker, never seeded.
    operation_runs: [],
    flagged_references: [],
  }
}
