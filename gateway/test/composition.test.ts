import { existsSync, readFileSync } from 'node:fs'
import { DOMAINS } from '@pm/db'
import { describe, expect, it } from 'vitest'
import {
  CACHE_SCOPES_FILE,
  cacheScopesFileContents,
  collectCacheScopes,
  collectModuleGates,
  composeSupergraph,
  MODULE_GATES_FILE,
  moduleGatesFileContents,
  moduleGatesOf,
  SUPERGRAPH_FILE,
  supergraphFileContents,
} from '../src/compose'

describe('supergraph composition', () => {
  const result = composeSupergraph()

  it('composes the seven subgraphs without errors', () => {
    expect(result.ok ? [] : result.errors).toEqual([])
    expect(result.domains).toEqual([...DOMAINS])
  })

  it('matches the checked-in gateway/supergraph.graphql (run `pnpm compose` when this fails)', () => {
    expect(result.ok).toBe(true)
    if (!result.ok) return
    expect(existsSync(SUPERGRAPH_FILE)).toBe(true)
    const checkedIn = readFileSync(SUPERGRAPH_FILE, 'utf8')
    expect(checkedIn).toBe(supergraphFileContents(result.supergraphSdl))
    for (const domain of DOMAINS) {
      expect(checkedIn).toContain(`@join__graph(name: "${domain}", url: "http://127.0.0.1:`)
    }
  })
})

describe('the module map collected from the schemas', () => {
  it('matches the checked-in gateway/src/generated/module-gates.ts (run `pnpm compose` when this fails)', () => {
    const collected = collectModuleGates()
    expect(collected.ok ? [] : collected.errors).toEqual([])
    if (!collected.ok) return
    expect(readFileSync(MODULE_GATES_FILE, 'utf8')).toBe(moduleGatesFileContents(collected.gates))
  })

  it('matches the checked-in gateway/src/generated/cache-scopes.ts (run `pnpm compose` when this fails)', () => {
    expect(readFileSync(CACHE_SCOPES_FILE, 'utf8')).toBe(cacheScopesFileContents(collectCacheScopes()))
  })

  it('reads @module on types, fields and input fields, in type extensions too', () => {
    const collected = moduleGatesOf([
      [
        'one',
        `type Thing @module(id: "imports") { id: ID! size: Int @module(id: "completeness") }
         input ThingFilter { small: Boolean @module(id: "completeness") big: Boolean }
         enum Kind @module(id: "imports") { A }`,
      ],
      ['two', 'extend type Query { things: [Thing!]! @module(id: "imports") @module(id: "suppliers") }'],
    ])
    expect(collected).toEqual({
      ok: true,
      gates: {
        suppliers: { types: [], fields: ['Query.things'], inputs: [] },
        imports: { types: ['Kind', 'Thing'], fields: ['Query.things'], inputs: [] },
        completeness: { types: [], fields: ['Thing.size'], inputs: ['ThingFilter.small'] },
      },
    })
  })

  it('refuses an id that is not a module, naming the subgraph and the coordinate', () => {
    const collected = moduleGatesOf([['one', 'type Query { a: Int @module(id: "import") }']])
    expect(collected.ok).toBe(false)
    if (collected.ok) return
    expect(collected.errors).toHaveLength(1)
    expect(collected.errors[0]).toContain('one: Query.a @module(id:) must name a module of MODULE_IDS')
  })
})
