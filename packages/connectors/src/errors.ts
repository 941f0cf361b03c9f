export type ConnectorErrorCode =
  | 'NOT_FOUND'
  | 'FORBIDDEN_ADDRESS'
  | 'TOO_LARGE'
  | 'TIMEOUT'
  | 'AUTH'
  | 'UNREACHABLE'
  | 'BAD_CONFIG'
  | 'OUTSIDE_ROOT'
  | 'HTTP_STATUS'
  | 'TOO_MANY_REDIRECTS'
  | 'PROTOCOL'

/**
 * What went wrong talking to the outside, with a code callers can branch on. Messages name the host, port and
 * path involved but never a password, key or token.
 */
export class ConnectorError extends Error {
  override readonly name = 'ConnectorError'
  readonly code: ConnectorErrorCode
  /** The HTTP status, for HTTP_STATUS (and NOT_FOUND/AUTH answered by an HTTP server). */
  readonly status?: number

  constructor(code: ConnectorErrorCode, message: string, o: { cause?: unknown; status?: number } = {}) {
    super(message, o.cause === undefined ? undefined : { cause: o.cause })
    this.code = code
    if (o.status !== undefined) this.status = o.status
  }
}

export function isConnectorError(error: unknown): error is ConnectorError {
  return error instanceof ConnectorError
}

/** The first ConnectorError in an error's cause chain (libraries wrap the errors our hooks throw). */
export function findConnectorError(error: unknown): ConnectorError | undefined {
  let current: unknown = error
  for (let depth = 0; current && depth < 8; depth++) {
    if (current instanceof ConnectorError) return current
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}

/** A system error's code (ECONNREFUSED, ENOTFOUND, …) anywhere in the cause chain. */
export function systemCode(error: unknown): string | undefined {
  let current: unknown = error
  for (let depth = 0; current && depth < 8; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string') return code
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ECONNABORTED',
  'EADDRNOTAVAIL',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
])
const TIMEOUT_CODES = new Set([
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
])

/** Network failures as UNREACHABLE or TIMEOUT; `undefined` for anything else. */
export function networkError(error: unknown, where: string): ConnectorError | undefined {
  const found = findConnectorError(error)
  if (found) return found
  const code = systemCode(error)
  if (code && TIMEOUT_CODES.has(code))
    return new ConnectorError('TIMEOUT', `${where}: timed out`, { cause: error })
  if (code && UNREACHABLE_CODES.has(code)) {
    const what =
      code === 'ECONNREFUSED'
        ? 'connection refused'
        : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
          ? 'host name not found'
          : code === 'ECONNRESET' || code === 'EPIPE'
            ? 'connection reset'
            : 'unreachable'
    return new ConnectorError('UNREACHABLE', `${where}: ${what}`, { cause: error })
  }
  return undefined
}
