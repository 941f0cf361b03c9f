import { enumValues, PRODUCT_STATUSES } from '@pm/service-kit'
import { JOB_STATUSES, JOB_TYPES } from '../mutations/jobs'
import { PLATFORM_TYPES } from '../mutations/platforms'

/** The stored values of export_job_items.status. */
export const ITEM_STATUSES = ['pending', 'success', 'failed'] as const

/** The schema's enums over their stored values: resolvers and SQL see the stored values. */
export const enums = {
  ExportPlatformType: enumValues(PLATFORM_TYPES),
  ExportJobType: enumValues(JOB_TYPES),
  ExportJobStatus: enumValues(JOB_STATUSES),
  ExportItemStatus: enumValues(ITEM_STATUSES),
  ProductStatus: enumValues(PRODUCT_STATUSES),
}
