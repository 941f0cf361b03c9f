import { ErrorCode } from '@pm/service-kit'
import { GraphQLError } from 'graphql'

/**
 * Runs `work` again while it fails with SERVICE_UNAVAILABLE (a peer down or overloaded), `attempts` times in
 * all, waiting backoffMs × 2^attempt between tries; any other error, or the last one, is thrown.
 */
export async function retryUnavailable<T>(
  work: () => Promise<T>,
  o: { attempts: number; backoffMs: number; onRetry: (attempt: number) => void },
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work()
    } catch (error) {
      const unavailable =
        error instanceof GraphQLError && error.extensions.code === ErrorCode.SERVICE_UNAVAILABLE
      if (!unavailable || attempt >= o.attempts) throw error
      o.onRetry(attempt)
      await new Promise((r) => setTimeout(r, o.backoffMs * 2 ** attempt))
    }
  }
}
