import { buildSubgraphSchema } from '@apollo/subgraph'
import { GraphQLError, graphql, parse } from 'graphql'
import { describe, expect, it } from 'vitest'
import {
  applyInputRules,
  CURSOR_MAX_LENGTH,
  checkInputText,
  DEFAULT_MAX_LENGTH,
  jsonInputError,
  rowInputError,
  scalarResolvers,
  textInputError,
} from '../src'
import { COMMON_SDL } from '../src/scalars'

function failure(fn: () => unknown): { message: string; [key: string]: unknown } {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(GraphQLError)
    return { message: (error as GraphQLError).message, ...(error as GraphQLError).extensions }
  }
  throw new Error('expected a failure')
}

describe('checkInputText', () => {
  it('refuses NUL, naming the field', () => {
    expect(failure(() => checkInputText('input.title', 'Per\u0000ceuse'))).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'input.title',
      message: 'input.title contains a NUL character (U+0000); remove it',
    })
  })

  it('keeps tabs and line breaks but refuses other controls, ESC sequences and bidi formatting', () => {
    expect(checkInputText('d', 'a\tb\nc\r\nd — “é” 😀')).toBe('a\tb\nc\r\nd — “é” 😀')
    for (const [char, name] of [
      ['\u001b[31m', 'U+001B'],
      ['\u0007', 'U+0007'],
      ['\u007f', 'U+007F'],
      ['\u009b', 'U+009B'],
      ['\u202e', 'U+202E'],
      ['\u202a', 'U+202A'],
      ['\u2066', 'U+2066'],
      ['\u2069', 'U+2069'],
      ['\u200e', 'U+200E'],
      ['\u200f', 'U+200F'],
      ['\u061c', 'U+061C'],
    ] as const) {
      const refusal = failure(() => checkInputText('rows[2].title', `ok${char}txt`))
      expect(refusal).toMatchObject({ code: 'BAD_USER_INPUT', field: 'rows[2].title' })
      expect(refusal.message).toContain(name)
    }
  })

  it('lets raw data keep controls, never NUL', () => {
    const raw = { maxLength: 100, allowControls: true }
    expect(checkInputText('rawValue', '\u001b[0m\u202e', raw)).toBe('\u001b[0m\u202e')
    expect(failure(() => checkInputText('rawValue', 'a\u0000', raw)).field).toBe('rawValue')
  })

  it('bounds the length in characters (code points), default 255', () => {
    expect(checkInputText('sku', 'x'.repeat(DEFAULT_MAX_LENGTH))).toHaveLength(DEFAULT_MAX_LENGTH)
    expect(failure(() => checkInputText('sku', 'x'.repeat(DEFAULT_MAX_LENGTH + 1)))).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'sku',
      maxLength: 255,
      message: 'sku is 256 characters long; at most 255 are allowed',
    })
    // 10 emoji are 20 UTF-16 units but 10 characters, as PostgreSQL counts VARCHAR(10).
    expect(textInputError('t', '😀'.repeat(10), { maxLength: 10, allowControls: false })).toBeNull()
    expect(textInputError('t', '😀'.repeat(11), { maxLength: 10, allowControls: false })?.message).toContain(
      '11 characters',
    )
    // A megabyte string is refused on its length, before anything scans it for characters.
    expect(failure(() => checkInputText('filter.search', `${'a'.repeat(1_000_000)}\u0000`)).maxLength).toBe(
      255,
    )
  })
})

describe('jsonInputError', () => {
  it('finds NUL in nested values and keys, naming the path', () => {
    expect(jsonInputError('input.config', { a: [1, { b: 'ok' }, { c: 'x\u0000' }] })?.extensions).toEqual({
      code: 'BAD_USER_INPUT',
      field: 'input.config.a[2].c',
    })
    expect(jsonInputError('input.config', { 'odd key': { 'k\u0000': 1 } })?.extensions.field).toBe(
      'input.config["odd key"]',
    )
    expect(jsonInputError('input.config', { text: 'ESC \u001b and \u202e are data here' })).toBeNull()
  })

  it('walks deep documents without recursion', () => {
    let deep: unknown = 'bottom\u0000'
    for (let i = 0; i < 100_000; i++) deep = [deep]
    expect(jsonInputError('v', deep)?.extensions.code).toBe('BAD_USER_INPUT')
  })
})

