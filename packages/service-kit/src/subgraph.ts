import { readFileSync } from 'node:fs'
import type { IncomingMessage } from 'node:http'
import { ApolloServer, type BaseContext } from '@apollo/server'
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled'
import { buildSubgraphSchema } from '@apollo/subgraph'
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper'
import {
  ConfigError,
  createDomainDatabase,
  type DatabaseConfig,
  type DatabaseOf,
  type Domain,
  type DomainDatabase,
  type Env,
  prepareDatabases,
} from '@pm/db'
import type { DocumentNode, GraphQLFieldResolver } from 'graphql'
import { Kind, parse } from 'graphql'
import type { Kysely } from 'kysely'
import { z } from 'zod'
import { type AuditDelivery, type AuditRelay, httpAuditDelivery, startAuditRelay } from './audit'
import { applyAuthorization } from './authorization'
import { accountMutations, ChangedEntities, changedEntitiesPlugin } from './changes'
import { applyEnumDefaults, checkEnumResolvers } from './enums'
import {
  databaseConfigOf,
  databaseEnvShape,
  EnvironmentError,
  envSchemas,
  parseEnvironment,
} from './environment'
import { maskError } from './errors'
import {
  type AdminListener,
  apolloHandler,
  type HttpService,
  metricsRoute,
  onShutdownSignal,
  readinessRoutes,
  requestId,
  sendGraphQLError,
  startHttpService,
} from './http'
import {
  ANONYMOUS,
  CALLER_HEADER,
  type Caller,
  callerSignedAt,
  freshSignature,
  requireSecret,
  SecretConfigError,
  SIGNATURE_HEADER,
  SIGNING_SECRET_ENV,
  type SignedRequest,
  verifyCaller,
} from './identity'
import { applyInputRules } from './inputs'
import { createLogger, type Logger, type LogLevel } from './logger'
import { requestTelemetryPlugin, startTelemetry } from './observability'
import { type Peers, signedPeers } from './peers'
import { adminEnvShape, adminListenerOf, portsOf, subgraphUrlsEnvShape, subgraphUrlsOf } from './ports'
import { lowerProcessPriority } from './priority'
import { applyDeletionsResolver, withDeletionPropagation } from './references'
import { COMMON_SDL, scalarResolvers } from './scalars'

export interface SubgraphContext<D extends Domain, L> extends BaseContext {
  requestId: string
  /** Who is asking, from the identity the gateway (or a service) signed; verified before Apollo runs. */
  caller: Caller
  db: Kysely<DatabaseOf<D>>
  /**
   * The same pool for the gateway's own bookkeeping questions (the state of a caller's session): not
   * counted among the statements of the operations it serves.
   */
  background: Kysely<DatabaseOf<D>>
  /** Built per request: batches and caches only within one operation. */
  loaders: L
  logger: Logger
  /** The other subgraphs' URLs, for the rare question to another domain (queryPeer). */
  peers: Peers
  /** Told after each committed mutation, so its audit entries leave the outbox promptly. */
  auditRelay: AuditRelay
  /** The environment the subgraph was started with (process.env unless a test gave its own). */
  env: Env
  /**
   * The end client as the gateway saw it (x-pm-client-address / x-pm-client-user-agent): for bookkeeping
   * such as sign-in attempts and sessions, never for authorization (the signature does not cover it).
   */
  client: { address: string | null; userAgent: string | null }
  /** What this request's mutations changed, for the gateway's cache (see ChangedEntities). */
  changes: ChangedEntities
}

/**
 * One subgraph: R is its resolver map, typed by the subgraph with the resolver types generated from its schema
 * (src/generated/graphql.ts, `pnpm codegen`).
 */
export interface SubgraphModule<D extends Domain, L, R extends object = object> {
  domain: D
  /** schema.graphql with the shared declarations (see loadTypeDefs). */
  typeDefs: DocumentNode
  resolvers: R
  createLoaders(db: Kysely<DatabaseOf<D>>): L
  /** Start-up work against the database, e.g. imports creating the coming months' log partitions. */
  onStart?(db: Kysely<DatabaseOf<D>>, logger: Logger, env?: Env): Promise<void>
  /** How audit entries reach analytics; default: the analytics subgraph's recordAuditEntries. */
  auditDelivery?(db: Kysely<DatabaseOf<D>>): AuditDelivery
}

function declaresMutationField(typeDefs: DocumentNode, field: string): boolean {
  return typeDefs.definitions.some(
    (d) =>
      (d.kind === Kind.OBJECT_TYPE_DEFINITION || d.kind === Kind.OBJECT_TYPE_EXTENSION) &&
      d.name.value === 'Mutation' &&
      d.fields?.some((f) => f.name.value === field),
  )
}

