import { type ConnectorSettings, loadConnectorSettings } from '@pm/connectors'
import { createStorage, loadStorageConfig, type Storage } from '@pm/storage'
import { FORMATS, type ImageFormat } from './image'
import { type MediaSettings, mediaSettings, type SizeName } from './settings'

/**
 * Stored bytes are addressed by their SHA-256: every media file with the same content shares the original, its
 * served copy and its thumbnails, which go when the last of those files is deleted.
 */
export const MEDIA_PREFIX = 'media/'
export const originalKey = (sha256: string) => `media/originals/${sha256}`
export const servedKey = (sha256: string, format: ImageFormat) =>
  `media/served/${sha256}.${FORMATS[format].ext}`
export const thumbnailKey = (sha256: string, size: SizeName, format: ImageFormat) =>
  `media/thumbnails/${sha256}/${size}.${FORMATS[format].ext}`

/** Removes every object stored for this content (original, served copy, thumbnails); missing ones are no error. */
export async function deleteStoredContent(storage: Storage, sha256: string): Promise<void> {
  const keys = [originalKey(sha256), ...Object.keys(FORMATS).map((f) => servedKey(sha256, f as ImageFormat))]
  for await (const object of storage.list(`media/thumbnails/${sha256}/`)) keys.push(object.key)
  await Promise.all(keys.map((key) => storage.delete(key)))
}

export interface MediaEnv {
  storage: Storage
  connectors: ConnectorSettings
  settings: MediaSettings
}

/** One storage client and the settings per environment (the process's, or a test stack's). */
const perEnv = new WeakMap<object, MediaEnv>()
export function mediaEnv(env: NodeJS.ProcessEnv): MediaEnv {
  let found = perEnv.get(env)
  if (!found) {
    found = {
      storage: createStorage(loadStorageConfig(env)),
      connectors: loadConnectorSettings(env),
      settings: mediaSettings(env),
    }
    perEnv.set(env, found)
  }
  return found
}
