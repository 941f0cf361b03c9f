import { buildSubgraphSchema } from '@apollo/subgraph'
import { graphql, parse } from 'graphql'
import { describe, expect, it } from 'vitest'
import { applyEnumDefaults, checkEnumResolvers, enumValues } from '../src'

const SDL = parse(/* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])

  enum ProductStatus {
    ACTIVE
    OUT_OF_STOCK
  }

  input Filter {
    status: ProductStatus = OUT_OF_STOCK
  }

  type Query {
    status(is: ProductStatus!): ProductStatus
    stored: ProductStatus
    byDefault(is: ProductStatus = ACTIVE, filter: Filter = {}): [ProductStatus]
  }
`)

describe('enums over stored values', () => {
  it('names each stored value upper-cased', () => {
    expect(enumValues(['active', 'out_of_stock'] as const)).toEqual({
      ACTIVE: 'active',
      OUT_OF_STOCK: 'out_of_stock',
    })
  })

  it('gives resolvers the stored value and answers the enum name', async () => {
    let received: unknown
    const resolvers = {
      ProductStatus: enumValues(['active', 'out_of_stock'] as const),
      Query: {
        status: (_: unknown, args: { is: string }) => {
          received = args.is
          return args.is
        },
        stored: () => 'out_of_stock',
      },
    }
    const schema = buildSubgraphSchema([{ typeDefs: SDL, resolvers }])
    checkEnumResolvers(schema, resolvers)
    const res = await graphql({ schema, source: '{ status(is: OUT_OF_STOCK) stored }' })
    expect(res.errors).toBeUndefined()
    expect(received).toBe('out_of_stock')
    expect(res.data).toEqual({ status: 'OUT_OF_STOCK', stored: 'OUT_OF_STOCK' })
    const refused = await graphql({ schema, source: '{ status(is: SOLD) }' })
    expect(refused.errors?.[0]?.message).toMatch(/Value "SOLD" does not exist in "ProductStatus" enum/)
  })

  it('gives resolvers the stored value of a default, as of a value given', async () => {
    const seen: unknown[] = []
    const resolvers = {
      ProductStatus: enumValues(['active', 'out_of_stock'] as const),
      Query: {
        byDefault: (_: unknown, args: { is: string; filter: { status: string } }) => {
          seen.push(args.is, args.filter.status)
          return [args.is, args.filter.status]
        },
      },
    }
    const schema = buildSubgraphSchema([{ typeDefs: SDL, resolvers }])
    applyEnumDefaults(schema)
    const res = await graphql({
      schema,
      source: '{ a: byDefault b: byDefault(is: OUT_OF_STOCK, filter: { status: ACTIVE }) }',
    })
    expect(res.errors).toBeUndefined()
    expect(seen).toEqual(['active', 'out_of_stock', 'out_of_stock', 'active'])
    expect(res.data).toEqual({ a: ['ACTIVE', 'OUT_OF_STOCK'], b: ['OUT_OF_STOCK', 'ACTIVE'] })
  })

  it('refuses a map whose values differ from the schema enum', () => {
    const missing = { ProductStatus: enumValues(['active'] as const) }
    expect(() =>
      checkEnumResolvers(buildSubgraphSchema([{ typeDefs: SDL, resolvers: missing }]), missing),
    ).toThrow(
      /enum ProductStatus: values without a stored value: OUT_OF_STOCK; stored values without an enum value: none/,
    )
    const extra = { ProductStatus: enumValues(['active', 'out_of_stock', 'draft'] as const) }
    expect(() =>
      checkEnumResolvers(buildSubgraphSchema([{ typeDefs: SDL, resolvers: extra }]), extra),
    ).toThrow(/stored values without an enum value: DRAFT/)
  })
})
