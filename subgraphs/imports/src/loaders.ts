import {
  groupedConnectionLoader,
  groupedLoader,
  LoaderFamily,
  type Order,
  type PageArgs,
  uniqueLoader,
} from '@pm/service-kit'
import {
  type ImportErrorRow,
  type ImportJobRow,
  type ImportLogRow,
  toImportConfig,
  toImportFile,
  toImportJob,
  toImportSchedule,
  toImportStatistics,
} from './db/mappers'
import {
  configsByIds,
  configsBySupplierCodes,
  errorsQuery,
  filesByJobIds,
  type ImportsDb,
  jobsByConfigIdsQuery,
  jobsByIds,
  jobsBySupplierCodesQuery,
  logsQuery,
  schedulesByConfigIds,
  statisticsByJobIds,
} from './db/queries'

/** Newest first; the key matches orderFrom's, so the dashboard's cursors and the nested lists' agree. */
export const JOB_ORDER: Order = {
  key: 'CREATED_AT:DESC',
  column: 'import_jobs.created_at',
  id: 'import_jobs.id',
  direction: 'desc',
}

export const LOG_ORDER: Order = {
  key: 'CREATED_AT:DESC',
  column: 'import_logs.created_at',
  id: 'import_logs.id',
  direction: 'desc',
}

/** File order, as idx_import_errors_job_row (NULL row_number, a file-level error, sorts last). */
export const ERROR_ORDER: Order = {
  key: 'ROW_NUMBER:ASC',
  column: 'import_errors.row_number',
  id: 'import_errors.id',
  direction: 'asc',
}

/** Per-request loaders: each batch is one SQL statement. */
export function createLoaders(db: ImportsDb) {
  return {
    jobById: uniqueLoader(
      async (ids) => (await jobsByIds(db, ids)).map(toImportJob),
      (j) => j.id,
    ),
    configById: uniqueLoader(
      async (ids) => (await configsByIds(db, ids)).map(toImportConfig),
      (c) => c.id,
    ),
    configsBySupplierCode: groupedLoader(
      async (codes) => (await configsBySupplierCodes(db, codes)).map(toImportConfig),
      (c) => c.supplierCode,
    ),
    schedulesByConfigId: groupedLoader(
      async (ids) => (await schedulesByConfigIds(db, ids)).map(toImportSchedule),
      (s) => s.configId ?? '',
    ),
    filesByJobId: groupedLoader(
      async (ids) => (await filesByJobIds(db, ids)).map(toImportFile),
      (f) => f.jobId,
    ),
    statisticsByJobId: uniqueLoader(
      async (ids) => (await statisticsByJobIds(db, ids)).map(toImportStatistics),
      (s) => s.jobId,
    ),
    jobsBySupplierCode: new LoaderFamily((args: PageArgs & { status: string | null }) =>
      groupedConnectionLoader<ImportJobRow>({
        db,
        query: (codes) => jobsBySupplierCodesQuery(db, codes, args.status),
        parentColumn: 'import_jobs.supplier_code',
        parentType: 'text',
        order: JOB_ORDER,
        args,
      }),
    ),
    jobsByConfigId: new LoaderFamily((args: PageArgs & { status: string | null }) =>
      groupedConnectionLoader<ImportJobRow>({
        db,
        query: (ids) => jobsByConfigIdsQuery(db, ids, args.status),
        parentColumn: 'import_jobs.config_id',
        order: JOB_ORDER,
        args,
      }),
    ),
    logsByJobId: new LoaderFamily((args: PageArgs & { level: string | null }) =>
      groupedConnectionLoader<ImportLogRow>({
        db,
        query: (ids) => logsQuery(db, ids, args.level),
        parentColumn: 'import_logs.job_id',
        order: LOG_ORDER,
        args,
      }),
    ),
    errorsByJobId: new LoaderFamily((args: PageArgs) =>
      groupedConnectionLoader<ImportErrorRow>({
        db,
        query: (ids) => errorsQuery(db, ids),
        parentColumn: 'import_errors.job_id',
        order: ERROR_ORDER,
        args,
      }),
    ),
  }
}

export type ImportsLoaders = ReturnType<typeof createLoaders>
