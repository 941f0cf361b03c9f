import type { DB } from '@pm/db/types/core'
import { hashPassword, recordAudit } from '@pm/service-kit'
import type { Kysely } from 'kysely'
import { checkPassword, normalizeEmail } from '../validation'

export class SuperuserError extends Error {
  override name = 'SuperuserError'
}

/** The role a first administrator gets (seeded by the migrations); a superuser holds everything anyway. */
const SUPERUSER_ROLE = 'admin'

/**
 * The way into a fresh deployment (`pm user create-superuser`): an active, verified superuser and
 * administrator, with the e-mail and password rules of createUser. Refuses an e-mail already taken.
 */
export async function createSuperuser(
  db: Kysely<DB>,
  input: { email: string; password: string },
): Promise<{ id: string; email: string }> {
  let email: string
  try {
    email = normalizeEmail('--email', input.email)
    checkPassword('the password', input.password)
  } catch (error) {
    throw new SuperuserError((error as Error).message)
  }
  const hashed = await hashPassword(input.password)
  return db.transaction().execute(async (trx) => {
    const taken = await trx.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst()
    if (taken) throw new SuperuserError(`a user with the e-mail ${email} already exists (id ${taken.id})`)
    const role = await trx
      .selectFrom('roles')
      .select('name')
      .where('name', '=', SUPERUSER_ROLE)
      .executeTakeFirst()
    const row = await trx
      .insertInto('users')
      .values({
        email,
        hashed_password: hashed,
        role: role?.name ?? 'user',
        is_active: true,
        is_verified: true,
        is_admin: true,
        is_superuser: true,
      })
      .returning(['id', 'email'])
      .executeTakeFirstOrThrow()
    await recordAudit(trx, {
      action: 'create_superuser',
      entityType: 'user',
      entityId: row.id,
      userId: null,
      changes: { after: { email, isSuperuser: true, isAdmin: true }, by: 'pm user create-superuser' },
    })
    return row
  })
}
