import { buildSubgraphSchema } from '@apollo/subgraph'
import { graphql, parse } from 'graphql'
import { describe, expect, it } from 'vitest'
import { checkEnumResolvers, enumValues } from '../src'

const SDL = parse(/* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])

  enum ProductStatus {
    ACTIVE
    OUT_OF_STOCK
  }

  type Query {
    status(is: ProductStatus!): ProductStatus
    stored: ProductStatus
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
