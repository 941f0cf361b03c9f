export { createStorage, defaultStorageDir, loadStorageConfig, type StorageConfig } from './config'
export { parseRange, storageDownloadHandler } from './download'
export { checkKey } from './keys'
export { LocalStorage, type LocalStorageOptions } from './local'
export { contentDisposition, S3Storage, type S3StorageOptions } from './s3'
export { FILES_PATH, signedFileUrl, verifyFileUrl } from './signing'
export { SNIFF_BYTES, sniffContentType, XLSX_TYPE } from './sniff'
export * from './types'
export {
  cleanFilename,
  discardUpload,
  openUpload,
  SERVICE_OWNER,
  saveUpload,
  type UploadInfo,
  UploadNotFoundError,
  uploadKey,
  uploadOwner,
} from './uploads'
