import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { Domain } from '@pm/db'
import { argumentTextRule, readSubgraphSdl, type TextRule, textRuleOf } from '@pm/service-kit'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import {
  buildASTSchema,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputField,
  type GraphQLInputType,
  type GraphQLSchema,
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  parse,
} from 'graphql'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { subgraphSchemaFile } from '../src/compose'

// The text input rules (packages/service-kit/src/inputs.ts) through the gateway, for every text argument and
// input field of every root field of the composed schema: the cases are generated from
// gateway/supergraph.graphql, so a new argument is tested the day it is added.

let stack: TestStack

const supergraph = buildASTSchema(
  parse(readFileSync(new URL('../supergraph.graphql', import.meta.url), 'utf8')),
  {
    assumeValidSDL: true,
  },
)
const subgraphs = new Map<string, GraphQLSchema>()
function subgraphSchema(domain: string): GraphQLSchema {
  let schema = subgraphs.get(domain)
  if (!schema) {
    schema = buildASTSchema(parse(readSubgraphSdl(subgraphSchemaFile(domain as Domain))), {
      assumeValidSDL: true,
    })
    subgraphs.set(domain, schema)
  }
  return schema
}

const TEXT = new Set(['String', 'ID', 'EmailAddress'])
const JSON_SCALARS = new Set(['JSON', 'JSONObject'])

type Step = { field: string } | { item: true }

interface TextCase {
  coordinate: string
  operation: 'query' | 'mutation'
  /** Root field as the supergraph declares it (argument types as clients write them). */
  field: GraphQLField<any, any>
  argument: string
  steps: Step[]
  /** The path the error must name, e.g. input.title or filter.search. */
  path: string
  leaf: string
  rule: TextRule
}

const has = (
  node: { astNode?: { directives?: readonly { name: { value: string } }[] } | null },
  name: string,
) => node.astNode?.directives?.some((d) => d.name.value === name) ?? false

/** The owning subgraph of a root field: @join__field(graph: X) on the supergraph field. */
function ownerOf(field: { astNode?: GraphQLField<unknown, unknown>['astNode'] }): string {
  const join = field.astNode?.directives?.find((d) => d.name.value === 'join__field')
  const graph = join?.arguments?.find((a) => a.name.value === 'graph')?.value
  if (graph?.kind !== 'EnumValue') throw new Error('a root field without @join__field(graph:)')
  return graph.value.toLowerCase()
}

/** Every text leaf under an input type, with the rule the owning subgraph declares for it. */
function leaves(
  type: GraphQLInputType,
  subType: GraphQLInputType,
  declared: GraphQLArgument | GraphQLInputField,
  steps: Step[],
  path: string,
  rule: () => TextRule,
  seen: Set<string>,
  out: Omit<TextCase, 'coordinate' | 'operation' | 'field' | 'argument'>[],
) {
  const nullable = getNullableType(type)
  const subNullable = getNullableType(subType)
  if (isListType(nullable) && isListType(subNullable)) {
    leaves(
      nullable.ofType,
      subNullable.ofType,
      declared,
      [...steps, { item: true }],
      `${path}[0]`,
      rule,
      seen,
      out,
    )
    return
  }
  if (isInputObjectType(nullable) && isInputObjectType(subNullable)) {
    if (seen.has(nullable.name)) return
    const subFields = subNullable.getFields()
    for (const f of Object.values(nullable.getFields())) {
      const subField = subFields[f.name]!
      leaves(
        f.type,
        subField.type,
        subField,
        [...steps, { field: f.name }],
        `${path}.${f.name}`,
        () => textRuleOf(subField),
        new Set([...seen, nullable.name]),
        out,
      )
    }
    return
  }
  const name = getNamedType(type).name
  if (TEXT.has(name) || JSON_SCALARS.has(name)) out.push({ steps, path, leaf: name, rule: rule() })
}

const rowsArguments: string[] = []

function textCases(): TextCase[] {
  const cases: TextCase[] = []
  for (const [operation, root] of [
    ['query', supergraph.getQueryType()!],
    ['mutation', supergraph.getMutationType()!],
  ] as const) {
    for (const field of Object.values(root.getFields())) {
      if (has(field, 'inaccessible') || field.name.startsWith('_')) continue
      const owner = subgraphSchema(ownerOf(field))
      const ownerRoot = operation === 'query' ? owner.getQueryType()! : owner.getMutationType()!
      const subField = ownerRoot.getFields()[field.name]!
      for (const argument of field.args) {
        const subArgument = subField.args.find((a) => a.name === argument.name)!
        if (has(subArgument, 'rows')) {
          rowsArguments.push(`${root.name}.${field.name}(${argument.name}:)`)
          continue
        }
        const out: Omit<TextCase, 'coordinate' | 'operation' | 'field' | 'argument'>[] = []
        leaves(
          argument.type,
          subArgument.type,
          subArgument,
          [],
          argument.name,
          () => argumentTextRule(subField, subArgument),
          new Set(),
          out,
        )
        for (const leaf of out) {
          cases.push({
            coordinate: `${root.name}.${field.name}`,
            operation,
            field,
            argument: argument.name,
            ...leaf,
          })
        }
      }
    }
  }
  return cases
}

