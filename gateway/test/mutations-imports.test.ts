import { randomUUID } from 'node:crypto'
import { createLogger, startSubgraph } from '@pm/service-kit'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { subgraph as catalogSubgraph } from '../../subgraphs/catalog/src/module'

type Domains = 'catalog' | 'imports' | 'analytics'
let stack: TestStack<Domains>

const SUPPLIER = 'SUP-IMP'
const OTHER_SUPPLIER = 'SUP-IMP-2'

const CONFIG_FIELDS = `id supplierCode importType configName isActive connectionConfig scheduleConfig filePattern
  fileFormat encoding delimiter fieldMapping transformationRules validationRules schedules { id isActive nextRun }`

const CREATE_CONFIG = `mutation($input: CreateImportConfigInput!) {
  createImportConfig(input: $input) { ${CONFIG_FIELDS} }
}`
const UPDATE_CONFIG = `mutation($id: UUID!, $input: UpdateImportConfigInput!) {
  updateImportConfig(id: $id, input: $input) { ${CONFIG_FIELDS} }
}`
const DEACTIVATE_CONFIG = `mutation($id: UUID!) { deactivateImportConfig(id: $id) { ${CONFIG_FIELDS} } }`

const JOB_FIELDS = `id configId supplierCode importType status startedAt completedAt durationSeconds totalRows
  processedRows successfulRows failedRows productsCreated productsUpdated errorCount lastError createdBy { id }`
const CREATE_JOB = `mutation($input: CreateImportJobInput!) { createImportJob(input: $input) { ${JOB_FIELDS} } }`
const SET_STATUS = `mutation($id: UUID!, $status: ImportJobStatus!, $lastError: String, $totalRows: Int) {
  setImportJobStatus(id: $id, status: $status, lastError: $lastError, totalRows: $totalRows) { ${JOB_FIELDS} }
}`
const PROGRESS = `mutation($jobId: UUID!, $p: Int, $s: Int, $f: Int, $c: Int, $u: Int) {
  recordImportProgress(jobId: $jobId, processedRows: $p, successfulRows: $s, failedRows: $f,
    productsCreated: $c, productsUpdated: $u) { ${JOB_FIELDS} }
}`
const APPEND_LOGS = `mutation($jobId: UUID!, $entries: [ImportLogEntryInput!]!) {
  appendImportLogs(jobId: $jobId, entries: $entries) { appended rejected { index field code } job { id logs(first: 50) { totalCount
    edges { node { logLevel message rowNumber context } } } } }
}`
const APPEND_LOGS_COUNT = `mutation($jobId: UUID!, $entries: [ImportLogEntryInput!]!) {
  appendImportLogs(jobId: $jobId, entries: $entries) { appended }
}`
const APPEND_ERRORS = `mutation($jobId: UUID!, $errors: [ImportErrorEntryInput!]!) {
  appendImportErrors(jobId: $jobId, errors: $errors) { appended rejected { index field code } job { id errorCount lastError
    errors(first: 10) { totalCount edges { node { rowNumber columnName errorCode message rawValue severity } } } } }
}`

const connection = {
  type: 'sftp',
  host: 'sftp.supplier.example',
  port: 2222,
  username: 'pm',
  password: 's3cret!',
  path: '/exports/',
}

const validConfig = (overrides: Record<string, unknown> = {}) => ({
  supplierCode: SUPPLIER,
  importType: 'sftp',
  configName: `Catalogue ${randomUUID().slice(0, 8)}`,
  connectionConfig: connection,
  scheduleConfig: { cron: '0 3 * * *', timezone: 'Europe/Paris', retryOnFailure: true },
  filePattern: 'sup_*.csv',
  fileFormat: 'CSV',
  encoding: 'latin1',
  delimiter: '\\t',
  fieldMapping: { EAN: 'ean', 'Prix HT': 'price', Désignation: 'title', Couleur: 'technical_specs.color' },
  transformationRules: [
    { field: 'title', op: 'trim' },
    { field: 'ean', op: 'padLeft', length: 13 },
    { field: 'price', op: 'applyVat', rate: 0.2 },
  ],
  validationRules: [
    { field: 'ean', rule: 'ean' },
    { field: 'price', rule: 'min', value: 0.01, severity: 'warning' },
  ],
  ...overrides,
})

const db = () => stack.subgraphs.imports.database.db

async function createConfig(overrides: Record<string, unknown> = {}) {
  const res = await stack.request(CREATE_CONFIG, { input: validConfig(overrides) })
  expect(res.errors).toBeUndefined()
  return res.data.createImportConfig
}

async function createJob(input: Record<string, unknown> = { supplierCode: SUPPLIER, importType: 'csv' }) {
  const res = await stack.request(CREATE_JOB, { input })
  expect(res.errors).toBeUndefined()
  return res.data.createImportJob
}

async function runningJob() {
  const job = await createJob()
  const res = await stack.request(SET_STATUS, { id: job.id, status: 'RUNNING' })
  expect(res.errors).toBeUndefined()
  return res.data.setImportJobStatus
}

