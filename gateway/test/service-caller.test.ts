import {
  ANONYMOUS,
  callerSignature,
  encodeCaller,
  GATEWAY_TARGET,
  GraphQueryError,
  queryGraph,
  SERVICE,
  signCaller,
} from '@pm/service-kit'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let stack: TestStack<'core' | 'catalog'>

beforeAll(async () => {
  stack = await startTestStack({ only: ['core', 'catalog'] })
}, 120_000)
afterAll(() => stack?.stop())

const QUERY = 'query { products(first: 1) { totalCount } }'

async function post(body: string, headers: Record<string, string>) {
  const response = await fetch(stack.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  })
  return { status: response.status, body: (await response.json()) as Record<string, any> }
}

describe('the platform querying the whole graph as its signed service', () => {
  it('queryGraph runs an operation as SERVICE through the gateway', async () => {
    const data = await queryGraph<{ products: { totalCount: number } }>(
      stack.gatewayUrl,
      stack.secrets.signing,
      QUERY,
    )
    expect(data.products.totalCount).toBe(0)
  })

  it('a GraphQL error comes back as GraphQueryError with its code', async () => {
    await expect(
      queryGraph(stack.gatewayUrl, stack.secrets.signing, 'query { products(first: 1001) { totalCount } }'),
    ).rejects.toBeInstanceOf(GraphQueryError)
  })

  it('refuses a signature made with another secret', async () => {
    const body = JSON.stringify({ query: QUERY })
    const res = await post(
      body,
      signCaller(SERVICE, 'x'.repeat(40), { target: GATEWAY_TARGET, payload: body }),
    )
    expect(res.status).toBe(401)
    expect(res.body.errors[0].extensions.code).toBe('UNAUTHENTICATED')
  })

  it('refuses a stale signature', async () => {
    const body = JSON.stringify({ query: QUERY })
    const headers = signCaller(
      SERVICE,
      stack.secrets.signing,
      { target: GATEWAY_TARGET, payload: body },
      Date.now() - 60_000,
    )
    expect((await post(body, headers)).status).toBe(401)
  })

  it('refuses a signature taken from another body or made for a subgraph', async () => {
    const body = JSON.stringify({ query: QUERY })
    const other = JSON.stringify({ query: 'query { products(first: 2) { totalCount } }' })
    const headers = signCaller(SERVICE, stack.secrets.signing, { target: GATEWAY_TARGET, payload: other })
    expect((await post(body, headers)).status).toBe(401)
    const forCatalog = signCaller(SERVICE, stack.secrets.signing, { target: 'catalog', payload: body })
    expect((await post(body, forCatalog)).status).toBe(401)
  })

  it('refuses a signed identity that is not the service, a signature alone, and one mixed with a token', async () => {
    const body = JSON.stringify({ query: QUERY })
    const anonymous = encodeCaller(ANONYMOUS)
    const headers = {
      'x-pm-caller': anonymous,
      'x-pm-signature': callerSignature(anonymous, stack.secrets.signing, {
        target: GATEWAY_TARGET,
        payload: body,
      }),
    }
    expect((await post(body, headers)).status).toBe(401)
    expect((await post(body, { 'x-pm-signature': 'abc' })).status).toBe(401)
    const signed = signCaller(SERVICE, stack.secrets.signing, { target: GATEWAY_TARGET, payload: body })
    expect((await post(body, { ...signed, authorization: `Bearer ${stack.tokenFor({})}` })).status).toBe(401)
  })
})
