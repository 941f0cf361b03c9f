/**
 * The gateway's own questions to core (sessions, API keys, module states) never hold requests up for long:
 * while core cannot answer, tokens are judged by their signature, API keys are refused with 503, and core is
 * asked again once per retry period, not on every request (a refused or hung connection per request would slow
 * every operation of the graph for the length of core's outage); module states refresh behind the known state.
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { TwoLevelCache } from '@pm/cache'
import { type AccessTokenClaims, createLogger } from '@pm/service-kit'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { Authenticator, SessionChecks } from '../src/auth'
import { CORE_RETRY_MS } from '../src/core-client'
import { MODULE_STATE_TTL_MS, ModuleStates } from '../src/modules'

const claims = (): AccessTokenClaims => {
  const now = Math.floor(Date.now() / 1000)
  return { sub: randomUUID(), perms: [], su: false, sid: randomUUID(), iat: now, exp: now + 900 }
}

const KEY = `pm_abcd_${'k'.repeat(24)}`

/**
 * A core that refuses every connection, then (once `up`) answers that a session stands or was revoked, and
 * that KEY is a partner's key.
 */
function fakeCore() {
  const core = {
    up: false,
    revoked: new Set<string>(),
    calls: 0,
    fetch: (async (_url: string | URL | Request, init?: RequestInit) => {
      core.calls++
      if (!core.up) throw new TypeError('fetch failed')
      const { query, variables } = JSON.parse(String(init?.body)) as {
        query: string
        variables: { sessionId?: string; key?: string }
      }
      const data = query.includes('authenticateApiKey')
        ? {
            authenticateApiKey:
              variables.key === KEY
                ? {
                    id: randomUUID(),
                    userId: randomUUID(),
                    permissions: ['product:read'],
                    allowedOperations: [],
                    rateLimitPerMinute: null,
                    expiresAt: null,
                  }
                : null,
          }
        : { accessTokenState: { revoked: core.revoked.has(variables.sessionId!), known: true } }
      return new Response(JSON.stringify({ data }), { headers: { 'content-type': 'application/json' } })
    }) as typeof fetch,
  }
  return core
}

function sessionChecks(core: ReturnType<typeof fakeCore>, retryMs?: number) {
  return new SessionChecks({
    coreUrl: 'http://127.0.0.1:1/graphql',
    signingSecret: 's'.repeat(32),
    cache: new TwoLevelCache({ name: `test-sessions-${randomUUID()}` }),
    logger: createLogger({ service: 'test' }, 'error'),
    fetch: core.fetch,
    ...(retryMs !== undefined ? { retryMs } : {}),
  })
}

afterEach(() => {
  vi.useRealTimers()
})

describe('session checks while core is down', () => {
  it('trust the signature, and ask core once per retry period, whatever the number of requests and tokens', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const core = fakeCore()
    const checks = sessionChecks(core)
    expect(await checks.revoked(claims())).toBe(false)
    expect(core.calls).toBe(1)
    for (let i = 0; i < 20; i++) expect(await checks.revoked(claims())).toBe(false)
    expect(core.calls).toBe(1)

    // Once the period is over, core is asked again: still down, then back.
    vi.setSystemTime(Date.now() + CORE_RETRY_MS)
    expect(await checks.revoked(claims())).toBe(false)
    expect(core.calls).toBe(2)
    core.up = true
    vi.setSystemTime(Date.now() + CORE_RETRY_MS)
    const revoked = claims()
    core.revoked.add(revoked.sid)
    expect(await checks.revoked(revoked)).toBe(true)
    expect(core.calls).toBe(3)
    // Its answer is kept: the same token costs core nothing more.
    expect(await checks.revoked(revoked)).toBe(true)
    expect(core.calls).toBe(3)
  })

  it('an answer core gave before its outage still holds during it: a revoked session stays refused', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const core = fakeCore()
    core.up = true
    const checks = sessionChecks(core)
    const revoked = claims()
    core.revoked.add(revoked.sid)
    expect(await checks.revoked(revoked)).toBe(true)
    core.up = false
    expect(await checks.revoked(claims())).toBe(false)
    expect(await checks.revoked(revoked)).toBe(true)
  })

  it('with no retry period, every request asks core again (the setting is honoured)', async () => {
    const core = fakeCore()
    const checks = sessionChecks(core, 0)
    for (let i = 0; i < 3; i++) expect(await checks.revoked(claims())).toBe(false)
    expect(core.calls).toBe(3)
  })
})

describe('API keys while core is down', () => {
  const request = (key: string) => ({ headers: { 'x-api-key': key } }) as unknown as IncomingMessage

  it('refused with 503 at once, core asked once per retry period; served again once core answers', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const core = fakeCore()
    const authenticator = new Authenticator({
      tokenSecret: 't'.repeat(32),
      signingSecret: 's'.repeat(32),
      coreUrl: 'http://127.0.0.1:1/graphql',
      clientAddress: () => '127.0.0.1',
      logger: createLogger({ service: 'test' }, 'error'),
      fetch: core.fetch,
    })
    for (let i = 0; i < 10; i++) {
      const outcome = await authenticator.authenticate(request(KEY))
      expect(outcome).toMatchObject({ ok: false, status: 503, code: 'SERVICE_UNAVAILABLE' })
    }
    expect(core.calls).toBe(1)

    core.up = true
    vi.setSystemTime(Date.now() + CORE_RETRY_MS)
    expect(await authenticator.authenticate(request(KEY))).toMatchObject({
      ok: true,
      caller: { kind: 'partner', permissions: ['product:read'] },
    })
    expect(core.calls).toBe(2)
    // An unknown key is refused as such (401), not as an outage.
    expect(await authenticator.authenticate(request(`pm_abcd_${'x'.repeat(24)}`))).toMatchObject({
      ok: false,
      status: 401,
    })
  })
})

describe('module states', () => {
  it('only the first question to core is waited for; later refreshes run behind the known state', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    let answer: (disabled: string[]) => void = () => {}
    let calls = 0
    const fetch = (async () => {
      calls++
      const disabled = await new Promise<string[]>((resolve) => {
        answer = resolve
      })
      const modules = ['exports', 'code2asin'].map((id) => ({ id, enabled: !disabled.includes(id) }))
      return new Response(JSON.stringify({ data: { modules } }), {
        headers: { 'content-type': 'application/json' },
      })
    }) as typeof globalThis.fetch
    const states = new ModuleStates({
      coreUrl: 'http://127.0.0.1:1/graphql',
      signingSecret: 's'.repeat(32),
      logger: createLogger({ service: 'test' }, 'error'),
      fetch,
    })
    // The first question is waited for: nothing is known before it.
    const first = states.disabled()
    await vi.waitUntil(() => calls === 1)
    answer(['exports'])
    expect([...(await first)]).toEqual(['exports'])

    // Past the lifetime, a request gets the known state at once while core is asked (and has not answered).
    vi.setSystemTime(Date.now() + MODULE_STATE_TTL_MS)
    expect([...(await states.disabled())]).toEqual(['exports'])
    await vi.waitUntil(() => calls === 2)
    expect([...(await states.disabled())]).toEqual(['exports'])
    expect(calls).toBe(2)
    answer(['code2asin'])
    await vi.waitUntil(async () => (await states.disabled()).has('code2asin'))
    expect([...(await states.disabled())]).toEqual(['code2asin'])
  })
})
