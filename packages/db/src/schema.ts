import type { Domain } from './domains'
import type { DB as Analytics } from './generated/analytics'
import type { DB as Catalog } from './generated/catalog'
import type { DB as Code2Asin } from './generated/code2asin'
import type { DB as Core } from './generated/core'
import type { DB as Exports } from './generated/exports'
import type { DB as Imports } from './generated/imports'
import type { DB as Media } from './generated/media'

/** The generated Kysely `Database` interface of each domain. */
export interface DomainSchemas {
  core: Core
  catalog: Catalog
  imports: Imports
  exports: Exports
  media: Media
  code2asin: Code2Asin
  analytics: Analytics
}

export type DatabaseOf<D extends Domain> = DomainSchemas[D]
