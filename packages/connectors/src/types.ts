import type { Readable } from 'node:stream'

/** A file a source offers; `name` is relative to the source's base directory ("catalog_2026.csv", "in/x.csv"). */
export interface RemoteFile {
  name: string
  size?: number
  modifiedAt?: Date
}

export interface SourceConnector {
  /** The files matching the pattern (see globToRegExp), newest first. */
  list(pattern?: string): Promise<RemoteFile[]>
  /** The file's bytes; NOT_FOUND when it does not exist. */
  get(name: string): Promise<Readable>
  close(): Promise<void>
}

export interface DestinationConnector {
  /** Writes the stream as `name` (relative to the base directory), replacing a file of that name. */
  put(name: string, body: Readable): Promise<void>
  close(): Promise<void>
}
