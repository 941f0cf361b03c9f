export { type AllowPrivate, addressPolicy, isPublicAddress, resolveAllowed } from './address'
export {
  CONNECTION_TYPES,
  type ConnectionConfig,
  type ConnectionConfigIssue,
  type ConnectionType,
  type ConnectorOptions,
  connectorFromConfig,
  type EmailConnectionConfig,
  type FtpConnectionConfig,
  type HttpConnectionConfig,
  type LocalConnectionConfig,
  normalizeConnectionConfig,
  type SftpConnectionConfig,
  validateConnectionConfig,
} from './config'
export { ConnectorError, type ConnectorErrorCode, isConnectorError } from './errors'
export { type SafeFetchOptions, type SafeFetchResponse, safeFetch } from './fetch'
export { type FtpConfig, ftpConnector } from './ftp'
export { globToRegExp } from './glob'
export { type HttpSourceConfig, httpSource } from './http'
export { localPathSource } from './local'
export { type ConnectorSettings, connectorSettings, loadConnectorSettings } from './settings'
export { type SftpConfig, sftpConnector } from './sftp'
export type { DestinationConnector, RemoteFile, SourceConnector } from './types'
