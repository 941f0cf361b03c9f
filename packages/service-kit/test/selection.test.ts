import { buildSubgraphSchema } from '@apollo/subgraph'
import { execute, type GraphQLResolveInfo, graphql, parse } from 'graphql'
import { describe, expect, it } from 'vitest'
import { oncePerField, type Selection, selectionOf } from '../src'

const SDL = /* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])

  type Query {
    products(first: Int = 20, after: String): ProductConnection!
    product(id: ID!): Product
    node(id: ID!): Node
  }
  interface Node {
    id: ID!
  }
  type ProductConnection {
    edges: [ProductEdge!]!
    totalCount: Int!
  }
  type ProductEdge {
    cursor: String!
    node: Product!
  }
  type Product implements Node @key(fields: "id") {
    id: ID!
    title: String
    prices(activeOnly: Boolean = true): [Price!]!
    history(first: Int = 20, after: String): HistoryConnection!
    brand: Brand
  }
  type Brand implements Node @key(fields: "id") {
    id: ID!
    name: String
  }
  type Price {
    amount: String
  }
  type HistoryConnection {
    edges: [HistoryEdge!]!
    totalCount: Int!
  }
  type HistoryEdge {
    node: History!
  }
  type History {
    id: ID!
  }
`

type Capture = { root?: GraphQLResolveInfo; entities?: GraphQLResolveInfo; entityCalls: number }

function schemaCapturing(capture: Capture) {
  return buildSubgraphSchema([
    {
      typeDefs: parse(SDL),
      resolvers: {
        Query: {
          products: (_: unknown, __: unknown, ___: unknown, info: GraphQLResolveInfo) => {
            capture.root = info
            return { edges: [], totalCount: 0 }
          },
          product: (_: unknown, { id }: { id: string }, __: unknown, info: GraphQLResolveInfo) => {
            capture.root = info
            return { id }
          },
          node: (_: unknown, { id }: { id: string }, __: unknown, info: GraphQLResolveInfo) => {
            capture.root = info
            return { __typename: 'Product', id }
          },
        },
        Node: { __resolveType: () => 'Product' },
        Product: {
          __resolveReference: (ref: { id: string }, _: unknown, info: GraphQLResolveInfo) => {
            capture.entities = info
            capture.entityCalls++
            return { id: ref.id }
          },
          prices: () => [],
          history: () => ({ edges: [], totalCount: 0 }),
        },
      } as any,
    },
  ])
}

async function run(source: string, variableValues: Record<string, unknown> = {}) {
  const capture: Capture = { entityCalls: 0 }
  const result = await graphql({ schema: schemaCapturing(capture), source, variableValues })
  expect(result.errors).toBeUndefined()
  return capture
}

/** A selection as plain data: response key, field name, arguments and what is under it. */
function describeSelection(selection: Selection): unknown[] {
  return selection.fields().map((f) => {
    const below = f.selection()
    return {
      key: f.responseKey,
      name: f.name,
      args: f.args,
      ...(below.type ? { fields: describeSelection(below) } : {}),
    }
  })
}

const names = (selection: Selection) => selection.fields().map((f) => f.responseKey)

