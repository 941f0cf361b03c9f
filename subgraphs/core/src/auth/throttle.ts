import type { DB } from '@pm/db/types/core'
import { type Kysely, sql } from 'kysely'

/**
 * Password-guess throttle (sign-in and changePassword's current-password check), by account and by source
 * address, over a sliding window of WINDOW_MINUTES. Failed checks count against three limits:
 *   - the account from one address (MAX_FAILURES): that address may guess no more for that account;
 *   - the address (MAX_FAILURES_PER_ADDRESS, whatever the accounts): one address spraying accounts stops;
 *   - the account from everywhere (MAX_FAILURES_PER_ACCOUNT): a guess spread over many addresses stops.
 * One address can thus never lock an account for its owner elsewhere: it reaches its own limits long before
 * the account-wide one. A success clears the account's counts (from that address and from everywhere), not
 * the address's own, so signing in to one's own account does not buy more guesses at others. Emails count
 * whether or not an account has them (nothing tells which exist). Refused attempts are not recorded (they
 * check no password), so hammering does not lengthen a lock. Each attempt is recorded as a failure before
 * the check and turned into a success after it, under advisory locks on the email and the address:
 * concurrent guesses cannot slip past the counts.
 */
export const MAX_FAILURES = 5
export const MAX_FAILURES_PER_ADDRESS = 25
export const MAX_FAILURES_PER_ACCOUNT = 50
export const WINDOW_MINUTES = 15
/** Attempts are kept this long (forensics), then pruned. */
const KEEP_HOURS = 24
const PRUNE_EVERY_MS = 3_600_000
/** login_attempts.ip and users.last_login_ip are VARCHAR(45): an IPv6 address in full. */
export const MAX_ADDRESS_LENGTH = 45

/** Which limit refused an attempt: the account (from this address or from everywhere) or the address. */
export type ThrottleScope = 'account' | 'address'

export type AttemptGate = { attemptId: string } | { retryAfterSeconds: number; scope: ThrottleScope }

/** The address as stored: at most MAX_ADDRESS_LENGTH characters, null when unknown. */
export function storedAddress(address: string | null | undefined): string | null {
  const value = address?.trim()
  return value ? value.slice(0, MAX_ADDRESS_LENGTH) : null
}

/** Refuses (retryAfterSeconds, scope) or records the attempt as a pending failure (attemptId). */
export function openLoginAttempt(
  db: Kysely<DB>,
  email: string,
  address: string | null | undefined,
): Promise<AttemptGate> {
  const ip = storedAddress(address)
  return db.transaction().execute(async (trx) => {
    // Serialises the attempts of one email and of one address (always in this order: no deadlock).
    await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`login:${email}`}, 0))`.execute(trx)
    await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`login-ip:${ip ?? ''}`}, 0))`.execute(trx)
    const { rows } = await sql<{
      pair: number
      pair_retry: number | null
      address: number
      address_retry: number | null
      account: number
      account_retry: number | null
    }>`
      WITH cleared AS (
        SELECT
          COALESCE(max(attempted_at) FILTER (WHERE ip IS NOT DISTINCT FROM ${ip}), '-infinity'::timestamp) AS pair,
          COALESCE(max(attempted_at), '-infinity'::timestamp) AS account
        FROM login_attempts WHERE email = ${email} AND succeeded
      ), recent AS (
        SELECT email = ${email} AS same_email, ip IS NOT DISTINCT FROM ${ip} AS same_ip, attempted_at
        FROM login_attempts
        WHERE NOT succeeded
          AND attempted_at > localtimestamp - make_interval(mins => ${WINDOW_MINUTES})
          AND (email = ${email} OR ip IS NOT DISTINCT FROM ${ip})
      ), counted AS (
        SELECT r.*,
               r.same_email AND r.same_ip AND r.attempted_at > c.pair AS in_pair,
               r.same_email AND r.attempted_at > c.account AS in_account
        FROM recent r CROSS JOIN cleared c
      )
      SELECT
        count(*) FILTER (WHERE in_pair)::int AS pair,
        ceil(extract(epoch FROM min(attempted_at) FILTER (WHERE in_pair)
          + make_interval(mins => ${WINDOW_MINUTES}) - localtimestamp))::int AS pair_retry,
        count(*) FILTER (WHERE same_ip)::int AS address,
        ceil(extract(epoch FROM min(attempted_at) FILTER (WHERE same_ip)
          + make_interval(mins => ${WINDOW_MINUTES}) - localtimestamp))::int AS address_retry,
        count(*) FILTER (WHERE in_account)::int AS account,
        ceil(extract(epoch FROM min(attempted_at) FILTER (WHERE in_account)
          + make_interval(mins => ${WINDOW_MINUTES}) - localtimestamp))::int AS account_retry
      FROM counted`.execute(trx)
    const counts = rows[0]!
    const refusal = (retry: number | null, scope: ThrottleScope) => ({
      retryAfterSeconds: Math.max(1, retry ?? 1),
      scope,
    })
    if (counts.address >= MAX_FAILURES_PER_ADDRESS) return refusal(counts.address_retry, 'address')
    if (counts.pair >= MAX_FAILURES) return refusal(counts.pair_retry, 'account')
    if (counts.account >= MAX_FAILURES_PER_ACCOUNT) return refusal(counts.account_retry, 'account')
    const row = await trx
      .insertInto('login_attempts')
      .values({ email, succeeded: false, ip })
      .returning('id')
      .executeTakeFirstOrThrow()
    return { attemptId: String(row.id) }
  })
}

/** The attempt turned out right: it clears the account's failure counts. */
export async function markAttemptSucceeded(db: Kysely<DB>, attemptId: string): Promise<void> {
  await db.updateTable('login_attempts').set({ succeeded: true }).where('id', '=', attemptId).execute()
}

/** The message of a refused attempt, saying which limit and for how long. */
export function throttledMessage(gate: { retryAfterSeconds: number; scope: ThrottleScope }): string {
  return gate.scope === 'address'
    ? `too many failed password checks from your address; try again in ${gate.retryAfterSeconds} seconds`
    : `too many failed password checks for this account; try again in ${gate.retryAfterSeconds} seconds`
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