/** A subgraph's schema.graphql followed by the shared scalars and connection types. */
export function loadTypeDefs(schemaFile: URL): DocumentNode {
  return parse(`${readFileSync(schemaFile, 'utf8')}\n${COMMON_SDL}`)
}

/** The SDL text (for composition), same source as loadTypeDefs. */
export function readSubgraphSdl(schemaFile: URL): string {
  return `${readFileSync(schemaFile, 'utf8')}\n${COMMON_SDL}`
}

/**
 * The resolvers a subgraph's schema is built with: the shared scalars, the module's map and, for a schema
 * declaring Mutation.applyDeletions, the one shared implementation (references.ts).
 */
export function subgraphResolvers<D extends Domain, L>(module: SubgraphModule<D, L>) {
  // The map was checked against the generated types by its subgraph; Apollo takes it by its own, looser type.
  const resolvers: GraphQLResolverMap<SubgraphContext<D, L>> = {
    ...scalarResolvers,
    ...(module.resolvers as GraphQLResolverMap<SubgraphContext<D, L>>),
  }
  if (declaresMutationField(module.typeDefs, 'applyDeletions')) {
    const mutation = resolvers.Mutation as Record<
      string,
      GraphQLFieldResolver<unknown, SubgraphContext<D, L>>
    >
    resolvers.Mutation = { ...mutation, applyDeletions: applyDeletionsResolver(module.domain) }
  }
  if (resolvers.Mutation) {
    resolvers.Mutation = accountMutations(
      resolvers.Mutation as Record<string, GraphQLFieldResolver<unknown, SubgraphContext<D, L>>>,
    )
  }
  return resolvers
}

/**
 * The executable subgraph schema, with the @public / @requiresPermission policy and then the text input rules
 * (@text, @rows: inputs.ts) wrapped around its resolvers: a refused caller learns nothing about input rules.
 */
export function buildSchema<D extends Domain, L>(module: SubgraphModule<D, L>) {
  const resolvers = subgraphResolvers(module)
  const schema = buildSubgraphSchema([{ typeDefs: module.typeDefs, resolvers }])
  try {
    checkEnumResolvers(schema, resolvers)
    applyEnumDefaults(schema)
    return applyAuthorization(applyInputRules(schema))
  } catch (error) {
    throw new Error(`subgraph ${module.domain}: ${(error as Error).message}`)
  }
}

export function createSubgraphApollo<D extends Domain, L>(module: SubgraphModule<D, L>, logger: Logger) {
  const telemetry = requestTelemetryPlugin<SubgraphContext<D, L>>(module.domain)
  return new ApolloServer<SubgraphContext<D, L>>({
    schema: buildSchema(module),
    includeStacktraceInErrorResponses: false,
    // The service's own onShutdownSignal drains HTTP first, then stops Apollo.
    stopOnTerminationSignals: false,
    formatError: (formatted, error) =>
      maskError(formatted, error, (cause) => logger.error('unexpected error', { error: cause })),
    // No Apollo Studio here: federated tracing would only cost time on every request. Cache hints are
    // unused (the gateway's cache keys on subgraph fetches), and computing them wraps every resolver.
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      ApolloServerPluginCacheControlDisabled(),
      changedEntitiesPlugin<SubgraphContext<D, L>>(),
      ...(telemetry ? [telemetry] : []),
    ],
  })
}

export function createContextFactory<D extends Domain, L>(
  module: SubgraphModule<D, L>,
  database: DomainDatabase<D>,
  logger: Logger,
  peers: Peers,
  auditRelay: AuditRelay,
  env: Env,
) {
  return async (req?: IncomingMessage, caller: Caller = ANONYMOUS): Promise<SubgraphContext<D, L>> => {
    const id = req ? requestId(req) : 'internal'
    const header = (name: string) => {
      const value = req?.headers[name]
      return typeof value === 'string' && value ? value.slice(0, 255) : null
    }
    return {
      requestId: id,
      caller,
      client: { address: header(CLIENT_ADDRESS_HEADER), userAgent: header(CLIENT_USER_AGENT_HEADER) },
      db: database.db,
      background: database.background,
      loaders: module.createLoaders(database.db),
      // The request id (and trace id) are on every line written while serving the request.
      logger,
      peers,
      auditRelay,
      env,
      changes: new ChangedEntities(module.domain),
    }
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name]
  return typeof value === 'string' ? value : undefined
}

/**
 * The caller a request's x-pm-caller / x-pm-signature headers prove for this request (this subgraph,
 * this payload), or null (missing, forged, stale, or signed for another request).
 */
export function signedCaller(
  req: IncomingMessage,
  signingSecret: string,
  request: SignedRequest,
  now = Date.now(),
): Caller | null {
  return verifyCaller(header(req, CALLER_HEADER), header(req, SIGNATURE_HEADER), signingSecret, request, now)
}

