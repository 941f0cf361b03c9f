import type { IncomingMessage } from 'node:http'
import type { Logger } from '@pm/service-kit'
import { API_KEY_CACHE_MS, Authenticator, SessionChecks } from './auth'
import type { GatewayCaches } from './gateway-caches'
import { MODULE_STATE_TTL_MS, ModuleStates } from './modules'

/**
 * Who may ask what: the caller authenticated from its token or API key (sessions checked with core), and
 * which modules are on. The gateway asks core itself (signed as SERVICE), over core's connection pool.
 */
export interface GatewayAccessOptions {
  coreUrl: string
  /** A fetch over core's pool. */
  coreFetch: typeof fetch
  signingSecret: string
  tokenSecret: string
  caches: GatewayCaches
  clientAddress: (req: IncomingMessage) => string
  moduleStateTtlMs?: number
  apiKeyCacheMs?: number
  logger: Logger
}

export function createGatewayAccess(options: GatewayAccessOptions): {
  authenticator: Authenticator
  moduleStates: ModuleStates
} {
  const { coreUrl, coreFetch, signingSecret, logger } = options
  const { sessionCache } = options.caches
  const moduleStates = new ModuleStates({
    coreUrl,
    signingSecret,
    logger,
    ttlMs: options.moduleStateTtlMs ?? MODULE_STATE_TTL_MS,
    fetch: coreFetch,
  })
  const authenticator = new Authenticator({
    tokenSecret: options.tokenSecret,
    signingSecret,
    coreUrl,
    clientAddress: options.clientAddress,
    logger,
    fetch: coreFetch,
    apiKeyCacheMs: options.apiKeyCacheMs ?? API_KEY_CACHE_MS,
    // A graph without core has no sessions to ask about: tokens are then judged by their signature alone.
    ...(sessionCache
      ? {
          sessions: new SessionChecks({
            coreUrl,
            signingSecret,
            cache: sessionCache,
            logger,
            fetch: coreFetch,
          }),
        }
      : {}),
  })
  return { authenticator, moduleStates }
}
