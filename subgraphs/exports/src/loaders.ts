import {
  groupedConnectionLoader,
  LoaderFamily,
  type Order,
  type PageArgs,
  uniqueLoader,
} from '@pm/service-kit'
import { type ExportJobItemRow, type ExportJobRow, toExportJob, toExportPlatform } from './db/mappers'
import {
  type ExportsDb,
  itemsByJobIdsQuery,
  itemsByProductIdsQuery,
  jobsByIds,
  jobsByPlatformIdsQuery,
  platformsByIds,
} from './db/queries'

/** Newest first, as Query.exportJobs. */
export const JOB_ORDER: Order = {
  key: 'CREATED_AT:DESC',
  column: 'export_jobs.created_at',
  id: 'export_jobs.id',
  direction: 'desc',
}

/** Items have no creation time: not yet processed (NULL processed_at sorts first descending), then newest. */
export const ITEM_ORDER: Order = {
  key: 'PROCESSED_AT:DESC',
  column: 'export_job_items.processed_at',
  id: 'export_job_items.id',
  direction: 'desc',
}

/** Per-request loaders: each batch is one SQL statement. */
export function createLoaders(db: ExportsDb) {
  return {
    platformById: uniqueLoader(
      async (ids) => (await platformsByIds(db, ids)).map(toExportPlatform),
      (p) => p.id,
    ),
    jobById: uniqueLoader(
      async (ids) => (await jobsByIds(db, ids)).map(toExportJob),
      (j) => j.id,
    ),
    jobsByPlatformId: new LoaderFamily((args: PageArgs & { status: string | null }) =>
      groupedConnectionLoader<ExportJobRow>({
        db,
        query: (ids) => jobsByPlatformIdsQuery(db, ids, args.status),
        parentColumn: 'export_jobs.platform_id',
        order: JOB_ORDER,
        args,
      }),
    ),
    itemsByJobId: new LoaderFamily((args: PageArgs & { status: string | null }) =>
      groupedConnectionLoader<ExportJobItemRow>({
        db,
        query: (ids) => itemsByJobIdsQuery(db, ids, args.status),
        parentColumn: 'export_job_items.job_id',
        order: ITEM_ORDER,
        args,
      }),
    ),
    itemsByProductId: new LoaderFamily((args: PageArgs) =>
      groupedConnectionLoader<ExportJobItemRow>({
        db,
        query: (ids) => itemsByProductIdsQuery(db, ids),
        parentColumn: 'export_job_items.product_id',
        order: ITEM_ORDER,
        args,
      }),
    ),
  }
}

export type ExportsLoaders = ReturnType<typeof createLoaders>