/** Set by the gateway on each subgraph request: where the end client is, what it runs. */
export const CLIENT_ADDRESS_HEADER = 'x-pm-client-address'
export const CLIENT_USER_AGENT_HEADER = 'x-pm-client-user-agent'

export const UNSIGNED_REQUEST_MESSAGE =
  'This service answers only operations signed by the gateway: send them to the gateway'

export interface RunningSubgraph {
  domain: Domain
  url: string
  graphqlUrl: string
  /** The admin listener: /ready (the database answers) and /health. */
  adminUrl: string
  http: HttpService
  auditRelay: AuditRelay
  stop(): Promise<void>
}

export interface StartSubgraphOptions<D extends Domain> {
  database: DomainDatabase<D>
  port: number
  host?: string
  /** Where /ready is served (default 127.0.0.1 on any free port). */
  admin?: AdminListener
  logger?: Logger
  /** The other subgraphs' URLs, read when needed (a subgraph started alone: SUBGRAPH_<DOMAIN>_URL or loopback ports). */
  peers: Peers
  /** Audit relay polling interval (default 2 s). */
  auditIntervalMs?: number
  /** Largest request body (default 16 MiB: the gateway bounds what callers send; bulk writes are large). */
  maxBodyBytes?: number
  /**
   * GATEWAY_SIGNING_SECRET: /graphql answers only requests whose caller identity is signed with it (401
   * UNAUTHENTICATED otherwise); the audit relay and queryPeer sign as SERVICE with it.
   */
  signingSecret: string
  /**
   * What ctx.env holds, e.g. core's MODULE_<ID>_ENABLED in a test: the environment runSubgraph was given;
   * default process.env for a test or benchmark that starts a subgraph without one.
   */
  env?: Env
}

/**
 * Serves one subgraph over HTTP: /graphql and /health, and /ready on the admin listener. The database
 * handle stays the caller's.
 */
export async function startSubgraph<D extends Domain, L>(
  module: SubgraphModule<D, L>,
  options: StartSubgraphOptions<D>,
): Promise<RunningSubgraph> {
  const logger = options.logger ?? createLogger({ service: `subgraph-${module.domain}` })
  const { database } = options
  const env = options.env ?? process.env
  await module.onStart?.(database.db, logger, env)
  const { signingSecret } = options
  if (!signingSecret) throw new SecretConfigError(`subgraph ${module.domain}: no signingSecret given`)
  const peers = signedPeers(options.peers, signingSecret)
  const auditRelay = startAuditRelay({
    // Uncounted: the relay's statements are not part of any operation's statement count.
    db: database.background,
    deliver: withDeletionPropagation(
      module.auditDelivery?.(database.background) ?? httpAuditDelivery(() => peers.analytics, signingSecret),
      peers,
    ),
    canDeliver: () => Boolean(module.auditDelivery || peers.analytics),
    logger,
    ...(options.auditIntervalMs ? { intervalMs: options.auditIntervalMs } : {}),
  })
  const apollo = createSubgraphApollo(module, logger)
  await apollo.start()
  const context = createContextFactory(module, database, logger, peers, auditRelay, env)
  // The identity verified by the route, handed to the context Apollo asks for.
  const callers = new WeakMap<IncomingMessage, Caller>()
  const unsigned = { status: 401, message: UNSIGNED_REQUEST_MESSAGE, code: 'UNAUTHENTICATED' }
  const graphql = apolloHandler(apollo, (req) => context(req, callers.get(req)), {
    maxBodyBytes: options.maxBodyBytes ?? 16 * 1024 * 1024,
    // The signature covers this subgraph's name and the payload: checked before anything of it is parsed.
    admit: (req, _url, payload) => {
      const caller = signedCaller(req, signingSecret, { target: module.domain, payload })
      if (!caller) return unsigned
      callers.set(req, caller)
      return undefined
    },
  })
  const http = await startHttpService({
    name: module.domain,
    host: options.host ?? '127.0.0.1',
    port: options.port,
    ...(options.admin ? { admin: options.admin } : {}),
    logger,
    // Called by the gateway: its trace continues here.
    continueTrace: true,
    routes: {
      // A request without a signature, or with a stale one, is refused before its body is read.
      '/graphql': (req, res, url) => {
        const signedAt = header(req, SIGNATURE_HEADER) ? callerSignedAt(header(req, CALLER_HEADER)) : null
        if (signedAt === null || !freshSignature(signedAt)) {
          req.resume()
          return sendGraphQLError(res, unsigned.status, unsigned.message, unsigned.code)
        }
        return graphql(req, res, url)
      },
    },
    adminRoutes: {
      ...readinessRoutes(async () => ({
        database: await database.ping().then(
          () => true,
          () => false,
        ),
      })),
      '/metrics': metricsRoute(),
    },
  })
  logger.info('subgraph listening', { url: `${http.url}/graphql`, admin: http.adminUrl })
  return {
    domain: module.domain,
    url: http.url,
    graphqlUrl: `${http.url}/graphql`,
    adminUrl: http.adminUrl,
    http,
    auditRelay,
    async stop() {
      await http.stop()
      await apollo.stop()
      await auditRelay.stop()
    },
  }
}

