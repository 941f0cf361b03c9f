import { existsSync, readFileSync } from 'node:fs'
import { DOMAINS } from '@pm/db'
import { describe, expect, it } from 'vitest'
import { composeSupergraph, SUPERGRAPH_FILE, supergraphFileContents } from '../src/compose'

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