/** A valid-looking value for a required input: it only has to pass GraphQL's coercion. */
function filler(type: GraphQLInputType): unknown {
  const nullable = getNullableType(type)
  if (isListType(nullable)) return [filler(nullable.ofType)]
  if (isInputObjectType(nullable)) {
    const value: Record<string, unknown> = {}
    for (const f of Object.values(nullable.getFields())) {
      if (isNonNullType(f.type) && f.defaultValue === undefined) value[f.name] = filler(f.type)
    }
    return value
  }
  if (isEnumType(nullable)) return nullable.getValues()[0]!.name
  const scalar: Record<string, unknown> = {
    String: 'a',
    ID: 'a',
    Int: 1,
    Float: 1,
    Boolean: false,
    UUID: randomUUID(),
    DateTime: '2026-01-01T00:00:00.000Z',
    LocalDate: '2026-01-01',
    Decimal: '1',
    EmailAddress: 'a@example.com',
    JSON: {},
    JSONObject: {},
    SafeInt: 1,
  }
  const name = isScalarType(nullable) ? nullable.name : ''
  if (!(name in scalar)) throw new Error(`no filler for ${name}: add one`)
  return scalar[name]
}

/** The argument's value with leaf at the end of steps (one list item on the way, required fields filled). */
function valueAt(type: GraphQLInputType, steps: Step[], leaf: unknown): unknown {
  if (steps.length === 0) return leaf
  const nullable = getNullableType(type)
  const [step, ...rest] = steps
  if (isListType(nullable)) return [valueAt(nullable.ofType, rest, leaf)]
  if (isInputObjectType(nullable) && step && 'field' in step) {
    const value = filler(nullable) as Record<string, unknown>
    value[step.field] = valueAt(nullable.getFields()[step.field]!.type, rest, leaf)
    return value
  }
  throw new Error(`cannot follow ${JSON.stringify(step)}`)
}

function request(c: TextCase, leaf: unknown) {
  const variables: Record<string, unknown> = {}
  const declarations: string[] = []
  const passed: string[] = []
  for (const argument of c.field.args) {
    const target = argument.name === c.argument
    if (!target && !(isNonNullType(argument.type) && argument.defaultValue === undefined)) continue
    variables[argument.name] = target ? valueAt(argument.type, c.steps, leaf) : filler(argument.type)
    declarations.push(`$${argument.name}: ${argument.type.toString()}`)
    passed.push(`${argument.name}: $${argument.name}`)
  }
  const returned = getNamedType(c.field.type)
  const selection = isScalarType(returned) || isEnumType(returned) ? '' : ' { __typename }'
  const query = `${c.operation}(${declarations.join(', ')}) { ${c.field.name}(${passed.join(', ')})${selection} }`
  return stack.request(query, variables)
}

/** Runs fn over items, a few at a time (the machine is shared). */
async function inBatches<T>(items: T[], fn: (item: T) => Promise<void>) {
  for (let i = 0; i < items.length; i += 6) await Promise.all(items.slice(i, i + 6).map(fn))
}

async function expectRefusal(c: TextCase, leaf: unknown, path: string, extra: Record<string, unknown> = {}) {
  const res = await request(c, leaf)
  const error = res.errors?.[0]
  const where = `${c.coordinate} ${path}`
  expect(error?.extensions?.code, `${where}: ${JSON.stringify(res.errors ?? res.data).slice(0, 300)}`).toBe(
    'BAD_USER_INPUT',
  )
  if (c.leaf === 'EmailAddress' && error?.extensions?.field !== path) {
    // The scalar refuses a malformed address while coercing the variable, before any resolver: it names the
    // variable.
    expect(error!.message, where).toContain(`$${c.argument}`)
  } else {
    expect(error!.extensions, where).toMatchObject({ field: path, ...extra })
  }
}

const CASES = textCases()

beforeAll(async () => {
  stack = await startTestStack()
}, 180_000)
afterAll(() => stack?.stop())