/** The variables a subgraph started alone reads (README "Configuration"). */
export function subgraphEnvironmentSchema() {
  return z.object({
    LOG_LEVEL: envSchemas.logLevel,
    NODE_ENV: envSchemas.nodeEnv,
    HOST: envSchemas.host,
    [SIGNING_SECRET_ENV]: z.string().optional(),
    ...databaseEnvShape,
    ...subgraphUrlsEnvShape,
    ...adminEnvShape,
    SUBGRAPH_NICE: envSchemas.integer(0, 19).default(0),
  })
}

/** A subgraph's settings, read once when it starts alone (runSubgraph). */
export interface SubgraphEnvironment {
  logLevel: LogLevel
  /** SUBGRAPH_<DOMAIN>_PORT (default 4001–4007). */
  port: number
  /** HOST (default 127.0.0.1). */
  host: string
  /** ADMIN_HOST and SUBGRAPH_<DOMAIN>_ADMIN_PORT (default 9001–9007): /ready and /metrics. */
  admin: { host: string; port: number }
  /** GATEWAY_SIGNING_SECRET (required, ≥ 32 characters). */
  signingSecret: string
  /** DB_<DOMAIN>_URL / DATABASE_URL / the embedded default, with the DB_POOL_* settings. */
  database: DatabaseConfig
  /** The other subgraphs' URLs: SUBGRAPH_<DOMAIN>_URL, else loopback on their ports. */
  peers: Record<Domain, string>
  /**
   * SUBGRAPH_NICE (0–19, default 0): this process's CPU priority, lowered for an instance that takes only
   * background traffic (e.g. the catalog instance the import workers write through), so that the instances
   * serving the API's callers on the same cores are served first.
   */
  nice: number
}

/**
 * Reads a subgraph's settings from `env` once; a missing or bad value throws an EnvironmentError whose message
 * names the variable.
 */
export function loadSubgraphEnvironment(domain: Domain, env: Env): SubgraphEnvironment {
  const parsed = parseEnvironment(`subgraph ${domain}`, subgraphEnvironmentSchema(), env)
  try {
    return {
      logLevel: parsed.LOG_LEVEL,
      port: portsOf(parsed)[domain],
      host: parsed.HOST,
      admin: adminListenerOf(parsed, domain),
      signingSecret: requireSecret(SIGNING_SECRET_ENV, env),
      database: databaseConfigOf(parsed),
      peers: subgraphUrlsOf(parsed),
      nice: parsed.SUBGRAPH_NICE,
    }
  } catch (error) {
    if (error instanceof SecretConfigError || error instanceof ConfigError)
      throw new EnvironmentError(`subgraph ${domain}: ${error.message}`)
    throw error
  }
}

/**
 * Entry point of a subgraph deployed alone: its settings read from `env` (the process's environment, given
 * by its main.ts) once, here; a missing or bad value stops it with a message naming the variable, no stack
 * trace. `env` is also what ctx.env holds.
 */
export async function runSubgraph<D extends Domain, L>(module: SubgraphModule<D, L>, env: Env) {
  let settings: SubgraphEnvironment
  try {
    settings = loadSubgraphEnvironment(module.domain, env)
  } catch (error) {
    if (!(error instanceof EnvironmentError)) throw error
    createLogger({ service: `subgraph-${module.domain}` }, 'info').error(error.message)
    process.exit(1)
  }
  const logger = createLogger({ service: `subgraph-${module.domain}` }, settings.logLevel)
  if (settings.nice > 0) lowerProcessPriority(settings.nice, logger)
  await startTelemetry(`subgraph-${module.domain}`, logger, env)
  const { port, host, admin, signingSecret, database: config } = settings
  // The embedded default is for development: its database is brought to head as `pnpm start` does.
  const prepared = await prepareDatabases({
    config,
    log: (m) => logger.info(m),
    migrate: config.mode === 'embedded' ? [module.domain] : false,
  })
  const database = createDomainDatabase(
    { ...prepared.domains[module.domain], domain: module.domain },
    {
      onPoolError: (error) => logger.warn('idle database connection lost', { error: error.message }),
    },
  )
  const running = await startSubgraph(module, {
    database,
    port,
    host,
    admin,
    logger,
    signingSecret,
    peers: settings.peers,
    env,
  })
  onShutdownSignal(async () => {
    await running.stop()
    await database.destroy()
    await prepared.stop()
  }, logger)
}
