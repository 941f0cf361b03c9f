import type { DB } from '@pm/db/types/imports'
import { maskSecrets } from '@pm/service-kit'
import type { Selectable } from 'kysely'

export type ImportJobRow = Selectable<DB['import_jobs']>
export type ImportConfigRow = Selectable<DB['import_configs']>
export type ImportScheduleRow = Selectable<DB['import_schedules']>
export type MappingTemplateRow = Selectable<DB['mapping_templates']>
export type ImportLogRow = Selectable<DB['import_logs']>
export type ImportErrorRow = Selectable<DB['import_errors']>
export type ImportFileRow = Selectable<DB['import_files']>
export type ImportStatisticsRow = Selectable<DB['import_statistics']>

export type ImportJob = ReturnType<typeof toImportJob>
export type ImportConfig = ReturnType<typeof toImportConfig>
export type ImportSchedule = ReturnType<typeof toImportSchedule>

/** BIGINT arrives as a string (no precision loss in pg); SafeInt fields want a number. */
function int8(value: string | null): number | null {
  return value === null ? null : Number(value)
}

/** Percent of the file done (bytes read of its size) and the seconds left at the pace so far. */
function progressOf(row: ImportJobRow): { percent: number | null; etaSeconds: number | null } {
  if (row.status === 'completed') return { percent: 100, etaSeconds: 0 }
  const total = int8(row.bytes_total)
  const read = int8(row.bytes_read) ?? 0
  if (!total) return { percent: null, etaSeconds: null }
  const share = Math.min(1, read / total)
  const percent = Math.round(share * 1_000) / 10
  if (row.status !== 'running' || !row.started_at || share <= 0) return { percent, etaSeconds: null }
  const elapsed = (Date.now() - new Date(row.started_at).getTime()) / 1_000
  return { percent, etaSeconds: Math.max(0, Math.round((elapsed * (1 - share)) / share)) }
}

export function toImportJob(row: ImportJobRow) {
  return {
    id: row.id,
    configId: row.config_id,
    supplierCode: row.supplier_code,
    importType: row.import_type,
    status: row.status,
    startedAt: row.started_at,
    completedAt: row.completed_at,
    durationSeconds: row.duration_seconds,
    totalRows: row.total_rows,
    processedRows: row.processed_rows,
    successfulRows: row.successful_rows,
    failedRows: row.failed_rows,
    productsCreated: row.products_created,
    productsUpdated: row.products_updated,
    productsUnchanged: row.products_unchanged,
    ...progressOf(row),
    checkpointRow: row.checkpoint_row,
    source: row.source,
    cancelRequested: row.cancel_requested_at !== null,
    errorCount: row.error_count,
    lastError: row.last_error,
    createdById: row.created_by,
    createdAt: row.created_at,
  }
}

/** connection_config holds FTP/SFTP/HTTP credentials: secret-looking keys leave this function masked. */
export function toImportConfig(row: ImportConfigRow) {
  return {
    id: row.id,
    supplierCode: row.supplier_code,
    importType: row.import_type,
    configName: row.config_name,
    isActive: row.is_active,
    connectionConfig: maskSecrets(row.connection_config),
    scheduleConfig: row.schedule_config,
    filePattern: row.file_pattern,
    fileFormat: row.file_format,
    encoding: row.encoding,
    delimiter: row.delimiter,
    fieldMapping: row.field_mapping,
    transformationRules: row.transformation_rules,
    validationRules: row.validation_rules,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

export function toImportSchedule(row: ImportScheduleRow) {
  return {
    id: row.id,
    configId: row.config_id,
    cronExpression: row.cron_expression,
    isActive: row.is_active,
    lastRun: row.last_run,
    nextRun: row.next_run,
  }
}

export function toMappingTemplate(row: MappingTemplateRow) {
  return {
    id: row.id,
    name: row.name,
    supplierCode: row.supplier_code,
    fieldMapping: row.field_mapping,
    isDefault: row.is_default,
    createdAt: row.created_at,
  }
}

export function toImportLog(row: ImportLogRow) {
  return {
    id: Number(row.id),
    jobId: row.job_id,
    logLevel: row.log_level,
    message: row.message,
    context: row.context,
    rowNumber: row.row_number,
    createdAt: row.created_at,
  }
}

export function toImportError(row: ImportErrorRow) {
  return {
    id: row.id,
    jobId: row.job_id,
    rowNumber: row.row_number,
    columnName: row.column_name,
    errorCode: row.error_code,
    message: row.message,
    rawValue: row.raw_value,
    rawRow: row.raw_row,
    severity: row.severity,
    createdAt: row.created_at,
  }
}

export function toImportFile(row: ImportFileRow) {
  return {
    id: row.id,
    jobId: row.job_id,
    fileName: row.file_name,
    fileHash: row.file_hash,
    fileSizeBytes: int8(row.file_size_bytes),
    mimeType: row.mime_type,
    fileFormat: row.file_format,
    encoding: row.encoding,
    source: row.source,
    storageType: row.storage_type,
    bucketName: row.bucket_name,
    objectKey: row.object_key,
    rowCount: row.row_count,
    uploadedAt: row.uploaded_at,
  }
}

export function toImportStatistics(row: ImportStatisticsRow) {
  return {
    id: row.id,
    jobId: row.job_id,
    skippedRows: row.skipped_rows,
    duplicateRows: row.duplicate_rows,
    productsUnchanged: row.products_unchanged,
    warningCount: row.warning_count,
    errorsByCode: row.errors_by_code,
    fileCount: row.file_count,
    bytesProcessed: Number(row.bytes_processed),
    downloadDurationMs: int8(row.download_duration_ms),
    parseDurationMs: int8(row.parse_duration_ms),
    validationDurationMs: int8(row.validation_duration_ms),
    persistDurationMs: int8(row.persist_duration_ms),
    totalDurationMs: int8(row.total_duration_ms),
    rowsPerSecond: row.rows_per_second,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

export type MappingTemplate = ReturnType<typeof toMappingTemplate>
export type ImportLog = ReturnType<typeof toImportLog>
export type ImportError = ReturnType<typeof toImportError>
export type ImportFile = ReturnType<typeof toImportFile>
export type ImportStatistics = ReturnType<typeof toImportStatistics>
