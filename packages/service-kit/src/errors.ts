import type { GraphQLFormattedError } from 'graphql'
import { GraphQLError } from 'graphql'

/** The stable `extensions.code` values callers can rely on. */
export const ErrorCode = {
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  NOT_FOUND: 'NOT_FOUND',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  CONFLICT: 'CONFLICT',
  MODULE_DISABLED: 'MODULE_DISABLED',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode]

export function userError(
  code: ErrorCode,
  message: string,
  extensions: Record<string, unknown> = {},
): GraphQLError {
  return new GraphQLError(message, { extensions: { ...extensions, code } })
}

export const badUserInput = (message: string, extensions?: Record<string, unknown>) =>
  userError(ErrorCode.BAD_USER_INPUT, message, extensions)

export const notFound = (message: string, extensions?: Record<string, unknown>) =>
  userError(ErrorCode.NOT_FOUND, message, extensions)

/** Codes a client may see with their original message; anything else is masked. */
const PUBLIC_CODES = new Set<string>([
  ...Object.values(ErrorCode),
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
  'BAD_REQUEST',
  'DOWNSTREAM_SERVICE_ERROR',
])

/**
 * Apollo's formatError: errors raised on purpose keep their message and code; anything unexpected
 * (a driver error with SQL in it, a bug, a lost connection) is logged and reaches the caller as a
 * generic message, with no stack, SQL or connection string.
 */
export function maskError(
  formatted: GraphQLFormattedError,
  error: unknown,
  report: (error: unknown) => void,
): GraphQLFormattedError {
  const code = formatted.extensions?.code
  const original = error instanceof GraphQLError ? error.originalError : error
  // Apollo tags every unexpected resolver error INTERNAL_SERVER_ERROR; other codes are deliberate.
  if (typeof code === 'string' && PUBLIC_CODES.has(code) && code !== ErrorCode.INTERNAL_SERVER_ERROR) {
    const { stacktrace: _stacktrace, ...extensions } = formatted.extensions ?? {}
    return { ...formatted, extensions }
  }
  const unavailable =
    (original as { name?: string } | undefined)?.name === 'PoolTimeoutError' ||
    (original as { name?: string } | undefined)?.name === 'DatabaseUnavailableError'
  report(original ?? error)
  return {
    message: unavailable ? 'The service is temporarily unavailable, retry shortly' : 'Internal server error',
    ...(formatted.locations ? { locations: formatted.locations } : {}),
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions: { code: unavailable ? ErrorCode.SERVICE_UNAVAILABLE : ErrorCode.INTERNAL_SERVER_ERROR },
  }
}
