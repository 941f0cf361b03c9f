import type { ApolloServerPlugin, BaseContext } from '@apollo/server'
import {
  currentRequest,
  describeRequest,
  metricsEnabled,
  operationLabel,
  requestDuration,
  setStatementLogger,
  startTracing,
  tracingEnabled,
} from '@pm/telemetry'
import type { Logger } from './logger'

/**
 * Times each GraphQL operation (from the request's arrival) into pm_graphql_request_duration_seconds by
 * operation name and outcome, and names the request's trace span after the operation. Undefined when
 * neither metrics nor tracing are on: nothing is added to the request path.
 */
export function requestTelemetryPlugin<C extends BaseContext>(
  service: string,
): ApolloServerPlugin<C> | undefined {
  if (!metricsEnabled() && !tracingEnabled()) return undefined
  return {
    async requestDidStart() {
      const started = currentRequest()?.startedAt ?? performance.now()
      return {
        async willSendResponse({ operationName, response }) {
          const body = response.body
          const failed = body.kind === 'single' ? Boolean(body.singleResult.errors?.length) : false
          const operation = operationLabel(operationName)
          describeRequest(operation, failed)
          if (!metricsEnabled()) return
          requestDuration.observe(
            { service, operation, outcome: failed ? 'error' : 'ok' },
            (performance.now() - started) / 1000,
          )
        },
      }
    },
  }
}

/**
 * What a service does at start for observability: traces exported when OTEL_EXPORTER_OTLP_ENDPOINT is set
 * (off otherwise), slow SQL statements logged through its logger.
 */
export async function startTelemetry(
  serviceName: string,
  logger: Logger,
  env: NodeJS.ProcessEnv = process.env,
) {
  setStatementLogger(logger)
  if (await startTracing({ serviceName, env })) logger.info('tracing on', { serviceName })
}
