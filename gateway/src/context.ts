import type { BaseContext } from '@apollo/server'
import type { Caller, Logger } from '@pm/service-kit'

/** What each operation runs with in the gateway. */
export interface GatewayContext extends BaseContext {
  requestId: string
  logger: Logger
  /** Who is asking, as authenticated from the request; sent signed to every subgraph. */
  caller: Caller
  /** An API key limited to persisted operations: the SHA-256 of each document it may run. */
  allowedOperations?: ReadonlySet<string>
  /** For sign-in bookkeeping in core (login attempts, sessions). */
  clientAddress: string
  userAgent?: string
}
