import { readFileSync } from 'node:fs'
import { createMigratedDatabase } from '@pm/testing'
import { describe, expect, it } from 'vitest'
import { DOMAINS } from '../src'
import { GENERATED_DIR, generateTypes } from '../src/codegen'

describe.each(DOMAINS)('generated types for %s', (domain) => {
  it('match the migrated schema (run `pnpm db:types` after changing a migration)', async () => {
    const database = await createMigratedDatabase(domain, `codegen_${domain}`)
    try {
      const fresh = await generateTypes(domain, database.url)
      expect(readFileSync(`${GENERATED_DIR}${domain}.ts`, 'utf8')).toBe(fresh)
    } finally {
      await database.drop()
    }
  })
})
