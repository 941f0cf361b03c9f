import autocannon from 'autocannon'

export interface LoadSpec {
  url: string
  /** Sent with every request besides content-type */
  headers?: Record<string, string>
  /** Request bodies, sent in rotation across all connections (or `next`). */
  bodies?: readonly string[]
  /**
   * Instead of `bodies`: the request at an index of a sequence (the cursor's), with its path when not the
   * url's and the kind its latency is counted under in `byKind`.
   */
  next?: (index: number) => { body: string; path?: string; kind?: string }
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
  /** With `next`: latencies and errors per request kind. */
  byKind?: Record<string, KindMeasurement>
}

export interface KindMeasurement {
  requests: number
  p50: number
  p95: number
  p99: number
  errors: number
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
  const kinds = new Map<string, { latencies: number[]; errors: number }>()
  // autocannon calls onResponse and then emits 'response' for the same request, synchronously.
  let answered: string | undefined
  let errors = 0
  let firstError: string | undefined
  const fail = (message: string, kind?: string) => {
    errors++
    firstError ??= `${kind ? `${kind}: ` : ''}${message}`.slice(0, 500)
    if (kind) kindOf(kind).errors++
  }
  const kindOf = (kind: string) => {
    let entry = kinds.get(kind)
    if (!entry) {
      entry = { latencies: [], errors: 0 }
      kinds.set(kind, entry)
    }
    return entry
  }
  const { bodies, next } = spec
  if (!next && !bodies?.length) throw new Error('runLoad needs bodies or next')
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
            setupRequest: (request, context) => {
              if (next) {
                const r = next(cursor.next++)
                ;(context as { kind?: string }).kind = r.kind
                return { ...request, body: r.body, ...(r.path ? { path: r.path } : {}) }
              }
              const body = bodies![cursor.next++ % bodies!.length]!
              return { ...request, body }
            },
            onResponse: (status, body, context) => {
              const kind = (context as { kind?: string } | undefined)?.kind
              answered = kind
              if (status < 200 || status > 299) fail(`HTTP ${status}: ${body}`, kind)
              else if (body.includes('"errors":[')) fail(body, kind)
              else {
                const wrong = spec.check?.(body)
                if (wrong) fail(wrong, kind)
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
          ...(next ? { byKind: summariseKinds(kinds) } : {}),
        })
      },
    )
    instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => {
      latencies.push(responseTime)
      if (answered !== undefined) kindOf(answered).latencies.push(responseTime)
      answered = undefined
    })
  })
}

function summariseKinds(
  kinds: Map<string, { latencies: number[]; errors: number }>,
): Record<string, KindMeasurement> {
  const out: Record<string, KindMeasurement> = {}
  for (const [kind, { latencies, errors }] of [...kinds].sort(([a], [b]) => a.localeCompare(b))) {
    const sorted = Float64Array.from(latencies).sort()
    out[kind] = {
      requests: sorted.length,
      p50: percentile(sorted, 0.5),
      p95: percentile(sorted, 0.95),
      p99: percentile(sorted, 0.99),
      errors,
    }
  }
  return out
}