describe('text inputs of every root field', () => {
  it('finds the text inputs in the composed schema', () => {
    const coordinates = new Set(CASES.map((c) => c.coordinate))
    for (const known of [
      'Query.productBySku',
      'Query.users',
      'Mutation.createProduct',
      'Mutation.setAppSetting',
    ]) {
      expect(coordinates).toContain(known)
    }
    expect(CASES.length).toBeGreaterThan(150)
    // Bulk row arguments are refused row by row, each tested below: a new one needs its own test.
    expect(rowsArguments.sort()).toEqual([
      'Mutation.appendImportErrors(errors:)',
      'Mutation.appendImportLogs(entries:)',
      'Mutation.recordAsinResults(results:)',
      'Mutation.upsertProducts(rows:)',
    ])
  })

  it('refuses NUL in every text argument, input field and JSON value, naming it', async () => {
    await inBatches(CASES, async (c) => {
      if (JSON_SCALARS.has(c.leaf)) {
        await expectRefusal(c, { note: ['ok', 'a\u0000b'] }, `${c.path}.note[1]`)
        await expectRefusal(c, { 'k\u0000': 1 }, c.path)
      } else {
        await expectRefusal(c, 'a\u0000b', c.path)
      }
    })
  }, 600_000)

  it('bounds every text argument and input field by its declared length (default 255)', async () => {
    await inBatches(
      CASES.filter((c) => !JSON_SCALARS.has(c.leaf)),
      async (c) => {
        const long =
          c.leaf === 'EmailAddress'
            ? `${'a'.repeat(c.rule.maxLength)}@example.com`
            : 'a'.repeat(c.rule.maxLength + 1)
        await expectRefusal(c, long, c.path, c.leaf === 'EmailAddress' ? {} : { maxLength: c.rule.maxLength })
      },
    )
  }, 600_000)

  it('refuses control and bidi characters in text inputs (ESC sequences, U+202E)', async () => {
    await inBatches(
      CASES.filter((c) => TEXT.has(c.leaf) && c.leaf !== 'EmailAddress' && !c.rule.allowControls),
      async (c) => {
        await expectRefusal(c, c.leaf === 'ID' ? '\u202e1' : 'ab\u001b[2Jcd', c.path)
      },
    )
  }, 600_000)
})

