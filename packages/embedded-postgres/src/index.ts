export { EmbeddedPostgresError, type EmbeddedServer, type EmbeddedServerOptions } from './common'
export { startEmbeddedPostgres } from './start'
