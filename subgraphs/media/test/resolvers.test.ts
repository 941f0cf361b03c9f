import { missingResolvers } from '@pm/service-kit'
import { describe, expect, it } from 'vitest'
import { subgraph } from '../src/module'

describe('resolver map', () => {
  it('has a resolver for every Query and Mutation field and every entity this subgraph resolves', () => {
    expect(missingResolvers(subgraph)).toEqual([])
  })
})
