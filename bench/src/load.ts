import autocannon from 'autocannon'

export interface LoadSpec {
  url: string
  /** Sent with every request besides content-type */
  headers?: Record<string, string>
  /** Request bodies, sent in rotation across all connections. */
  bodies: readonly string[]
  connections: number
  seconds: number
  /** Shared across runs so a rotation continues where the last run stopped (default: from 0). */
  cursor?: { next: number }
  /** Returns why a 2xx body is wrong (beyond GraphQL errors), else undefined. */
  check?: (body: string) => string | undefined
}

export interface Measurement {
  requests: number
  seconds: number
  rps: number
  p50: number
  p95: number
  p99: number
  max: number
  mean: number
  /** Transport errors, timeouts, non-2xx answers and answers carrying GraphQL errors. */
  errors: number
  firstError?: string
}

/** Exact percentile of sorted latencies (nearest rank). */
export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
}

/**
 * One autocannon run: every response's latency is kept (autocannon's own histogram rounds to whole
 * milliseconds, too coarse next to a ~1 ms floor), and every body is checked for GraphQL errors.
 */
export function runLoad(spec: LoadSpec): Promise<Measurement> {
  const cursor = spec.cursor ?? { next: 0 }
  const latencies: number[] = []
  let errors = 0
  let firstError: string | undefined
  const fail = (message: string) => {
    errors++
    firstError ??= message.slice(0, 500)
  }
  return new Promise((resolve, reject) => {
    const startedAt = performance.now()
    const instance = autocannon(
      {
        url: spec.url,
        method: 'POST',
        headers: { 'content-type': 'application/json', ...spec.headers },
        connections: spec.connections,
        pipelining: 1,
        duration: spec.seconds,
        // It stops at its first sample tick after the duration: 100 ms keeps 1.5 s from becoming 2 s.
        sampleInt: 100,
        timeout: 30,
        requests: [
          {
            setupRequest: (request) => {
              const body = spec.bodies[cursor.next++ % spec.bodies.length]!
              return { ...request, body }
            },
            onResponse: (status, body) => {
              if (status < 200 || status > 299) fail(`HTTP ${status}: ${body}`)
              else if (body.includes('"errors":[')) fail(body)
              else {
                const wrong = spec.check?.(body)
                if (wrong) fail(wrong)
              }
            },
          },
        ],
      },
      (error, result) => {
        if (error) return reject(error)
        const elapsed = (performance.now() - startedAt) / 1000
        const sorted = Float64Array.from(latencies).sort()
        const sum = latencies.reduce((a, b) => a + b, 0)
        errors += result.errors + result.timeouts
        if ((result.errors || result.timeouts) && !firstError)
          firstError = `${result.errors} socket errors, ${result.timeouts} timeouts`
        resolve({
          requests: latencies.length,
          seconds: elapsed,
          rps: latencies.length / elapsed,
          p50: percentile(sorted, 0.5),
          p95: percentile(sorted, 0.95),
          p99: percentile(sorted, 0.99),
          max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
          mean: latencies.length ? sum / latencies.length : Number.NaN,
          errors,
          ...(firstError ? { firstError } : {}),
        })
      },
    )
    instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => {
      latencies.push(responseTime)
    })
  })
}
