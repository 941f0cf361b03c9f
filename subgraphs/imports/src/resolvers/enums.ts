import { enumValues, STORAGE_TYPES } from '@pm/service-kit'
import { LOG_LEVELS } from '../db/queries'
import { JOB_STATUSES } from '../mutations/jobs'
import { FILE_FORMATS } from '../validation'

/** import_errors.severity and the severity of a validation rule. */
export const ISSUE_SEVERITIES = ['error', 'warning'] as const
/** import_files.source: an upload, a server path, or the configuration's connection. */
export const FILE_SOURCES = ['upload', 'local', 'http', 'ftp', 'sftp', 'email'] as const

/** The schema's enums over their stored values: resolvers and SQL see the stored values. */
export const enums = {
  ImportJobStatus: enumValues(JOB_STATUSES),
  ImportLogLevel: enumValues(LOG_LEVELS),
  ImportIssueSeverity: enumValues(ISSUE_SEVERITIES),
  ImportFileFormat: enumValues(FILE_FORMATS),
  ImportFileSource: enumValues(FILE_SOURCES),
  StorageType: enumValues(STORAGE_TYPES),
}
