import type { DB } from '@pm/db/types/core'
import { type Kysely, sql } from 'kysely'

/**
 * Login throttle, per normalised email (known or not, so it tells nothing about which emails exist):
 * after MAX_FAILURES failed password checks within WINDOW_MINUTES (counting only those after the email's
 * last successful sign-in: a success clears the count), further attempts are refused without checking the
 * password until the oldest of those failures leaves the window (sliding window: about MAX_FAILURES
 * guesses per WINDOW_MINUTES per account). Refused attempts are not recorded, so hammering a locked
 * account does not lock it longer. Each attempt is recorded as a failure before the password check and
 * turned into a success after it, under a per-email advisory lock: concurrent guesses cannot slip past
 * the count.
 */
export const MAX_FAILURES = 5
export const WINDOW_MINUTES = 15
/** Attempts are kept this long (forensics), then pruned. */
const KEEP_HOURS = 24
const PRUNE_EVERY_MS = 3_600_000

export type AttemptGate = { attemptId: string } | { retryAfterSeconds: number }

/** Refuses (retryAfterSeconds) or records the attempt as a pending failure (attemptId). */
export function openLoginAttempt(db: Kysely<DB>, email: string, ip: string | null): Promise<AttemptGate> {
  return db.transaction().execute(async (trx) => {
    // Serialises the attempts of one email (the lock ends with the transaction).
    await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`login:${email}`}, 0))`.execute(trx)
    const { rows } = await sql<{ failures: string; retry_after: number | null }>`
      WITH recent AS (
        SELECT attempted_at FROM login_attempts
        WHERE email = ${email}
          AND NOT succeeded
          AND attempted_at > localtimestamp - make_interval(mins => ${WINDOW_MINUTES})
          AND attempted_at > COALESCE(
            (SELECT max(attempted_at) FROM login_attempts WHERE email = ${email} AND succeeded),
            '-infinity'::timestamp)
        ORDER BY attempted_at DESC
        LIMIT ${MAX_FAILURES}
      )
      SELECT count(*) AS failures,
             ceil(extract(epoch FROM min(attempted_at) + make_interval(mins => ${WINDOW_MINUTES})
               - localtimestamp))::int AS retry_after
      FROM recent`.execute(trx)
    const { failures, retry_after } = rows[0]!
    if (Number(failures) >= MAX_FAILURES) return { retryAfterSeconds: Math.max(1, retry_after ?? 1) }
    const row = await trx
      .insertInto('login_attempts')
      .values({ email, succeeded: false, ip })
      .returning('id')
      .executeTakeFirstOrThrow()
    return { attemptId: String(row.id) }
  })
}

/** The attempt turned out right: it clears the email's failure count. */
export async function markAttemptSucceeded(db: Kysely<DB>, attemptId: string): Promise<void> {
  await db.updateTable('login_attempts').set({ succeeded: true }).where('id', '=', attemptId).execute()
}

let lastPrune = 0

/** At most once an hour per process: drops attempts past KEEP_HOURS and sessions expired a day ago. */
export async function pruneAuthTables(db: Kysely<DB>, now = Date.now()): Promise<void> {
  if (now - lastPrune < PRUNE_EVERY_MS) return
  lastPrune = now
  await db
    .deleteFrom('login_attempts')
    .where('attempted_at', '<', sql<Date>`localtimestamp - make_interval(hours => ${KEEP_HOURS})`)
    .execute()
  await db
    .deleteFrom('refresh_tokens')
    .where('expires_at', '<', sql<Date>`localtimestamp - interval '1 day'`)
    .execute()
}
