import type { ApolloServerPlugin, BaseContext } from '@apollo/server'
import type { Caller, Logger } from '@pm/service-kit'
import type { RateLimiter } from './rate-limit'

export const DEFAULT_APQ_MAX_BYTES = 32_768
export const DEFAULT_APQ_REGISTRATIONS_PER_MINUTE = 30

export interface PersistedQueryBounds {
  /** Largest document kept (bytes of its text, comments included). */
  maxBytes: number
  /** Documents one caller may register per minute; past it they run without being kept. */
  registrations: RateLimiter
  logger: Logger
}

/** Why a registration is not kept, or undefined when it may be. */
export async function registrationRefusal(
  caller: Caller,
  source: string,
  bounds: Pick<PersistedQueryBounds, 'maxBytes' | 'registrations'>,
): Promise<string | undefined> {
  if (caller.kind === 'anonymous' || (!caller.userId && !caller.apiKeyId)) return 'anonymous caller'
  if (Buffer.byteLength(source) > bounds.maxBytes) return 'document too large'
  if (bounds.registrations.perMinute <= 0) return 'registrations turned off'
  const key = caller.apiKeyId ? `key:${caller.apiKeyId}` : `user:${caller.userId}`
  const decision = await bounds.registrations.hit(key)
  return decision.allowed ? undefined : 'too many registrations this minute'
}

/**
 * Bounds what automatic persisted queries store: a registration (hash and document sent together) is kept
 * only for a signed-in user or an API key, for a document of at most maxBytes, and for at most
 * `registrations.perMinute` documents per caller and minute. Otherwise the operation still runs, but its
 * document is not kept (Apollo stores it after didResolveOperation, when the request says it registers).
 */
export function persistedQueryBoundsPlugin<C extends BaseContext & { caller: Caller }>(
  bounds: PersistedQueryBounds,
): ApolloServerPlugin<C> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation(requestContext) {
          if (!requestContext.metrics.persistedQueryRegister) return
          const why = await registrationRefusal(
            requestContext.contextValue.caller,
            requestContext.source,
            bounds,
          )
          if (!why) return
          requestContext.metrics.persistedQueryRegister = false
          bounds.logger.debug('persisted query not stored', { reason: why })
        },
      }
    },
  }
}
