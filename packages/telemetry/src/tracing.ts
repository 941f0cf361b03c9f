import { AsyncLocalStorage } from 'node:async_hooks'
import { randomBytes } from 'node:crypto'
import type * as Api from '@opentelemetry/api'
import type { InMemorySpanExporter as InMemorySpanExporterType } from '@opentelemetry/sdk-trace-base'
import type { NodeTracerProvider, SpanExporter } from '@opentelemetry/sdk-trace-node'
import { normalizeStatement } from './sql'

/** What every log line of a request carries, and the request's span when tracing is on. */
export interface RequestScope {
  requestId: string
  /** W3C trace id (32 hex): the OpenTelemetry trace's, else the one passed on in `traceparent`. */
  traceId: string
  service: string
  /** performance.now() when the request arrived. */
  startedAt: number
  span?: Api.Span
}

const scopes = new AsyncLocalStorage<RequestScope>()

/** The request being served in this async context, if any. */
export function currentRequest(): RequestScope | undefined {
  return scopes.getStore()
}

/**
 * The OpenTelemetry API and SDK, loaded only when tracing is turned on (the SDK takes seconds to load on a
 * busy machine: no service pays that with tracing off).
 */
let otel: { api: typeof Api; tracer: Api.Tracer; provider: NodeTracerProvider } | undefined

export interface TracingOptions {
  serviceName: string
  env?: NodeJS.ProcessEnv
  /** Where spans go instead of OTLP (tests: an InMemorySpanExporter). */
  exporter?: SpanExporter
}

/** The OTLP/HTTP traces URL configured, if any (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else …_ENDPOINT/v1/traces). */
export function otlpTracesUrl(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim()
  if (traces) return traces
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim()
  return base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined
}

function samplingRatio(env: NodeJS.ProcessEnv): number {
  const raw = env.OTEL_TRACES_SAMPLER_ARG?.trim()
  if (!raw) return 1
  const value = Number(raw)
  if (!Number.isFinite(value) || value < 0 || value > 1)
    throw new Error(`OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1, got "${raw}"`)
  return value
}

/**
 * Turns tracing on for this process when an OTLP endpoint is configured (or an exporter given): spans for
 * requests, subgraph fetches and SQL statements, W3C trace context on outgoing requests. Off otherwise (the
 * default). The first call in a process wins; answers whether tracing is on.
 */
export async function startTracing(options: TracingOptions): Promise<boolean> {
  if (otel) return true
  const env = options.env ?? process.env
  const url = otlpTracesUrl(env)
  if (!options.exporter && !url) return false
  const ratio = samplingRatio(env)
  const [api, sdk, otlp, resources] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ])
  if (otel) return true
  const processor = options.exporter
    ? new sdk.SimpleSpanProcessor(options.exporter)
    : new sdk.BatchSpanProcessor(new otlp.OTLPTraceExporter({ url }))
  const provider = new sdk.NodeTracerProvider({
    resource: resources.resourceFromAttributes({
      'service.name': env.OTEL_SERVICE_NAME?.trim() || options.serviceName,
    }),
    sampler: new sdk.ParentBasedSampler({ root: new sdk.TraceIdRatioBasedSampler(ratio) }),
    spanProcessors: [processor],
  })
  // The global provider, the AsyncLocalStorage context manager and the W3C trace-context propagator.
  provider.register()
  otel = { api, tracer: api.trace.getTracer('products-manager'), provider }
  return true
}

export function tracingEnabled(): boolean {
  return otel !== undefined
}

/** Sends what is buffered and turns tracing off (shutdown; tests). */
export async function stopTracing(): Promise<void> {
  const stopping = otel
  otel = undefined
  if (!stopping) return
  await stopping.provider.forceFlush().catch(() => {})
  await stopping.provider.shutdown().catch(() => {})
  stopping.api.trace.disable()
  stopping.api.context.disable()
  stopping.api.propagation.disable()
}

const TRACEPARENT = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/

function traceIdFrom(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header
  const id = value ? TRACEPARENT.exec(value.trim())?.[1] : undefined
  return id && !/^0+$/.test(id) ? id : undefined
}

export interface IncomingRequest {
  service: string
  requestId: string
  /** The span's name until the operation is known (e.g. `POST /graphql`). */
  name: string
  headers: Record<string, string | string[] | undefined>
  /**
   * Continue the caller's trace (its `traceparent`): the subgraphs, called by the gateway. The gateway, at
   * the public edge, starts a trace of its own for each request.
   */
  continueTrace: boolean
}

