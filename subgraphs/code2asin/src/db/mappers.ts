import type { DB } from '@pm/db/types/code2asin'
import type { Selectable } from 'kysely'
import { providerView } from '../engine/config'

type JobRow = Selectable<DB['code2asin_jobs']>
type ResultRow = Selectable<DB['code2asin_results']>

export type Code2AsinJob = ReturnType<typeof toCode2AsinJob>
export type Code2AsinResult = ReturnType<typeof toCode2AsinResult>

export function toCode2AsinJob(row: JobRow) {
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    supplierCode: row.supplier_code,
    totalCodes: row.total_codes,
    processedCodes: row.processed_codes,
    successfulConversions: row.successful_conversions,
    failedConversions: row.failed_conversions,
    progressPercentage: row.progress_percentage,
    exactMatches: row.exact_matches,
    fuzzyMatches: row.fuzzy_matches,
    noMatches: row.no_matches,
    batchSize: row.batch_size,
    retryCount: row.retry_count,
    maxRetries: row.max_retries,
    searchConfig: row.search_config,
    failedLookups: row.failed_lookups,
    target: row.target === null ? null : row.target.toUpperCase(),
    provider: providerView(row.provider_config),
    autoVerifyConfidence: row.auto_verify_confidence,
    providerRequests: row.provider_requests,
    lastError: row.last_error,
    startedAt: row.started_at,
    completedAt: row.completed_at,
    createdAt: row.created_at,
  }
}

/** NUMERIC columns (confidence, price, rating) stay the exact strings PostgreSQL returns. */
export function toCode2AsinResult(row: ResultRow) {
  return {
    id: row.id,
    jobId: row.job_id,
    productId: row.product_id,
    productEan: row.product_ean,
    productTitle: row.product_title,
    asin: row.asin,
    amazonTitle: row.amazon_title,
    matchConfidence: row.match_confidence,
    matchType: row.match_type,
    amazonData: row.amazon_data,
    amazonImages: row.amazon_images,
    amazonPrice: row.amazon_price,
    amazonCurrency: row.amazon_currency,
    amazonCategory: row.amazon_category,
    amazonRating: row.amazon_rating,
    amazonReviewCount: row.amazon_review_count,
    processedAt: row.processed_at,
    isVerified: row.is_verified,
    errorCode: row.error_code,
    errorMessage: row.error_message,
  }
}
