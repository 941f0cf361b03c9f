import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { DOMAINS, generateResolverTypes, resolverTypesFile } from '../scripts/resolver-types'

describe.each(DOMAINS)('generated resolver types for %s', (domain) => {
  it('match its schema.graphql (run `pnpm codegen` after changing a schema)', async () => {
    expect(readFileSync(resolverTypesFile(domain), 'utf8')).toBe(await generateResolverTypes(domain))
  })
})
