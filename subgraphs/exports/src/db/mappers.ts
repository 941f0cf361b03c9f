import type { DB } from '@pm/db/types/exports'
import { maskSecrets } from '@pm/service-kit'
import type { Selectable } from 'kysely'

export type ExportPlatformRow = Selectable<DB['export_platforms']>
export type ExportJobRow = Selectable<DB['export_jobs']>
export type ExportJobItemRow = Selectable<DB['export_job_items']>

export type ExportPlatform = ReturnType<typeof toExportPlatform>
export type ExportJob = ReturnType<typeof toExportJob>
export type ExportJobItem = ReturnType<typeof toExportJobItem>

/** config and field_mappings may hold platform credentials: secret-looking keys leave this function masked. */
export function toExportPlatform(row: ExportPlatformRow) {
  return {
    id: row.id,
    name: row.name,
    platformType: row.platform_type,
    isActive: row.is_active,
    config: maskSecrets(row.config),
    fieldMappings: maskSecrets(row.field_mappings),
    createdAt: row.created_at,
  }
}

export function toExportJob(row: ExportJobRow) {
  return {
    id: row.id,
    platformId: row.platform_id,
    jobType: row.job_type,
    status: row.status,
    totalItems: row.total_items,
    successItems: row.success_items,
    failedItems: row.failed_items,
    startedAt: row.started_at,
    completedAt: row.completed_at,
    createdAt: row.created_at,
    format: row.format ? row.format.toUpperCase() : null,
    phase: row.phase ? row.phase.toUpperCase() : null,
    selection: row.selection,
    lastError: row.last_error,
    fileKey: row.file_key,
    fileSize: row.file_size === null ? null : Number(row.file_size),
    deliveredTo: row.delivered_to,
  }
}

export function toExportJobItem(row: ExportJobItemRow) {
  return {
    id: row.id,
    jobId: row.job_id,
    productId: row.product_id,
    status: row.status,
    errorMessage: row.error_message,
    exportedData: row.exported_data,
    responseData: row.response_data,
    processedAt: row.processed_at,
  }
}
