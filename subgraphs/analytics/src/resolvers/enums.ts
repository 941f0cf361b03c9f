import { enumValues, JOB_STATUSES } from '@pm/service-kit'
import { REPORT_FORMATS, REPORT_TYPES } from '../engine/reports/types'
import { REPORT_STATUSES } from '../mutations/reports'

/** The schema's enums over their stored values: resolvers and SQL see the stored values. */
export const enums = {
  ReportType: enumValues(REPORT_TYPES),
  ReportFormat: enumValues(REPORT_FORMATS),
  ReportStatus: enumValues(REPORT_STATUSES),
  // imports' enum: recordImportJobEnd takes only the final statuses.
  ImportJobStatus: enumValues(JOB_STATUSES),
}
