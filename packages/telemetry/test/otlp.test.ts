import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, expect, it } from 'vitest'
import { inRequest, observeStatement, startTracing, stopTracing, tracingEnabled } from '../src'

// Off by default; with OTEL_EXPORTER_OTLP_ENDPOINT set, spans leave as OTLP/HTTP to that endpoint.
const received: { path: string; contentType: string; bytes: number }[] = []
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    received.push({
      path: req.url ?? '',
      contentType: String(req.headers['content-type']),
      bytes: Buffer.concat(chunks).length,
    })
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end('{}')
  })
})

afterAll(async () => {
  await stopTracing()
  await new Promise((resolve) => receiver.close(resolve))
})

it('is off without an endpoint, and exports spans over OTLP/HTTP when one is set', async () => {
  expect(await startTracing({ serviceName: 'otlp-test', env: {} })).toBe(false)
  expect(tracingEnabled()).toBe(false)
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  const port = (receiver.address() as AddressInfo).port
  expect(
    await startTracing({
      serviceName: 'otlp-test',
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` },
    }),
  ).toBe(true)
  await inRequest(
    { service: 'otlp-test', requestId: 'r1', name: 'GET /x', headers: {}, continueTrace: false },
    async () => observeStatement('core', 'SELECT 1', 2),
  )
  // Sends what the batch processor holds.
  await stopTracing()
  expect(received.length).toBeGreaterThan(0)
  expect(received[0]!.path).toBe('/v1/traces')
  expect(received[0]!.bytes).toBeGreaterThan(0)
})
