import { startTestStack, type TestStack } from '@pm/testing/stack'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// The custom scalars through the gateway: ids in any case name the same rows in every subgraph (the UUID
// scalar normalises them), and a malformed UUID, date or decimal is refused before any subgraph is asked.

let stack: TestStack<'core' | 'catalog' | 'imports'>
let supplierId = ''
let configId = ''

beforeAll(async () => {
  stack = await startTestStack({ only: ['core', 'catalog', 'imports'] })
  const supplier = await stack.request(
    'mutation { createSupplier(input: { code: "SCALARS", name: "Scalars supplier" }) { id } }',
  )
  expect(supplier.errors).toBeUndefined()
  supplierId = supplier.data.createSupplier.id
  const config = await stack.request(
    `mutation($input: CreateImportConfigInput!) { createImportConfig(input: $input) { id } }`,
    {
      input: {
        supplierCode: 'SCALARS',
        importType: 'products',
        configName: 'scalars',
        connectionConfig: { type: 'sftp', host: 'sftp.supplier.example', username: 'pm', path: '/out/' },
      },
    },
  )
  expect(config.errors).toBeUndefined()
  configId = config.data.createImportConfig.id
}, 120_000)

afterAll(async () => {
  await stack?.stop()
})

describe('UUID in any case', () => {
  it('finds the same rows from upper-case ids, in literals and variables, and answers lower case', async () => {
    const upper = supplierId.toUpperCase()
    const literal = await stack.request(`{ supplier(id: "${upper}") { id } }`)
    expect(literal.errors).toBeUndefined()
    expect(literal.data.supplier).toEqual({ id: supplierId })
    const variable = await stack.request('query($id: UUID!) { importConfig(id: $id) { id } }', {
      id: configId.toUpperCase(),
    })
    expect(variable.errors).toBeUndefined()
    expect(variable.data.importConfig).toEqual({ id: configId })
  })
})

describe('malformed custom-scalar values', () => {
  const before = () => stack.totalQueryCount({ except: ['core'] })

  it('refuses a malformed UUID variable as a request error: 400, no data, BAD_USER_INPUT', async () => {
    const statements = before()
    const answer = await stack.send(
      'query($id: UUID!) { supplier(id: $id) { id } }',
      { id: 'not-a-uuid' },
      { accept: 'application/graphql-response+json' },
    )
    expect(answer.status).toBe(400)
    expect(answer.body.data).toBeUndefined()
    expect(answer.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
    expect(answer.body.errors?.[0]?.message).toContain('UUID')
    expect(before()).toBe(statements)
  })

  it('refuses a malformed UUID or decimal literal as a validation error', async () => {
    const uuid = await stack.send('{ supplier(id: "12345") { id } }', undefined, {
      accept: 'application/graphql-response+json',
    })
    expect(uuid.status).toBe(400)
    expect(uuid.body.data).toBeUndefined()
    expect(uuid.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED')
  })

  it('refuses a malformed value nested in an input object variable', async () => {
    const statements = before()
    const answer = await stack.send(
      'mutation($id: UUID!, $source: ImportSourceInput!) { startImport(configId: $id, source: $source) { id } }',
      { id: configId, source: { uploadId: 'ffffffff-ffff-ffff-ffff-fffffffffffz' } },
      { accept: 'application/graphql-response+json' },
    )
    expect([answer.status, answer.body.data]).toEqual([400, undefined])
    expect(answer.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
    expect(before()).toBe(statements)
  })
})