function errorOf(res: { errors?: { extensions?: Record<string, unknown> }[] }) {
  expect(res.errors, 'an error was expected').toBeDefined()
  return res.errors![0]!.extensions
}

async function auditRows(entityId: string) {
  await stack.subgraphs.imports.server.auditRelay.flush()
  return stack.subgraphs.analytics.database.db
    .selectFrom('audit_logs')
    .select(['action', 'entity_type', 'entity_id', 'changes'])
    .where('entity_id', '=', entityId)
    .execute()
}

/** The next 03:00 UTC strictly after `from`. */
function nextThreeAm(from: Date) {
  const t = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate(), 3))
  if (t <= from) t.setUTCDate(t.getUTCDate() + 1)
  return t
}

beforeAll(async () => {
  stack = await startTestStack({ only: ['catalog', 'imports', 'analytics'] })
  await stack.subgraphs.catalog.database.db
    .insertInto('suppliers')
    .values([
      { code: SUPPLIER, name: 'Supplier for imports' },
      { code: OTHER_SUPPLIER, name: 'Other supplier' },
    ])
    .execute()
})
afterAll(() => stack?.stop())

describe('import configurations', () => {
  it('creates a configuration with validated, normalised settings and masked secrets', async () => {
    const config = await createConfig({ configName: 'Nightly SFTP' })
    expect(config).toMatchObject({
      supplierCode: SUPPLIER,
      configName: 'Nightly SFTP',
      isActive: true,
      fileFormat: 'CSV',
      encoding: 'ISO-8859-1',
      delimiter: '\t',
      connectionConfig: { ...connection, password: '***' },
      scheduleConfig: { cron: '0 3 * * *', timezone: 'Europe/Paris', retryOnFailure: true },
      fieldMapping: { EAN: 'ean', 'Prix HT': 'price' },
    })
    expect(config.transformationRules[1]).toEqual({ field: 'ean', op: 'padLeft', length: 13, char: '0' })
    expect(config.validationRules[0]).toEqual({ field: 'ean', rule: 'ean', severity: 'error' })

    const stored = await db()
      .selectFrom('import_configs')
      .selectAll()
      .where('id', '=', config.id)
      .executeTakeFirstOrThrow()
    expect((stored.connection_config as any).password).toBe('s3cret!')
    expect(stored.delimiter).toBe('\t')

    const read = await stack.request(`query($id: UUID!) { importConfig(id: $id) { id connectionConfig } }`, {
      id: config.id,
    })
    expect(read.data.importConfig.connectionConfig.password).toBe('***')

    const audit = await auditRows(config.id)
    expect(audit).toHaveLength(1)
    expect(audit[0]).toMatchObject({ action: 'create', entity_type: 'import_config' })
    expect((audit[0]!.changes as any).after.connectionConfig.password).toBe('***')
  })

  it.each([
    [
      'a port out of range',
      { connectionConfig: { ...connection, port: 70000 } },
      'input.connectionConfig.port',
    ],
    [
      'a port as a string',
      { connectionConfig: { ...connection, port: '22' } },
      'input.connectionConfig.port',
    ],
    ['an unknown kind', { connectionConfig: { ...connection, type: 'smb' } }, 'input.connectionConfig.type'],
    ['a misspelt key', { connectionConfig: { ...connection, hots: 'x' } }, 'input.connectionConfig.hots'],
    ['a missing host', { connectionConfig: { type: 'ftp', username: 'u' } }, 'input.connectionConfig.host'],
    [
      'a relative path',
      { connectionConfig: { ...connection, path: 'exports' } },
      'input.connectionConfig.path',
    ],
    ['a non-object', { connectionConfig: [connection] }, 'input.connectionConfig'],
    [
      'the masked placeholder as a password',
      { connectionConfig: { ...connection, password: '***' } },
      'input.connectionConfig.password',
    ],
    [
      'an http connection without url or host',
      { connectionConfig: { type: 'http' } },
      'input.connectionConfig.url',
    ],
    ['a two-character delimiter', { delimiter: ';;' }, 'input.delimiter'],
    ['a letter as delimiter', { delimiter: 'a' }, 'input.delimiter'],
    ['an unknown encoding', { encoding: 'EBCDIC' }, 'input.encoding'],
    ['a bad cron in scheduleConfig', { scheduleConfig: { cron: '61 * * * *' } }, 'input.scheduleConfig.cron'],
    [
      'an unknown time zone',
      { scheduleConfig: { timezone: 'Mars/Olympus' } },
      'input.scheduleConfig.timezone',
    ],
    ['an unknown product field', { fieldMapping: { 'Prix HT': 'prix' } }, 'input.fieldMapping["Prix HT"]'],
    ['a product field fed twice', { fieldMapping: { EAN: 'ean', EAN13: 'ean' } }, 'input.fieldMapping.EAN13'],
    [
      'an unknown transformation',
      {
        transformationRules: [
          { field: 'title', op: 'trim' },
          { field: 'title', op: 'explode' },
        ],
      },
      'input.transformationRules[1].op',
    ],
    [
      'a transformation without its parameter',
      { transformationRules: [{ field: 'price', op: 'round' }] },
      'input.transformationRules[0].decimals',
    ],
    ['rules that are not a list', { validationRules: { ean: { required: true } } }, 'input.validationRules'],
    [
      'a validation rule with a bad pattern',
      { validationRules: [{ field: 'sku', rule: 'pattern', value: '([' }] },
      'input.validationRules[0].value',
    ],
    ['a mapping without sku or ean', { fieldMapping: { 'Prix HT': 'price' } }, 'input.fieldMapping'],
    [
      'a rule on a field no column feeds',
      { transformationRules: [{ field: 'brand', op: 'uppercase' }] },
      'input.transformationRules[0].field',
    ],
    [
      'a rule with a misspelt parameter',
      { transformationRules: [{ field: 'price', op: 'divide', divisr: 1000 }] },
      'input.transformationRules[0].divisr',
    ],
    [
      'an unknown number locale',
      { transformationRules: [{ field: 'price', op: 'number', locale: 'klingon' }] },
      'input.transformationRules[0].locale',
    ],
    ['a name too long', { configName: 'x'.repeat(256) }, 'input.configName'],
    ['a supplier code too long', { supplierCode: 'S'.repeat(51) }, 'input.supplierCode'],
  ])('refuses %s with BAD_USER_INPUT naming the field', async (_, overrides, field) => {
    const before = await db()
      .selectFrom('import_configs')
      .select(sql<string>`count(*)`.as('n'))
      .executeTakeFirst()
    const res = await stack.request(CREATE_CONFIG, { input: validConfig(overrides) })
    expect(errorOf(res)).toMatchObject({ code: 'BAD_USER_INPUT', field })
    expect(res.errors![0]!.message).toContain(field)
    const after = await db()
      .selectFrom('import_configs')
      .select(sql<string>`count(*)`.as('n'))
      .executeTakeFirst()
    expect(after!.n).toBe(before!.n)
  })

  it('refuses a file format outside ImportFileFormat before any resolver runs', async () => {
    const res = await stack.request(CREATE_CONFIG, { input: validConfig({ fileFormat: 'pdf' }) })
    expect(errorOf(res)).toMatchObject({ code: 'BAD_USER_INPUT' })
    expect(res.errors![0]!.message).toMatch(/"pdf" does not exist in "ImportFileFormat" enum/)
  })

  it('refuses a supplier code the catalog does not know (NOT_FOUND)', async () => {
    const res = await stack.request(CREATE_CONFIG, { input: validConfig({ supplierCode: 'NOBODY' }) })
    expect(errorOf(res)).toMatchObject({ code: 'NOT_FOUND', field: 'input.supplierCode' })
    expect(res.errors![0]!.message).toContain('NOBODY')
  })

  it('keeps configuration names unique per supplier (CONFLICT)', async () => {
    await createConfig({ configName: 'Weekly prices' })
    const same = await stack.request(CREATE_CONFIG, { input: validConfig({ configName: 'weekly PRICES' }) })
    expect(errorOf(same)).toMatchObject({ code: 'CONFLICT', field: 'input.configName' })
    // Another supplier may use the name.
    await createConfig({ configName: 'Weekly prices', supplierCode: OTHER_SUPPLIER })
  })

  it('updates only the given fields, keeps a secret sent back masked, and audits the change', async () => {
    const config = await createConfig()
    const res = await stack.request(UPDATE_CONFIG, {
      id: config.id,
      input: {
        connectionConfig: { ...config.connectionConfig, port: 22 },
        encoding: 'cp1252',
        delimiter: ';',
        filePattern: null,
      },
    })
    expect(res.errors).toBeUndefined()
    const updated = res.data.updateImportConfig
    expect(updated).toMatchObject({
      configName: config.configName,
      encoding: 'Windows-1252',
      delimiter: ';',
      filePattern: null,
      connectionConfig: { port: 22, password: '***' },
      fieldMapping: config.fieldMapping,
    })
    const stored = await db()
      .selectFrom('import_configs')
      .select('connection_config')
      .where('id', '=', config.id)
      .executeTakeFirstOrThrow()
    expect(stored.connection_config).toMatchObject({ port: 22, password: 's3cret!' })

    const audit = (await auditRows(config.id)).find((r) => r.action === 'update')!
    expect((audit.changes as any).before).toMatchObject({ encoding: 'ISO-8859-1', filePattern: 'sup_*.csv' })
    expect((audit.changes as any).after).toMatchObject({ encoding: 'Windows-1252', filePattern: null })
    expect((audit.changes as any).after.configName).toBeUndefined()

    const nothing = await stack.request(UPDATE_CONFIG, { id: config.id, input: {} })
    expect(errorOf(nothing)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input' })
    const nullName = await stack.request(UPDATE_CONFIG, { id: config.id, input: { configName: null } })
    expect(errorOf(nullName)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.configName' })
    const badPort = await stack.request(UPDATE_CONFIG, {
      id: config.id,
      input: { connectionConfig: { ...config.connectionConfig, port: 0 } },
    })
    expect(errorOf(badPort)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.connectionConfig.port' })
    // The stored rules trim the title: a new mapping without a title column is refused, the old one kept.
    const dropsTitle = await stack.request(UPDATE_CONFIG, {
      id: config.id,
      input: { fieldMapping: { EAN: 'ean', 'Prix HT': 'price' } },
    })
    expect(errorOf(dropsTitle)).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.transformationRules[0].field',
    })
    expect(dropsTitle.errors![0]!.message).toContain('no column feeds title')
    const missing = await stack.request(UPDATE_CONFIG, { id: randomUUID(), input: { encoding: 'UTF-8' } })
    expect(errorOf(missing)).toMatchObject({ code: 'NOT_FOUND', field: 'id' })
    const unknownSupplier = await stack.request(UPDATE_CONFIG, {
      id: config.id,
      input: { supplierCode: 'NOPE' },
    })
    expect(errorOf(unknownSupplier)).toMatchObject({ code: 'NOT_FOUND', field: 'input.supplierCode' })
  })

  it('deactivates a configuration and its schedules', async () => {
    const config = await createConfig()
    const schedule = await stack.request(
      `mutation($input: CreateImportScheduleInput!) { createImportSchedule(input: $input) { id isActive } }`,
      { input: { configId: config.id, cronExpression: '*/30 * * * *' } },
    )
    expect(schedule.errors).toBeUndefined()
    const res = await stack.request(DEACTIVATE_CONFIG, { id: config.id })
    expect(res.errors).toBeUndefined()
    expect(res.data.deactivateImportConfig).toMatchObject({ isActive: false })
    expect(res.data.deactivateImportConfig.schedules).toEqual([
      { id: schedule.data.createImportSchedule.id, isActive: false, nextRun: null },
    ])
    const again = await stack.request(DEACTIVATE_CONFIG, { id: config.id })
    expect(again.data.deactivateImportConfig.isActive).toBe(false)
    const actions = (await auditRows(config.id)).map((r) => r.action).sort()
    expect(actions).toEqual(['create', 'deactivate'])
    const missing = await stack.request(DEACTIVATE_CONFIG, { id: randomUUID() })
    expect(errorOf(missing)).toMatchObject({ code: 'NOT_FOUND', field: 'id' })
  })
})

describe('mapping templates', () => {
  const CREATE = `mutation($input: CreateMappingTemplateInput!) {
    createMappingTemplate(input: $input) { id name supplierCode fieldMapping isDefault }
  }`
  const UPDATE = `mutation($id: UUID!, $input: UpdateMappingTemplateInput!) {
    updateMappingTemplate(id: $id, input: $input) { id name supplierCode fieldMapping isDefault }
  }`
  const DELETE = `mutation($id: UUID!) { deleteMappingTemplate(id: $id) { id name } }`
  const defaults = async (code: string | null) =>
    (
      await db()
        .selectFrom('mapping_templates')
        .select('id')
        .where(sql<boolean>`supplier_code IS NOT DISTINCT FROM ${code}`)
        .where('is_default', '=', true)
        .execute()
    ).map((r) => r.id)

  it('keeps one default per supplier, updates and deletes templates', async () => {
    const first = await stack.request(CREATE, {
      input: { name: 'Standard', supplierCode: SUPPLIER, fieldMapping: { EAN: 'ean' }, isDefault: true },
    })
    expect(first.errors).toBeUndefined()
    const a = first.data.createMappingTemplate
    expect(a).toMatchObject({ name: 'Standard', isDefault: true, fieldMapping: { EAN: 'ean' } })
    const second = await stack.request(CREATE, {
      input: { name: 'New', supplierCode: SUPPLIER, fieldMapping: { Code: 'sku' }, isDefault: true },
    })
    const b = second.data.createMappingTemplate
    expect(await defaults(SUPPLIER)).toEqual([b.id])

    // A shared template (no supplier) is its own group.
    const shared = await stack.request(CREATE, {
      input: { name: 'Shared', fieldMapping: { EAN: 'ean' }, isDefault: true },
    })
    expect(shared.data.createMappingTemplate.supplierCode).toBeNull()
    expect(await defaults(SUPPLIER)).toEqual([b.id])

    const updated = await stack.request(UPDATE, {
      id: a.id,
      input: { isDefault: true, name: ' Standard v2 ' },
    })
    expect(updated.data.updateMappingTemplate).toMatchObject({ name: 'Standard v2', isDefault: true })
    expect(await defaults(SUPPLIER)).toEqual([a.id])

    const bad = await stack.request(UPDATE, { id: a.id, input: { fieldMapping: { EAN: 'barcode' } } })
    expect(errorOf(bad)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.fieldMapping.EAN' })
    const noIdentifier = await stack.request(CREATE, {
      input: { name: 'Prices', fieldMapping: { Prix: 'price' } },
    })
    expect(errorOf(noIdentifier)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.fieldMapping' })
    expect(noIdentifier.errors![0]!.message).toContain('sku or ean')
    const emptyMapping = await stack.request(CREATE, { input: { name: 'Empty', fieldMapping: {} } })
    expect(errorOf(emptyMapping)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.fieldMapping' })
    const unknown = await stack.request(CREATE, {
      input: { name: 'x', supplierCode: 'NOBODY', fieldMapping: { EAN: 'ean' } },
    })
    expect(errorOf(unknown)).toMatchObject({ code: 'NOT_FOUND', field: 'input.supplierCode' })

    const deleted = await stack.request(DELETE, { id: b.id })
    expect(deleted.data.deleteMappingTemplate).toEqual({ id: b.id, name: 'New' })
    const gone = await stack.request(DELETE, { id: b.id })
    expect(errorOf(gone)).toMatchObject({ code: 'NOT_FOUND', field: 'id' })
    expect((await auditRows(b.id)).map((r) => r.action).sort()).toEqual(['create', 'delete'])
  })
})

describe('schedules', () => {
  const CREATE = `mutation($input: CreateImportScheduleInput!) {
    createImportSchedule(input: $input) { id configId cronExpression isActive nextRun lastRun }
  }`
  const UPDATE = `mutation($id: UUID!, $input: UpdateImportScheduleInput!) {
    updateImportSchedule(id: $id, input: $input) { id cronExpression isActive nextRun }
  }`
  const DEACTIVATE = `mutation($id: UUID!) { deactivateImportSchedule(id: $id) { id isActive nextRun } }`

  it('validates the cron expression and computes the next run in UTC', async () => {
    const config = await createConfig()
    const before = new Date()
    const res = await stack.request(CREATE, {
      input: { configId: config.id, cronExpression: ' 0  3 * * * ' },
    })
    expect(res.errors).toBeUndefined()
    const schedule = res.data.createImportSchedule
    expect(schedule).toMatchObject({ configId: config.id, cronExpression: '0 3 * * *', isActive: true })
    expect(schedule.nextRun).toBe(nextThreeAm(before).toISOString())
    const stored = await db()
      .selectFrom('import_schedules')
      .select(sql<string>`to_char(next_run, 'YYYY-MM-DD"T"HH24:MI')`.as('next'))
      .where('id', '=', schedule.id)
      .executeTakeFirstOrThrow()
    expect(`${stored.next}:00.000Z`).toBe(schedule.nextRun)

    const updated = await stack.request(UPDATE, { id: schedule.id, input: { cronExpression: '@hourly' } })
    const hour = new Date()
    hour.setUTCMinutes(0, 0, 0)
    hour.setUTCHours(hour.getUTCHours() + 1)
    expect(updated.data.updateImportSchedule).toMatchObject({
      cronExpression: '@hourly',
      nextRun: hour.toISOString(),
    })

    const off = await stack.request(DEACTIVATE, { id: schedule.id })
    expect(off.data.deactivateImportSchedule).toEqual({ id: schedule.id, isActive: false, nextRun: null })
    const on = await stack.request(UPDATE, { id: schedule.id, input: { isActive: true } })
    expect(on.data.updateImportSchedule).toMatchObject({ isActive: true, nextRun: hour.toISOString() })
    expect((await auditRows(schedule.id)).map((r) => r.action).sort()).toEqual([
      'create',
      'deactivate',
      'update',
      'update',
    ])
  })

  it.each([
    ['60 * * * *', /minute field allows 0-59/],
    ['* * * *', /expected 5 fields/],
    ['0 0 31 2 *', /never/],
    ['0 9 * * MON-XYZ', /day-of-week/],
  ])('refuses the cron expression %j', async (cronExpression, message) => {
    const config = await createConfig()
    const res = await stack.request(CREATE, { input: { configId: config.id, cronExpression } })
    expect(errorOf(res)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.cronExpression' })
    expect(res.errors![0]!.message).toMatch(message)
  })

  it('refuses a missing or inactive configuration', async () => {
    const missing = await stack.request(CREATE, {
      input: { configId: randomUUID(), cronExpression: '@daily' },
    })
    expect(errorOf(missing)).toMatchObject({ code: 'NOT_FOUND', field: 'input.configId' })
    const config = await createConfig()
    await stack.request(DEACTIVATE_CONFIG, { id: config.id })
    const inactive = await stack.request(CREATE, { input: { configId: config.id, cronExpression: '@daily' } })
    expect(errorOf(inactive)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.configId' })
    const unknown = await stack.request(UPDATE, { id: randomUUID(), input: { isActive: false } })
    expect(errorOf(unknown)).toMatchObject({ code: 'NOT_FOUND', field: 'id' })
  })
})

describe('import jobs', () => {
  it('creates a pending job from a configuration or ad hoc', async () => {
    const config = await createConfig({ importType: 'ftp' })
    const fromConfig = await createJob({ configId: config.id, totalRows: 500 })
    expect(fromConfig).toMatchObject({
      configId: config.id,
      supplierCode: SUPPLIER,
      importType: 'ftp',
      status: 'PENDING',
      totalRows: 500,
      processedRows: 0,
      startedAt: null,
      createdBy: { id: stack.superuserId },
    })
    const adHoc = await createJob({ supplierCode: OTHER_SUPPLIER, importType: 'upload' })
    expect(adHoc).toMatchObject({ configId: null, supplierCode: OTHER_SUPPLIER, importType: 'upload' })

    const both = await stack.request(CREATE_JOB, { input: { configId: config.id, supplierCode: SUPPLIER } })
    expect(errorOf(both)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.supplierCode' })
    const neither = await stack.request(CREATE_JOB, { input: { supplierCode: SUPPLIER } })
    expect(errorOf(neither)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.importType' })
    const unknown = await stack.request(CREATE_JOB, { input: { supplierCode: 'NOBODY', importType: 'csv' } })
    expect(errorOf(unknown)).toMatchObject({ code: 'NOT_FOUND', field: 'input.supplierCode' })
    const noConfig = await stack.request(CREATE_JOB, { input: { configId: randomUUID() } })
    expect(errorOf(noConfig)).toMatchObject({ code: 'NOT_FOUND', field: 'input.configId' })
    const negative = await stack.request(CREATE_JOB, { input: { configId: config.id, totalRows: -1 } })
    expect(errorOf(negative)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.totalRows' })
  })

  it('moves only pending → running → completed, stamping times and the duration', async () => {
    const job = await createJob()
    const running = await stack.request(SET_STATUS, { id: job.id, status: 'RUNNING', totalRows: 1200 })
    expect(running.errors).toBeUndefined()
    expect(running.data.setImportJobStatus).toMatchObject({
      status: 'RUNNING',
      totalRows: 1200,
      completedAt: null,
    })
    expect(Math.abs(Date.parse(running.data.setImportJobStatus.startedAt) - Date.now())).toBeLessThan(60_000)

    const back = await stack.request(SET_STATUS, { id: job.id, status: 'PENDING' })
    expect(errorOf(back)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'status', status: 'running' })
    expect(back.errors![0]!.message).toMatch(/a running job cannot become pending/)
    const unknownStatus = await stack.request(SET_STATUS, { id: job.id, status: 'paused' })
    expect(errorOf(unknownStatus)).toMatchObject({ code: 'BAD_USER_INPUT' })
    expect(unknownStatus.errors![0]!.message).toMatch(/"paused" does not exist in "ImportJobStatus" enum/)
    const stray = await stack.request(SET_STATUS, { id: job.id, status: 'COMPLETED', lastError: 'x' })
    expect(errorOf(stray)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'lastError' })

    // As if it had started 95 seconds ago.
    await db()
      .updateTable('import_jobs')
      .set({ started_at: sql`started_at - interval '95 seconds'` })
      .where('id', '=', job.id)
      .execute()
    const done = await stack.request(SET_STATUS, { id: job.id, status: 'COMPLETED' })
    expect(done.errors).toBeUndefined()
    const completed = done.data.setImportJobStatus
    expect(completed.status).toBe('COMPLETED')
    // Whole seconds between the two stamps, whatever time the test itself took.
    const ranMs = Date.parse(completed.completedAt) - Date.parse(completed.startedAt)
    expect(ranMs).toBeGreaterThanOrEqual(95_000)
    expect(Math.abs(completed.durationSeconds - ranMs / 1000)).toBeLessThanOrEqual(1)

    // A retry of the same status changes nothing; a final job moves no more.
    const retry = await stack.request(SET_STATUS, { id: job.id, status: 'COMPLETED' })
    expect(retry.data.setImportJobStatus).toEqual(completed)
    const reopen = await stack.request(SET_STATUS, { id: job.id, status: 'RUNNING' })
    expect(errorOf(reopen)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'status', status: 'completed' })
    expect(reopen.errors![0]!.message).toMatch(/final/)

    const audit = (await auditRows(job.id)).filter((r) => r.action === 'update')
    expect(audit.map((r) => (r.changes as any).after.status).sort()).toEqual(['completed', 'running'])
    const missing = await stack.request(SET_STATUS, { id: randomUUID(), status: 'RUNNING' })
    expect(errorOf(missing)).toMatchObject({ code: 'NOT_FOUND', field: 'id' })
  })

  it('cancels a pending job (no duration) and fails a running one with its error', async () => {
    const pending = await createJob()
    const cancelled = await stack.request(SET_STATUS, { id: pending.id, status: 'CANCELLED' })
    expect(cancelled.data.setImportJobStatus).toMatchObject({
      status: 'CANCELLED',
      startedAt: null,
      durationSeconds: null,
    })
    expect(cancelled.data.setImportJobStatus.completedAt).not.toBeNull()
    const pendingToDone = await stack.request(SET_STATUS, { id: (await createJob()).id, status: 'COMPLETED' })
    expect(errorOf(pendingToDone)).toMatchObject({ code: 'BAD_USER_INPUT', status: 'pending' })

    const job = await runningJob()
    const failed = await stack.request(SET_STATUS, {
      id: job.id,
      status: 'FAILED',
      lastError: 'Connexion refusée',
    })
    expect(failed.data.setImportJobStatus).toMatchObject({ status: 'FAILED', lastError: 'Connexion refusée' })
    expect(failed.data.setImportJobStatus.durationSeconds).toBeGreaterThanOrEqual(0)
  })

  it('adds progress atomically: ten parallel calls sum exactly', async () => {
    const job = await runningJob()
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        stack.request(PROGRESS, { jobId: job.id, p: 100, s: 90 + i, f: 10 - i, c: 5, u: i }),
      ),
    )
    for (const r of results) expect(r.errors).toBeUndefined()
    const read = await stack.request(`query($id: UUID!) { importJob(id: $id) { ${JOB_FIELDS} } }`, {
      id: job.id,
    })
    expect(read.data.importJob).toMatchObject({
      processedRows: 1000,
      successfulRows: 945,
      failedRows: 55,
      productsCreated: 50,
      productsUpdated: 45,
    })
    expect((await auditRows(job.id)).filter((r) => r.action === 'record_progress')).toHaveLength(10)

    const negative = await stack.request(PROGRESS, { jobId: job.id, p: -1 })
    expect(errorOf(negative)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'processedRows' })
    const nothing = await stack.request(PROGRESS, { jobId: job.id })
    expect(errorOf(nothing)).toMatchObject({ code: 'BAD_USER_INPUT' })
    const pending = await createJob()
    const notRunning = await stack.request(PROGRESS, { jobId: pending.id, p: 1 })
    expect(errorOf(notRunning)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'jobId', status: 'pending' })
    const missing = await stack.request(PROGRESS, { jobId: randomUUID(), p: 1 })
    expect(errorOf(missing)).toMatchObject({ code: 'NOT_FOUND', field: 'jobId' })
  })

  it('appends logs in one statement into the current month partition, shown in ImportJob.logs', async () => {
    const job = await runningJob()
    const entries = [
      { message: 'Téléchargement terminé', details: { bytes: 1024 } },
      { level: 'WARNING', message: 'Colonne ignorée : Couleur', rowNumber: 1 },
      { level: 'ERROR', message: 'EAN invalide', rowNumber: 17, details: { ean: '3017620422004' } },
    ]
    const res = await stack.request(APPEND_LOGS, { jobId: job.id, entries })
    expect(res.errors).toBeUndefined()
    const payload = res.data.appendImportLogs
    expect(payload.appended).toBe(3)
    expect(payload.job.logs.totalCount).toBe(3)
    expect(
      payload.job.logs.edges
        .map((e: any) => e.node)
        .sort((a: any, b: any) => a.message.localeCompare(b.message)),
    ).toEqual([
      { logLevel: 'WARNING', message: 'Colonne ignorée : Couleur', rowNumber: 1, context: null },
      { logLevel: 'ERROR', message: 'EAN invalide', rowNumber: 17, context: { ean: '3017620422004' } },
      { logLevel: 'INFO', message: 'Téléchargement terminé', rowNumber: null, context: { bytes: 1024 } },
    ])

    const now = new Date()
    const partition = `import_logs_y${now.getUTCFullYear()}m${String(now.getUTCMonth() + 1).padStart(2, '0')}`
    const { rows } = await sql<{ part: string }>`
      SELECT tableoid::regclass::text AS part FROM import_logs WHERE job_id = ${job.id}`.execute(db())
    expect(rows.map((r) => r.part)).toEqual([partition, partition, partition])

    // One INSERT whatever the number of entries: 1,000 lines cost what 2 do.
    const statements = async (n: number) => {
      const before = stack.subgraphs.imports.database.stats().queries
      const r = await stack.request(APPEND_LOGS_COUNT, {
        jobId: job.id,
        entries: Array.from({ length: n }, (_, i) => ({ message: `line ${i}`, rowNumber: i + 1 })),
      })
      expect(r.errors).toBeUndefined()
      expect(r.data.appendImportLogs.appended).toBe(n)
      return stack.subgraphs.imports.database.stats().queries - before
    }
    expect(await statements(1000)).toBe(await statements(2))

    const tooMany = await stack.request(APPEND_LOGS, {
      jobId: job.id,
      entries: Array.from({ length: 1001 }, () => ({ message: 'm' })),
    })
    expect(errorOf(tooMany)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'entries' })
    const badLevel = await stack.request(APPEND_LOGS, {
      jobId: job.id,
      entries: [{ message: 'ok' }, { level: 'loud', message: 'm' }],
    })
    // A level outside ImportLogLevel refuses the whole call before anything is written.
    expect(errorOf(badLevel)).toMatchObject({ code: 'BAD_USER_INPUT' })
    expect(badLevel.errors![0]!.message).toMatch(/"loud" does not exist in "ImportLogLevel" enum/)
    const empty = await stack.request(APPEND_LOGS, { jobId: job.id, entries: [{ message: '  ' }] })
    expect(empty.data.appendImportLogs).toMatchObject({
      appended: 0,
      rejected: [{ index: 0, field: 'entries[0].message', code: 'BAD_USER_INPUT' }],
    })
    const missing = await stack.request(APPEND_LOGS, { jobId: randomUUID(), entries: [{ message: 'm' }] })
    expect(errorOf(missing)).toMatchObject({ code: 'NOT_FOUND', field: 'jobId' })

    await stack.request(SET_STATUS, { id: job.id, status: 'COMPLETED' })
    const late = await stack.request(APPEND_LOGS, { jobId: job.id, entries: [{ message: 'late' }] })
    expect(errorOf(late)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'jobId', status: 'completed' })
    const appends = (await auditRows(job.id)).filter((r) => r.action === 'append_logs').map((r) => r.changes)
    // One summarising entry per call that wrote lines: the three above, the 1,000 and the 2 (the calls refused
    // whole or whose only entry was refused write nothing).
    expect(appends).toHaveLength(3)
    expect(appends).toContainEqual({ appended: 3, byLevel: { info: 1, warning: 1, error: 1 } })
  })

  it('appends errors and bumps error_count and last_error atomically', async () => {
    const job = await runningJob()
    const res = await stack.request(APPEND_ERRORS, {
      jobId: job.id,
      errors: [
        {
          rowNumber: 3,
          columnName: 'EAN',
          errorCode: 'INVALID_EAN',
          message: 'Clé de contrôle invalide',
          rawValue: ' 123 ',
        },
        {
          rowNumber: 5,
          columnName: 'Image',
          errorCode: 'MISSING_IMAGE',
          message: 'Aucune image',
          severity: 'WARNING',
        },
        {
          rowNumber: 9,
          columnName: 'Prix HT',
          errorCode: 'INVALID_PRICE',
          message: 'Prix non numérique',
          rawRow: { 'Prix HT': '12,5O' },
        },
      ],
    })
    expect(res.errors).toBeUndefined()
    const payload = res.data.appendImportErrors
    expect(payload.appended).toBe(3)
    expect(payload.job).toMatchObject({
      errorCount: 2,
      lastError: 'row 9: INVALID_PRICE: Prix non numérique',
    })
    expect(payload.job.errors.totalCount).toBe(3)
    expect(payload.job.errors.edges[0].node).toEqual({
      rowNumber: 3,
      columnName: 'EAN',
      errorCode: 'INVALID_EAN',
      message: 'Clé de contrôle invalide',
      rawValue: ' 123 ',
      severity: 'ERROR',
    })

    await Promise.all(
      Array.from({ length: 5 }, () =>
        stack.request(APPEND_ERRORS, { jobId: job.id, errors: [{ errorCode: 'FILE', message: 'x' }] }),
      ),
    )
    const stored = await db()
      .selectFrom('import_jobs')
      .select('error_count')
      .where('id', '=', job.id)
      .executeTakeFirstOrThrow()
    expect(stored.error_count).toBe(7)

    const bad = await stack.request(APPEND_ERRORS, {
      jobId: job.id,
      errors: [{ errorCode: 'X', message: 'm', severity: 'fatal' }],
    })
    expect(errorOf(bad)).toMatchObject({ code: 'BAD_USER_INPUT' })
    expect(bad.errors![0]!.message).toMatch(/"fatal" does not exist in "ImportIssueSeverity" enum/)
    const badRow = await stack.request(APPEND_ERRORS, {
      jobId: job.id,
      errors: [
        { errorCode: 'X', message: 'm' },
        { errorCode: 'X', message: 'm', rowNumber: 0 },
      ],
    })
    expect(badRow.data.appendImportErrors).toMatchObject({
      appended: 1,
      rejected: [{ index: 1, field: 'errors[1].rowNumber', code: 'BAD_USER_INPUT' }],
    })
    const cancelled = await createJob()
    await stack.request(SET_STATUS, { id: cancelled.id, status: 'CANCELLED' })
    const refused = await stack.request(APPEND_ERRORS, {
      jobId: cancelled.id,
      errors: [{ errorCode: 'X', message: 'm' }],
    })
    expect(errorOf(refused)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'jobId', status: 'cancelled' })
  })
})

