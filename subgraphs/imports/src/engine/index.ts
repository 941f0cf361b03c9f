export { canonicalEncoding } from './bytes'
export { DEFAULT_MAX_COLUMNS, DEFAULT_MAX_LINE_BYTES } from './records'
export { formatFromBytes, formatFromFilename, openSource } from './source'
export * from './types'
