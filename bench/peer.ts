/**
 * The peer: Hive Gateway (@graphql-hive/gateway's runtime, default settings) on our supergraph, served by
 * node:http, calling the same subgraph processes as our gateway, with the caller's identity signed for them
 * as our gateway signs it (src/identity.ts).
 *   PEER_PORT (0 = any)  SUBGRAPH_<DOMAIN>_URL  GATEWAY_SIGNING_SECRET  AUTH_TOKEN_SECRET  HOST (127.0.0.1)
 *   POST /graphql, GET /ready
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createGatewayRuntime } from '@graphql-hive/gateway'
import { requireSecret, SIGNING_SECRET_ENV, subgraphUrls, TOKEN_SECRET_ENV } from '@pm/service-kit'
import { signedIdentityPlugin } from './src/identity'
import { supergraphFor } from './src/supergraph'

async function main() {
  const urls = subgraphUrls(process.env)
  const runtime = createGatewayRuntime({
    supergraph: supergraphFor(urls),
    logging: 'warn',
    graphiql: false,
    landingPage: false,
    readinessCheckEndpoint: '/ready',
    // The subgraphs serve only callers whose identity a gateway signed: the same work as ours does.
    plugins: () => [
      signedIdentityPlugin(requireSecret(SIGNING_SECRET_ENV), requireSecret(TOKEN_SECRET_ENV), urls),
    ],
  })
  const server = createServer(runtime)
  server.keepAliveTimeout = 65_000
  await new Promise<void>((resolve) =>
    server.listen(Number(process.env.PEER_PORT ?? 0), process.env.HOST ?? '127.0.0.1', resolve),
  )
  console.log(
    JSON.stringify({ level: 'info', msg: 'peer listening', port: (server.address() as AddressInfo).port }),
  )
  const stop = () => {
    server.close()
    server.closeAllConnections()
    Promise.resolve(runtime.dispose()).finally(() => process.exit(0))
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}

await main()
