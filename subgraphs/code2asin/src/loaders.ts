import type { DB } from '@pm/db/types/code2asin'
import {
  groupedConnectionLoader,
  groupedLoader,
  LoaderFamily,
  type Order,
  type PageArgs,
  uniqueLoader,
} from '@pm/service-kit'
import type { Selectable } from 'kysely'
import { toCode2AsinJob, toCode2AsinResult } from './db/mappers'
import {
  bestResultsByProductIds,
  type Code2AsinDb,
  jobsByIds,
  resultsByProductIds,
  resultsOfJobsQuery,
} from './db/queries'

export const JOB_ORDER: Order = {
  key: 'CREATED_AT:DESC',
  column: 'code2asin_jobs.created_at',
  id: 'code2asin_jobs.id',
  direction: 'desc',
}

export const RESULT_ORDER: Order = {
  key: 'PROCESSED_AT:DESC',
  column: 'code2asin_results.processed_at',
  id: 'code2asin_results.id',
  direction: 'desc',
}

/** Per-request loaders: each batch is one SQL statement. */
export function createLoaders(db: Code2AsinDb) {
  return {
    jobById: uniqueLoader(
      async (ids) => (await jobsByIds(db, ids)).map(toCode2AsinJob),
      (j) => j.id,
    ),
    asinMatchesByProductId: groupedLoader(
      async (ids) => (await resultsByProductIds(db, ids)).map(toCode2AsinResult),
      (r) => r.productId,
    ),
    bestAsinMatchByProductId: uniqueLoader(
      async (ids) => (await bestResultsByProductIds(db, ids)).map(toCode2AsinResult),
      (r) => r.productId,
    ),
    resultsByJobId: new LoaderFamily((args: PageArgs & { matchType: string | null }) =>
      groupedConnectionLoader<Selectable<DB['code2asin_results']>>({
        db,
        query: (jobIds) => resultsOfJobsQuery(db, jobIds, args.matchType),
        parentColumn: 'code2asin_results.job_id',
        order: RESULT_ORDER,
        args,
      }),
    ),
  }
}

export type Code2AsinLoaders = ReturnType<typeof createLoaders>
