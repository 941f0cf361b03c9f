import { randomBytes } from 'node:crypto'
import { DOMAINS } from '@pm/db'
import { createTestDatabase, type TestDatabase } from '@pm/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { gatewaySettings, type RunningStart, start } from '../src/start'

/**
 * `pnpm start`'s own code path (the start function the CLI calls), on fresh databases of the test server:
 * the gateway it runs takes the settings the README documents, as the gateway started alone does.
 */
let running: RunningStart | undefined
const databases: TestDatabase[] = []
let env: Record<string, string | undefined>

beforeAll(async () => {
  env = {
    LOG_LEVEL: 'error',
    NODE_ENV: 'production',
    GATEWAY_SIGNING_SECRET: randomBytes(32).toString('base64url'),
    AUTH_TOKEN_SECRET: randomBytes(32).toString('base64url'),
    GATEWAY_RATE_LIMIT_PER_MINUTE: '3',
    GATEWAY_PORT: '0',
    GATEWAY_ADMIN_PORT: '0',
  }
  for (const domain of DOMAINS) {
    const database = await createTestDatabase(`start_${domain}`)
    databases.push(database)
    env[`DB_${domain.toUpperCase()}_URL`] = database.url
    env[`SUBGRAPH_${domain.toUpperCase()}_PORT`] = '0'
    env[`SUBGRAPH_${domain.toUpperCase()}_ADMIN_PORT`] = '0'
  }
  // Nothing in process.env: the services started get their settings from `env`, the secrets included.
  delete process.env.GATEWAY_SIGNING_SECRET
  delete process.env.AUTH_TOKEN_SECRET
  running = await start({ seed: false, env, handleSignals: false })
}, 180_000)

afterAll(async () => {
  await running?.stop()
  await Promise.all(databases.map((d) => d.drop()))
})

const post = (url: string, query: string) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  })

describe('pnpm start keeps the gateway settings of its environment', () => {
  it('reads them with the gateway’s own loader', () => {
    expect(gatewaySettings({ ...env, GATEWAY_WORKERS: '4' })).toMatchObject({
      mode: 'production',
      introspection: false,
      graphiql: false,
      rateLimitPerMinute: 3,
      admin: { host: '127.0.0.1', port: 0 },
    })
    expect(() => gatewaySettings({ ...env, GATEWAY_RATE_LIMIT_PER_MINUTE: 'lots' })).toThrow(
      /GATEWAY_RATE_LIMIT_PER_MINUTE/,
    )
  })

  it('production mode (no GraphiQL, no introspection) and the per-minute rate limit hold', async () => {
    // Rate-limit windows are wall-clock minutes: keep the four requests inside one.
    const left = 60_000 - (Date.now() % 60_000)
    if (left < 10_000) await new Promise((resolve) => setTimeout(resolve, left + 50))
    const { graphqlUrl, url, adminUrl } = running!.gateway
    const page = await fetch(graphqlUrl, { headers: { accept: 'text/html' } })
    expect(page.status).toBe(404)
    const introspection = await post(graphqlUrl, '{ __schema { queryType { name } } }')
    expect(introspection.status).toBe(400)
    expect((await introspection.json()).errors[0].extensions.code).toBe('INTROSPECTION_DISABLED')
    const third = await post(graphqlUrl, '{ __typename }')
    expect(third.status).toBe(200)
    expect(third.headers.get('ratelimit-limit')).toBe('3')
    const fourth = await post(graphqlUrl, '{ __typename }')
    expect(fourth.status).toBe(429)
    expect((await fourth.json()).errors[0].extensions.code).toBe('RATE_LIMITED')
    // Readiness on the loopback admin listener, not on the API port.
    expect((await fetch(`${url}/ready`)).status).toBe(404)
    expect((await fetch(`${adminUrl}/ready`)).status).toBe(200)
    expect((await fetch(`${url}/health`)).status).toBe(200)
  })
})
