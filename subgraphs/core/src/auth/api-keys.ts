import { randomBytes } from 'node:crypto'
import type { DB } from '@pm/db/types/core'
import { sha256Hex } from '@pm/service-kit'
import { type Kysely, sql } from 'kysely'

/**
 * Partner keys look like `pm_<8 hex>_<43 base64url>`: the public prefix `pm_<8 hex>` (api_keys.key_prefix,
 * shown in lists and logs) and 32 random bytes. Only the SHA-256 of the whole key is stored; the key is
 * shown once, by createApiKey.
 */
const KEY = /^pm_([0-9a-f]{8})_[A-Za-z0-9_-]{43}$/

export interface NewApiKey {
  key: string
  prefix: string
  hash: string
}

export function generateApiKey(): NewApiKey {
  const prefix = `pm_${randomBytes(4).toString('hex')}`
  const key = `${prefix}_${randomBytes(32).toString('base64url')}`
  return { key, prefix, hash: sha256Hex(key) }
}

/** The prefix and hash of a well-formed key; undefined for anything else (no database lookup then). */
export function parseApiKey(key: string): { prefix: string; hash: string } | undefined {
  const match = typeof key === 'string' ? KEY.exec(key) : null
  return match ? { prefix: `pm_${match[1]}`, hash: sha256Hex(key) } : undefined
}

/** last_used_at moves at most once a minute per key: writes stay rare however busy a partner is. */
export const TOUCH_INTERVAL_MS = 60_000
const touched = new Map<string, number>()

export async function touchApiKey(db: Kysely<DB>, id: string, now = Date.now()): Promise<void> {
  const last = touched.get(id)
  if (last !== undefined && now - last < TOUCH_INTERVAL_MS) return
  touched.set(id, now)
  // Several core instances: the condition keeps the row's writes to one a minute too.
  await db
    .updateTable('api_keys')
    .set({ last_used_at: sql<Date>`localtimestamp` })
    .where('id', '=', id)
    .where((eb) =>
      eb.or([
        eb('last_used_at', 'is', null),
        eb('last_used_at', '<=', sql<Date>`localtimestamp - interval '1 minute'`),
      ]),
    )
    .execute()
  if (touched.size > 10_000) touched.clear()
}
