export { type DemoImage, demoImages } from './demo-images'
export { DEMO_ASIN_SUPPLIER } from './fixtures'
export {
  type DemoData,
  type DemoRows,
  type DomainRows,
  generateDemoData,
  type SeedOptions,
} from './generate'
export { DEMO_PASSWORD, hashPassword } from './generate/core'
export { isValidGtin } from './random'
export { planDataSet, type ScaleOptions, type ScalePlan } from './scale/generate'
export {
  DataSetNotEmptyError,
  type LoadOptions,
  type LoadResult,
  loadDataSet,
  resetDatabases,
} from './scale/load'
export { JSON_COLUMNS, type SeedDatabases, type SeedResult, seedDemoData } from './seed'
export {
  BAD_ROW_KINDS,
  type BadRowKind,
  SUPPLIER_FILE_FORMATS,
  type SupplierFileFormat,
  type SupplierFileOptions,
  type SupplierFileResult,
  type SupplierRow,
  supplierFileConfig,
  supplierRows,
  writeSupplierFile,
} from './supplier-file'