describe('bulk rows', () => {
  const ok = async (query: string, variables?: Record<string, unknown>) => {
    const res = await stack.request(query, variables)
    expect(res.errors).toBeUndefined()
    return res.data
  }

  it('upsertProducts writes the good rows and reports the NUL, bidi and over-long ones by index', async () => {
    const { createSupplier } = await ok(
      'mutation { createSupplier(input: { code: "NUL-SUP", name: "Nul" }) { id } }',
    )
    const rows = [
      { supplierId: createSupplier.id, sku: 'N-1', title: 'Perceuse' },
      { supplierId: createSupplier.id, sku: 'N-2', title: 'Scie\u0000' },
      { supplierId: createSupplier.id, sku: 'N-3', title: 'Marteau', description: 'Evil \u202egnp.exe' },
      { supplierId: createSupplier.id, sku: 'N-4', title: 'x'.repeat(501) },
      { supplierId: createSupplier.id, sku: 'N-5', title: 'Tournevis', technicalSpecs: { 'a\u0000': 'b' } },
      { supplierId: createSupplier.id, sku: 'N-6', title: 'Pince\nmulti-ligne\tok' },
    ]
    const { upsertProducts } = await ok(
      `mutation($rows: [ProductUpsertInput!]!) {
        upsertProducts(rows: $rows) { created failed results { index status error { code field message } } }
      }`,
      { rows },
    )
    expect(upsertProducts).toMatchObject({ created: 2, failed: 4 })
    const byIndex = new Map(upsertProducts.results.map((r: any) => [r.index, r]))
    expect(byIndex.get(0)).toMatchObject({ status: 'CREATED', error: null })
    expect(byIndex.get(5)).toMatchObject({ status: 'CREATED', error: null })
    expect(byIndex.get(1)).toMatchObject({
      status: 'FAILED',
      error: { code: 'BAD_USER_INPUT', field: 'rows[1].title' },
    })
    expect(byIndex.get(2)).toMatchObject({ status: 'FAILED', error: { field: 'rows[2].description' } })
    expect((byIndex.get(2) as any).error.message).toContain('U+202E')
    expect(byIndex.get(3)).toMatchObject({ status: 'FAILED', error: { field: 'rows[3].title' } })
    expect((byIndex.get(3) as any).error.message).toContain('at most 500')
    expect(byIndex.get(4)).toMatchObject({ status: 'FAILED', error: { field: 'rows[4].technicalSpecs' } })
    const stored = await stack.subgraphs.catalog.database.db
      .selectFrom('products')
      .select(['sku', 'title'])
      .where('supplier_id', '=', createSupplier.id)
      .orderBy('sku')
      .execute()
    expect(stored).toEqual([
      { sku: 'N-1', title: 'Perceuse' },
      { sku: 'N-6', title: 'Pince\nmulti-ligne\tok' },
    ])
  })

  it('recordAsinResults keeps the good results and rejects the NUL row', async () => {
    const { createProduct } = await ok('mutation { createProduct(input: { title: "Asin" }) { id } }')
    const { createCode2AsinJob: job } = await ok(
      'mutation($input: CreateCode2AsinJobInput!) { createCode2AsinJob(input: $input) { id } }',
      { input: { productIds: [createProduct.id] } },
    )
    const result = (
      await ok(
        `mutation($jobId: UUID!, $results: [Code2AsinResultInput!]!) {
          recordAsinResults(jobId: $jobId, results: $results) { recorded { asin } rejected { index field code } }
        }`,
        {
          jobId: job.id,
          results: [
            { productId: createProduct.id, asin: 'B0NULTEST1', matchType: 'EXACT', matchConfidence: '99' },
            { productId: createProduct.id, asin: 'B0NULTEST2', matchType: 'EXACT', amazonTitle: 'T\u0000' },
            { productId: createProduct.id, asin: 'B0NULTEST3', matchType: 'EXACT', amazonImages: ['\u202e'] },
          ],
        },
      )
    ).recordAsinResults
    expect(result.recorded).toEqual([{ asin: 'B0NULTEST1' }])
    expect(result.rejected).toEqual([
      { index: 1, field: 'results[1].amazonTitle', code: 'BAD_USER_INPUT' },
      { index: 2, field: 'results[2].amazonImages[0]', code: 'BAD_USER_INPUT' },
    ])
  })

  it('appendImportLogs and appendImportErrors write the good entries and reject the bad ones', async () => {
    await ok('mutation { createSupplier(input: { code: "NUL-IMP", name: "Imports" }) { id } }')
    const { createImportJob: job } = await ok(
      'mutation { createImportJob(input: { supplierCode: "NUL-IMP", importType: "csv" }) { id } }',
    )
    await ok('mutation($id: UUID!) { setImportJobStatus(id: $id, status: RUNNING) { id } }', { id: job.id })
    const logs = (
      await ok(
        `mutation($jobId: UUID!, $entries: [ImportLogEntryInput!]!) {
          appendImportLogs(jobId: $jobId, entries: $entries) { appended rejected { index field code message } }
        }`,
        {
          jobId: job.id,
          entries: [
            { message: 'Ligne lue' },
            { message: 'Ligne\u0000' },
            { message: 'Contexte', details: { cell: 'x\u0000' } },
            { message: '\u001b[31mrouge' },
          ],
        },
      )
    ).appendImportLogs
    expect(logs.appended).toBe(1)
    expect(logs.rejected.map((r: any) => [r.index, r.field, r.code])).toEqual([
      [1, 'entries[1].message', 'BAD_USER_INPUT'],
      [2, 'entries[2].details.cell', 'BAD_USER_INPUT'],
      [3, 'entries[3].message', 'BAD_USER_INPUT'],
    ])
    const errors = (
      await ok(
        `mutation($jobId: UUID!, $errors: [ImportErrorEntryInput!]!) {
          appendImportErrors(jobId: $jobId, errors: $errors) {
            appended rejected { index field } job { errorCount errors(first: 5) { edges { node { rawValue } } } }
          }
        }`,
        {
          jobId: job.id,
          errors: [
            // A raw cell is quoted as the file had it, control characters included.
            { errorCode: 'BAD_CELL', message: 'Caractère de contrôle', rawValue: 'a\u001bb' },
            { errorCode: 'BAD_CELL', message: 'NUL', rawValue: 'a\u0000b' },
            { errorCode: 'BAD\u0000CODE', message: 'x' },
          ],
        },
      )
    ).appendImportErrors
    expect(errors.appended).toBe(1)
    expect(errors.rejected).toEqual([
      { index: 1, field: 'errors[1].rawValue' },
      { index: 2, field: 'errors[2].errorCode' },
    ])
    expect(errors.job.errorCount).toBe(1)
    expect(errors.job.errors.edges.map((e: any) => e.node.rawValue)).toEqual(['a\u001bb'])
  })
})
