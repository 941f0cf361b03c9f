export { KNOWN_LOCALES } from '@pm/transform'
export { canonicalEncoding } from './bytes'
export { type CompiledImport, compileImport } from './compile'
export {
  checkFieldMapping,
  checkTransformationRules,
  checkValidationRules,
  type FieldMapping,
  type ImportConfigInput,
  keyPath,
  TRANSFORMATION_OPS,
  type TransformationRule,
  VALIDATION_RULES,
  type ValidationRule,
  type ValidImportConfig,
  validateImportConfig,
  validateMapping,
} from './config'
export { DEFAULT_MAX_COLUMNS, DEFAULT_MAX_LINE_BYTES } from './records'
export { formatFromBytes, formatFromFilename, openSource } from './source'
export * from './types'
export { type FieldKind, type FieldSpec, fieldSpec, IDENTIFIER_FIELDS, TARGET_FIELDS } from './vocabulary'
