import { enumValues, STORAGE_TYPES } from '@pm/service-kit'
import { SIZE_NAMES } from '../engine/settings'

/** media_files.image_type. */
export const IMAGE_TYPES = ['main', 'gallery', 'packshot', 'lifestyle', 'detail'] as const
/** media_files.processing_status, set by the media worker. */
export const PROCESSING_STATUSES = ['pending', 'processing', 'completed', 'failed'] as const

/** The schema's enums over their stored values: resolvers and SQL see the stored values. */
export const enums = {
  StorageType: enumValues(STORAGE_TYPES),
  ImageType: enumValues(IMAGE_TYPES),
  MediaProcessingStatus: enumValues(PROCESSING_STATUSES),
  ThumbnailSize: enumValues(SIZE_NAMES),
}
