import { afterAll, beforeAll, expect, it } from 'vitest'
import { createLogger, type HttpService, startHttpService } from '../src'

// Tracing is off here (the default): request and trace ids still reach every line of a request.
const lines: Record<string, unknown>[] = []
const logger = createLogger({ service: 'logs-test' }, 'debug', (line) => lines.push(JSON.parse(line)))
let edge: HttpService
let inner: HttpService

beforeAll(async () => {
  const route = (name: string) => async (_req: unknown, res: import('node:http').ServerResponse) => {
    logger.info(`${name} first`)
    await new Promise((resolve) => setTimeout(resolve, 5))
    logger.child({ part: 'resolver' }).warn(`${name} second`, { detail: 'x'.repeat(5_000) })
    res.end('ok')
  }
  edge = await startHttpService({
    name: 'edge',
    host: '127.0.0.1',
    port: 0,
    logger,
    routes: { '/x': route('edge') },
  })
  inner = await startHttpService({
    name: 'inner',
    host: '127.0.0.1',
    port: 0,
    logger,
    continueTrace: true,
    routes: { '/x': route('inner') },
  })
})

afterAll(async () => {
  await edge?.stop()
  await inner?.stop()
})

it('puts the request id and trace id on every line written while serving a request', async () => {
  lines.length = 0
  await Promise.all([
    fetch(`${edge.url}/x`, { headers: { 'x-request-id': 'req-a' } }),
    fetch(`${edge.url}/x`, { headers: { 'x-request-id': 'req-b' } }),
  ])
  logger.info('outside any request')
  const byRequest = (id: string) => lines.filter((l) => l.requestId === id)
  for (const id of ['req-a', 'req-b']) {
    const own = byRequest(id)
    expect(own.map((l) => l.msg)).toEqual(['edge first', 'edge second'])
    expect(own[0]!.traceId).toMatch(/^[\da-f]{32}$/)
    expect(own[1]!.traceId).toBe(own[0]!.traceId)
    expect(own[1]).toMatchObject({ service: 'logs-test', part: 'resolver', level: 'warn' })
    expect(String(own[1]!.detail).length).toBeLessThan(2_100)
  }
  expect(byRequest('req-a')[0]!.traceId).not.toBe(byRequest('req-b')[0]!.traceId)
  expect(lines.at(-1)).toMatchObject({ msg: 'outside any request', level: 'info' })
  expect(lines.at(-1)).not.toHaveProperty('requestId')
  expect(typeof lines.at(-1)!.time).toBe('string')
})

it('continues the caller trace id from traceparent where asked (called by the gateway), not at the edge', async () => {
  lines.length = 0
  const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
  await fetch(`${inner.url}/x`, { headers: { traceparent, 'x-request-id': 'inner-1' } })
  await fetch(`${edge.url}/x`, { headers: { traceparent, 'x-request-id': 'edge-1' } })
  expect(lines.find((l) => l.requestId === 'inner-1')?.traceId).toBe('0af7651916cd43dd8448eb211c80319c')
  expect(lines.find((l) => l.requestId === 'edge-1')?.traceId).not.toBe('0af7651916cd43dd8448eb211c80319c')
})
