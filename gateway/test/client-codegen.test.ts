import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { codegen } from '@graphql-codegen/core'
import * as typescriptPlugin from '@graphql-codegen/typescript'
import * as operationsPlugin from '@graphql-codegen/typescript-operations'
import { buildSchema, parse, validate } from 'graphql'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

/**
 * What a front-end team does with the published schema (docs/api/schema.graphql): generate operation types
 * with graphql-codegen and compile its code under `tsc --strict`. Custom scalars it has not mapped are
 * `unknown` (as graphql-codegen's client preset makes them), so an entity id typed with a custom scalar
 * would force every client to map it: ids are `ID`, and client code uses them as strings with no scalar map.
 */

const SCHEMA_FILE = fileURLToPath(new URL('../../docs/api/schema.graphql', import.meta.url))

const OPERATIONS = /* GraphQL */ `
  query ProductPage($supplierId: UUID!, $first: Int, $after: String) {
    supplier(id: $supplierId) {
      id
      code
      products(first: $first, after: $after) {
        edges {
          node {
            id
            title
            brand { id }
            category { id }
            primaryImage { id url }
            media { id }
            bestAsinMatch { id asin }
          }
        }
        pageInfo { hasNextPage endCursor }
      }
    }
  }

  query ImportDashboard {
    importJobs(first: 10) {
      edges { node { id supplier { id } createdBy { id email } } }
    }
    exportJobs(first: 10) { edges { node { id } } }
    reports(first: 10) { edges { node { id } } }
  }

  mutation Rename($id: UUID!, $title: String!) {
    updateProduct(id: $id, input: { title: $title }) { id title }
  }
`

const CLIENT_CODE = `
import type { ImportDashboardQuery, ProductPageQuery, RenameMutationVariables } from './generated'

const byId = new Map<string, string>()
function remember(id: string, label: string): void { byId.set(id.toLowerCase(), label) }

export function onProductPage(data: ProductPageQuery): string[] {
  const supplier = data.supplier
  if (!supplier) return []
  remember(supplier.id, supplier.code)
  return (supplier.products?.edges ?? []).map(({ node }) => {
    remember(node.id, node.title)
    const related: Array<string | undefined> = [
      node.brand?.id, node.category?.id, node.primaryImage?.id, node.bestAsinMatch?.id, ...(node.media ?? []).map((m) => m.id),
    ]
    for (const id of related) if (id !== undefined) remember(id, node.title)
    return node.id
  })
}

export function onDashboard(data: ImportDashboardQuery): string[] {
  const ids: string[] = []
  for (const { node } of data.importJobs.edges) {
    ids.push(node.id)
    if (node.supplier) ids.push(node.supplier.id)
    if (node.createdBy) ids.push(node.createdBy.id)
  }
  for (const { node } of data.exportJobs.edges) ids.push(node.id)
  for (const { node } of data.reports.edges) ids.push(node.id)
  return ids
}

export function rename(productId: string, title: string): RenameMutationVariables {
  return { id: productId, title }
}
`

async function generate(): Promise<string> {
  const sdl = readFileSync(SCHEMA_FILE, 'utf8')
  const document = parse(OPERATIONS)
  expect(validate(buildSchema(sdl), document)).toEqual([])
  return codegen({
    schema: parse(sdl),
    documents: [{ document, location: 'operations.graphql' }],
    filename: 'generated.ts',
    config: { defaultScalarType: 'unknown', avoidOptionals: false },
    plugins: [{ typescript: {} }, { typescriptOperations: {} }],
    pluginMap: { typescript: typescriptPlugin, typescriptOperations: operationsPlugin },
  })
}

/** Type-checks the generated file and the client code together, as `tsc --strict` would, in a scratch folder. */
function compile(generated: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'client-codegen-'))
  try {
    writeFileSync(join(dir, 'generated.ts'), generated)
    writeFileSync(join(dir, 'client.ts'), CLIENT_CODE)
    const program = ts.createProgram([join(dir, 'client.ts')], {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      types: [],
      skipLibCheck: true,
    })
    return ts
      .getPreEmitDiagnostics(program)
      .map(
        (d) => `${basename(d.file?.fileName ?? '')}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
      )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

describe('a front end generating types from the published schema', () => {
  it('compiles under strict TypeScript with no scalar map for ids', async () => {
    const generated = await generate()
    expect(compile(generated)).toEqual([])
  }, 60_000)

  it('would not if an id were a custom scalar (the check can fail)', async () => {
    const generated = (await generate()).replace(
      /(export type ProductPageQuery = .*?)\bid: string/s,
      '$1id: unknown',
    )
    const errors = compile(generated)
    expect(errors.length).toBeGreaterThan(0)
    expect(errors.every((e) => e.startsWith('client.ts') && /'unknown' is not assignable/.test(e))).toBe(true)
  }, 60_000)
})