/**
 * Runs `serve` as one request: its request id and trace id on every log line written meanwhile, and a server
 * span (child of the caller's when continueTrace) when tracing is on.
 */
export async function inRequest<T>(request: IncomingRequest, serve: () => Promise<T>): Promise<T> {
  if (!otel) {
    const traceId =
      (request.continueTrace ? traceIdFrom(request.headers.traceparent) : undefined) ??
      randomBytes(16).toString('hex')
    return scopes.run(
      { requestId: request.requestId, traceId, service: request.service, startedAt: performance.now() },
      serve,
    )
  }
  const { api, tracer } = otel
  const parent = request.continueTrace
    ? api.propagation.extract(api.ROOT_CONTEXT, request.headers)
    : api.ROOT_CONTEXT
  const span = tracer.startSpan(
    request.name,
    {
      kind: api.SpanKind.SERVER,
      attributes: { 'pm.service': request.service, 'pm.request_id': request.requestId },
    },
    parent,
  )
  const scope: RequestScope = {
    requestId: request.requestId,
    traceId: span.spanContext().traceId,
    service: request.service,
    startedAt: performance.now(),
    span,
  }
  return api.context.with(api.trace.setSpan(parent, span), () =>
    scopes.run(scope, async () => {
      try {
        return await serve()
      } catch (error) {
        span.recordException(error as Error)
        span.setStatus({ code: api.SpanStatusCode.ERROR })
        throw error
      } finally {
        span.end()
      }
    }),
  )
}

/** Names the current request's span after its GraphQL operation(s), and marks it failed when it failed. */
export function describeRequest(operation: string, failed: boolean) {
  const span = scopes.getStore()?.span
  if (!span || !otel) return
  span.updateName(`graphql ${operation}`)
  span.setAttribute('graphql.operation.name', operation)
  if (failed) span.setStatus({ code: otel.api.SpanStatusCode.ERROR })
}

/**
 * An outgoing call (the gateway to a subgraph): a client span when tracing is on; in any case the trace
 * context in `headers` (`traceparent`), so the callee's logs and spans join this request's trace.
 */
export async function outgoing<T>(
  name: string,
  attributes: Record<string, string>,
  headers: Record<string, string>,
  call: () => Promise<T>,
  failed?: (result: T) => boolean,
): Promise<T> {
  if (!otel) {
    const scope = scopes.getStore()
    if (scope) headers.traceparent = `00-${scope.traceId}-${randomBytes(8).toString('hex')}-00`
    return call()
  }
  const { api, tracer } = otel
  const span = tracer.startSpan(name, { kind: api.SpanKind.CLIENT, attributes })
  const active = api.trace.setSpan(api.context.active(), span)
  api.propagation.inject(active, headers)
  try {
    const result = await api.context.with(active, call)
    if (failed?.(result)) span.setStatus({ code: api.SpanStatusCode.ERROR })
    return result
  } catch (error) {
    span.recordException(error as Error)
    span.setStatus({ code: api.SpanStatusCode.ERROR })
    throw error
  } finally {
    span.end()
  }
}

function statementVerb(text: string): string {
  const verb = /^\s*(?:with\b[\s\S]*?\)\s*)?(\w+)/i.exec(text)?.[1]
  return verb ? verb.toUpperCase() : 'SQL'
}

/** A finished SQL statement as a span under the current one (only when that one is recorded). */
export function statementSpan(domain: string, text: string, durationMs: number, error?: unknown) {
  if (!otel) return
  const { api, tracer } = otel
  const parent = api.trace.getActiveSpan()
  if (!parent?.isRecording()) return
  const end = Date.now()
  const span = tracer.startSpan(`${statementVerb(text)} db_${domain}`, {
    kind: api.SpanKind.CLIENT,
    startTime: end - durationMs,
    attributes: {
      'db.system': 'postgresql',
      'db.namespace': `db_${domain}`,
      'db.query.text': normalizeStatement(text),
      'pm.domain': domain,
    },
  })
  if (error !== undefined) span.setStatus({ code: api.SpanStatusCode.ERROR })
  span.end(end)
}

export type { InMemorySpanExporter, ReadableSpan } from '@opentelemetry/sdk-trace-base'

/** An exporter keeping finished spans in memory, for tests (loaded on demand like the rest of the SDK). */
export async function inMemorySpanExporter(): Promise<InMemorySpanExporterType> {
  const { InMemorySpanExporter } = await import('@opentelemetry/sdk-trace-base')
  return new InMemorySpanExporter()
}
