import { createStorage, loadStorageConfig, type Storage } from '@pm/storage'
import type { Context } from './context'

let found: { env: unknown; storage: Storage } | undefined

/** The storage the exports worker writes feed files to (STORAGE_* of the subgraph's environment). */
export function storageOf(ctx: Context): Storage {
  if (found?.env !== ctx.env) found = { env: ctx.env, storage: createStorage(loadStorageConfig(ctx.env)) }
  return found.storage
}