describe('with catalog down', () => {
  it('answers SERVICE_UNAVAILABLE for a supplier check and writes nothing', async () => {
    const catalog = stack.subgraphs.catalog
    const port = catalog.server.http.port
    await catalog.server.stop()
    try {
      const count = async () =>
        Number(
          (
            await db()
              .selectFrom('import_configs')
              .select(sql<string>`count(*)`.as('n'))
              .executeTakeFirstOrThrow()
          ).n,
        )
      const before = await count()
      const res = await stack.request(CREATE_CONFIG, { input: validConfig() })
      expect(errorOf(res)).toMatchObject({ code: 'SERVICE_UNAVAILABLE' })
      expect(await count()).toBe(before)
      const job = await stack.request(CREATE_JOB, { input: { supplierCode: SUPPLIER, importType: 'csv' } })
      expect(errorOf(job)).toMatchObject({ code: 'SERVICE_UNAVAILABLE' })
      // A job from a configuration needs no question to catalog.
      const config = (
        await db()
          .selectFrom('import_configs')
          .select('id')
          .where('is_active', '=', true)
          .executeTakeFirstOrThrow()
      ).id
      const fromConfig = await stack.request(CREATE_JOB, { input: { configId: config } })
      expect(fromConfig.errors).toBeUndefined()
    } finally {
      catalog.server = await startSubgraph(catalogSubgraph, {
        database: catalog.database,
        port,
        logger: createLogger({ service: 'catalog-again' }, 'error'),
        peers: {},
        signingSecret: stack.secrets.signing,
      })
    }
    await createConfig()
  })
})