describe('applyInputRules', () => {
  const typeDefs = parse(/* GraphQL */ `
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@shareable"])
    input RowInput {
      title: String! @text(maxLength: 10)
      tags: [String!]
      data: JSONObject
    }
    input Filter {
      search: String
      inner: Filter
    }
    type ThingConnection {
      count: Int!
    }
    type Query {
      thing(sku: String!, filter: Filter, limit: Int): String
      things(first: Int, after: String): ThingConnection!
      note(text: String @text(maxLength: 5000)): String
    }
    type Mutation {
      put(rows: [RowInput!]! @rows, source: String): [String!]!
      one(row: RowInput!): String
    }
    ${COMMON_SDL}
  `)
  const schema = applyInputRules(
    buildSubgraphSchema([
      {
        typeDefs,
        resolvers: {
          ...scalarResolvers,
          Query: {
            thing: (_: unknown, args: { sku: string }) => args.sku,
            things: () => ({ count: 1 }),
            note: () => 'ok',
          },
          Mutation: {
            // As a bulk resolver does: each row refused alone, the others kept.
            put: (_: unknown, args: { rows: object[] }) =>
              args.rows.map((row, i) => rowInputError(row)?.extensions.field ?? `ok ${i}`),
            one: () => 'ok',
          } as any,
        },
      },
    ]),
  )
  const run = (source: string, variableValues?: Record<string, unknown>) =>
    graphql({ schema, source, variableValues })
  const refusal = async (source: string, variableValues?: Record<string, unknown>) => {
    const result = await run(source, variableValues)
    expect(result.errors).toHaveLength(1)
    return { message: result.errors![0]!.message, ...result.errors![0]!.extensions }
  }

  it('checks arguments, nested and recursive input fields before the resolver', async () => {
    expect((await run('{ thing(sku: "A-1") }')).data).toEqual({ thing: 'A-1' })
    expect(await refusal('query($s: String!) { thing(sku: $s) }', { s: 'a\u0000' })).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'sku',
    })
    expect(
      await refusal('query($f: Filter) { thing(sku: "a", filter: $f) }', {
        f: { inner: { inner: { search: '\u202egnp.exe' } } },
      }),
    ).toMatchObject({ code: 'BAD_USER_INPUT', field: 'filter.inner.inner.search' })
    expect(await refusal(`{ thing(sku: "${'x'.repeat(256)}") }`)).toMatchObject({
      field: 'sku',
      maxLength: DEFAULT_MAX_LENGTH,
    })
  })

  it('applies @text and the cursor bound', async () => {
    expect((await run(`{ note(text: "${'x'.repeat(5000)}") }`)).errors).toBeUndefined()
    expect(await refusal(`{ note(text: "${'x'.repeat(5001)}") }`)).toMatchObject({ maxLength: 5000 })
    expect(
      (await run(`{ things(after: "${'x'.repeat(CURSOR_MAX_LENGTH)}") { count } }`)).errors,
    ).toBeUndefined()
    expect(
      await refusal(`{ things(after: "${'x'.repeat(CURSOR_MAX_LENGTH + 1)}") { count } }`),
    ).toMatchObject({
      field: 'after',
      maxLength: CURSOR_MAX_LENGTH,
    })
  })

  it('checks list items and JSON inside input objects', async () => {
    expect(
      await refusal('mutation($r: RowInput!) { one(row: $r) }', {
        r: { title: 't', tags: ['a', 'b\u0000'] },
      }),
    ).toMatchObject({ field: 'row.tags[1]' })
    expect(
      await refusal('mutation($r: RowInput!) { one(row: $r) }', {
        r: { title: 't', data: { k: ['\u0000'] } },
      }),
    ).toMatchObject({ field: 'row.data.k[0]' })
    expect(await refusal('mutation { one(row: { title: "12345678901" }) }')).toMatchObject({
      field: 'row.title',
      maxLength: 10,
    })
  })

  it('leaves @rows rows to the resolver, one row at a time, and still refuses the other arguments', async () => {
    const rows = [
      { title: 'good' },
      { title: 'bad\u0000' },
      { title: 'x', data: { '\u0000': 1 } },
      { title: 'ok' },
    ]
    const result = await run('mutation($rows: [RowInput!]!) { put(rows: $rows) }', { rows })
    expect(result.errors).toBeUndefined()
    expect(result.data).toEqual({ put: ['ok 0', 'rows[1].title', 'rows[2].data', 'ok 3'] })
    expect(
      await refusal('mutation($rows: [RowInput!]!) { put(rows: $rows, source: "\u001b") }', { rows: [] }),
    ).toMatchObject({ field: 'source' })
  })

  it('refuses misplaced directives at build time', () => {
    const build = (sdl: string) => () =>
      applyInputRules(
        buildSubgraphSchema([
          {
            typeDefs: parse(
              `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@shareable"])\n${sdl}\n${COMMON_SDL}`,
            ),
          },
        ]),
      )
    expect(build('type Query { a(n: Int @text(maxLength: 3)): Int }')).toThrow(/@text applies to String/)
    expect(build('type Query { a(s: String @text(maxLength: 0)): Int }')).toThrow(/positive integer/)
    expect(build('type Query { a(s: [String!] @rows): Int }')).toThrow(
      /@rows applies to a list of input objects/,
    )
  })
})