describe('selectionOf', () => {
  it('walks a connection down to its nodes, through inline fragments and named fragments', async () => {
    const { root } = await run(/* GraphQL */ `
      query Page($n: Int) {
        products(first: $n) {
          totalCount
          edges {
            cursor
            node { id ...Listing ... on Product { brand { id } } }
          }
          ... on ProductConnection { edges { node { title } } }
        }
      }
      fragment Listing on Product {
        title
        prices { amount }
        ... on Node { id }
      }
    `)
    const products = selectionOf(root!)
    expect(names(products)).toEqual(['totalCount', 'edges'])
    const node = products.at('edges', 'node')
    expect(node.type?.name).toBe('Product')
    expect(names(node)).toEqual(['id', 'title', 'prices', 'brand'])
    expect(node.field('prices')[0]!.args).toEqual({ activeOnly: true })
    expect(names(node.field('brand')[0]!.selection())).toEqual(['id'])
    expect(node.has('history')).toBe(false)
    // A path that is not selected is an empty selection, not an error.
    expect(products.at('edges', 'missing').fields()).toEqual([])
    expect(node.at('history', 'edges').fields()).toEqual([])
  })

  it('keeps aliases apart with their own arguments, resolved against variables, defaults applied', async () => {
    const { root } = await run(
      /* GraphQL */ `
        query Detail($all: Boolean!, $n: Int, $after: String) {
          product(id: "p1") {
            active: prices { amount }
            every: prices(activeOnly: $all) { a: amount }
            latest: history(first: $n) { totalCount }
            older: history(first: 3, after: $after) { edges { node { id } } }
            history { edges { node { id } } }
          }
        }
      `,
      { all: false, n: 30, after: 'c1' },
    )
    expect(describeSelection(selectionOf(root!))).toEqual([
      {
        key: 'active',
        name: 'prices',
        args: { activeOnly: true },
        fields: [{ key: 'amount', name: 'amount', args: {} }],
      },
      {
        key: 'every',
        name: 'prices',
        args: { activeOnly: false },
        fields: [{ key: 'a', name: 'amount', args: {} }],
      },
      {
        key: 'latest',
        name: 'history',
        args: { first: 30 },
        fields: [{ key: 'totalCount', name: 'totalCount', args: {} }],
      },
      {
        key: 'older',
        name: 'history',
        args: { first: 3, after: 'c1' },
        fields: [
          {
            key: 'edges',
            name: 'edges',
            args: {},
            fields: [{ key: 'node', name: 'node', args: {}, fields: [{ key: 'id', name: 'id', args: {} }] }],
          },
        ],
      },
      {
        key: 'history',
        name: 'history',
        args: { first: 20 },
        fields: [
          {
            key: 'edges',
            name: 'edges',
            args: {},
            fields: [{ key: 'node', name: 'node', args: {}, fields: [{ key: 'id', name: 'id', args: {} }] }],
          },
        ],
      },
    ])
    // A variable left out of the request: the argument's default, as the resolver would get it.
    const { root: unset } = await run(
      'query($n: Int) { product(id: "p1") { history(first: $n) { totalCount } } }',
      {},
    )
    expect(selectionOf(unset!).field('history')[0]!.args).toEqual({ first: 20 })
    const { root: nulled } = await run(
      'query($n: Int) { product(id: "p1") { history(first: $n) { totalCount } } }',
      {
        n: null,
      },
    )
    expect(selectionOf(nulled!).field('history')[0]!.args).toEqual({ first: null })
  })

  it('honours @skip and @include on fields, inline fragments and fragment spreads', async () => {
    const { root } = await run(
      /* GraphQL */ `
        query($yes: Boolean!, $no: Boolean!) {
          product(id: "p1") {
            id
            title @skip(if: $yes)
            brand @include(if: $yes) { id }
            prices @include(if: $no) { amount }
            ... on Product @skip(if: $yes) { history { totalCount } }
            ...Named @include(if: $no)
            ... @include(if: $yes) { a: title }
            b: title @skip(if: false) @include(if: true)
            c: title @skip(if: true) @include(if: true)
          }
        }
        fragment Named on Product { d: title }
      `,
      { yes: true, no: false },
    )
    expect(names(selectionOf(root!))).toEqual(['id', 'brand', 'a', 'b'])
  })

  it('reads an _entities selection as the gateway sends it: typed fragments, aliases, __typename', async () => {
    const capture = await run(
      /* GraphQL */ `
        query($representations: [_Any!]!, $size: Boolean = true) {
          _entities(representations: $representations) {
            __typename
            ... on Brand { name }
            ... on Product {
              id
              p0: prices(activeOnly: false) { amount }
              brand @include(if: $size) { name }
            }
            ... on Node { id }
          }
        }
      `,
      {
        representations: [
          { __typename: 'Product', id: 'p1' },
          { __typename: 'Product', id: 'p2' },
        ],
      },
    )
    expect(capture.entityCalls).toBe(2)
    const product = selectionOf(capture.entities!, 'Product')
    expect(names(product)).toEqual(['__typename', 'id', 'p0', 'brand'])
    expect(product.field('prices')[0]).toMatchObject({ responseKey: 'p0', args: { activeOnly: false } })
    expect(names(selectionOf(capture.entities!, 'Brand'))).toEqual(['__typename', 'name', 'id'])
    // _entities is a union: without the object type, which fields apply is unknown.
    expect(() => selectionOf(capture.entities!)).toThrow(/abstract/)
    expect(() => selectionOf(capture.entities!, 'Price')).toThrow(/not an object type of _Entity/)
  })

  it('works under an interface-typed field once the object type is named', async () => {
    const { root } = await run('{ node(id: "p1") { id ... on Product { title } ... on Brand { name } } }')
    expect(names(selectionOf(root!, 'Product'))).toEqual(['id', 'title'])
  })

  it('computes a per-field value once for every parent of one execution, again for the next', async () => {
    let computed = 0
    const plan = oncePerField((info) => {
      computed++
      return names(selectionOf(info, 'Product'))
    })
    const capture: Capture = { entityCalls: 0 }
    const schema = schemaCapturing(capture)
    const seen: unknown[] = []
    const product = schema.getType('Product') as unknown as {
      resolveReference?: unknown
      extensions: {
        apollo: { subgraph: { resolveReference: (r: unknown, c: unknown, i: GraphQLResolveInfo) => unknown } }
      }
    }
    const original = product.extensions.apollo.subgraph.resolveReference
    product.extensions.apollo.subgraph.resolveReference = (ref, ctx, info) => {
      seen.push(plan(info))
      return original(ref, ctx, info)
    }
    // One parsed document executed twice, as Apollo Server's document cache does.
    const document = parse(
      'query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { id title } } }',
    )
    const r = [1, 2, 3].map((n) => ({ __typename: 'Product', id: `p${n}` }))
    await execute({ schema, document, variableValues: { r } })
    expect(computed).toBe(1)
    await execute({ schema, document, variableValues: { r } })
    expect(computed).toBe(2)
    expect(seen).toEqual(Array.from({ length: 6 }, () => ['id', 'title']))
  })
})
