export {
  type DemoData,
  type DemoRows,
  type DomainRows,
  generateDemoData,
  type SeedOptions,
} from './generate'
export { DEMO_PASSWORD, hashPassword } from './generate/core'
export { isValidGtin } from './random'
export { JSON_COLUMNS, type SeedDatabases, type SeedResult, seedDemoData } from './seed'
