import type { DB, JsonObject } from '@pm/db/types/imports'
import type { Insertable } from 'kysely'
import { DAY_MS, fixed, type Random, sha256Hex } from '../random'
import { anchorId, type Ctx, type SupplierInfo, type UserInfo } from './context'

export type ImportsRows = { [T in Exclude<keyof DB, 'audit_outbox'>]: Insertable<DB[T]>[] }

export interface ImportJobInfo {
  id: string
  supplierCode: string
  status: string
  createdAt: Date
  durationSeconds: number | null
  processed: number
  failed: number
  total: number
}

const FORMATS = {
  csv: { mime: 'text/csv', ext: 'csv' },
  xlsx: { mime: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', ext: 'xlsx' },
  xml: { mime: 'application/xml', ext: 'xml' },
  json: { mime: 'application/json', ext: 'json' },
} as const
type Format = keyof typeof FORMATS

const FIELD_MAPPING = {
  EAN: 'ean',
  Référence: 'sku',
  Désignation: 'title',
  Description: 'description',
  Marque: 'brand',
  'Prix HT': 'price',
  'Prix public TTC': 'retail_price',
  Stock: 'quantity',
  'Poids (kg)': 'weight',
}

/** In the imports vocabulary (documented in the imports schema): the list shapes the engine runs. */
const TRANSFORMATION_RULES = [
  { field: 'title', op: 'trim' },
  { field: 'title', op: 'truncate', maxLength: 500 },
  { field: 'ean', op: 'padLeft', length: 13, char: '0' },
  { field: 'price', op: 'applyVat', rate: 0.2 },
  { field: 'price', op: 'round', decimals: 2 },
]

const VALIDATION_RULES = [
  { field: 'ean', rule: 'required', severity: 'error' },
  { field: 'ean', rule: 'ean', severity: 'error' },
  { field: 'price', rule: 'required', severity: 'error' },
  { field: 'price', rule: 'min', value: 0.01, severity: 'error' },
  { field: 'title', rule: 'required', severity: 'error' },
]

const ERRORS = [
  ['INVALID_EAN', 'EAN', 'Clé de contrôle EAN invalide', () => '3017620422004'],
  ['MISSING_PRICE', 'Prix HT', 'Prix manquant', () => ''],
  ['INVALID_PRICE', 'Prix HT', 'Prix non numérique', () => '12,5O'],
  ['UNKNOWN_BRAND', 'Marque', 'Marque inconnue du référentiel', () => 'Bosh'],
  ['INVALID_WEIGHT', 'Poids (kg)', 'Poids négatif', () => '-1'],
  ['DUPLICATE_SKU', 'Référence', 'Référence présente deux fois dans le fichier', () => 'DIST-000412'],
] as const

const WARNINGS = [
  ['TITLE_TRUNCATED', 'Désignation', 'Désignation tronquée à 500 caractères'],
  ['MISSING_IMAGE', 'Image', 'Aucune image fournie'],
  ['CATEGORY_GUESSED', 'Catégorie', 'Catégorie déduite du titre'],
] as const

const FAILURES = [
  'Connexion refusée : 530 Login incorrect',
  'Fichier illisible : encodage inattendu (ISO-8859-1)',
  'Colonne obligatoire manquante : EAN',
  'Délai dépassé lors du téléchargement (300 s)',
]

function connection(rng: Random, type: string, code: string): JsonObject {
  const host = `${code.toLowerCase().replace(/_/g, '-')}.example`
  switch (type) {
    case 'ftp':
    case 'sftp':
      return {
        host: `${type}.${host}`,
        port: type === 'ftp' ? 21 : 22,
        username: `pm_${code.toLowerCase()}`,
        password: rng.alnum(16),
        remote_path: '/exports/catalogue/',
        passive: type === 'ftp',
      }
    case 'http':
      return {
        url: `https://flux.${host}/catalogue/latest`,
        auth: { type: 'basic', username: 'products-manager', password: rng.alnum(20) },
      }
    case 'email':
      return {
        mailbox: `imports+${code.toLowerCase()}@products-manager.example`,
        folder: 'INBOX/Tarifs',
        subject_filter: 'Tarifs',
        password: rng.alnum(18),
      }
    default:
      return { base_url: `https://api.${host}/v2`, api_key: rng.hex(32), page_size: 500 }
  }
}

type ImportConfigRow = Insertable<DB['import_configs']> & { format: Format }

export interface ImportSetup {
  /** Configurations with their file format (dropped before insert). */
  configs: ImportConfigRow[]
  import_schedules: Insertable<DB['import_schedules']>[]
  mapping_templates: Insertable<DB['mapping_templates']>[]
}

/** Import configurations per supplier (by code), their schedules and the mapping templates. */
export function importSetup(ctx: Ctx, rng: Random, ids: Random, suppliers: SupplierInfo[]): ImportSetup {
  const configs: ImportConfigRow[] = []
  for (const supplier of suppliers) {
    const plans: { type: string; name: string; format: Format; cron: string | null }[] = [
      {
        type: rng.pick(['ftp', 'sftp', 'http', 'api']),
        name: `Catalogue complet ${supplier.name}`,
        format: rng.pick(['csv', 'csv', 'xml', 'json'] as const),
        cron: rng.pick(['0 3 * * *', '30 2 * * *', '0 4 * * 1-5']),
      },
    ]
    if (rng.chance(0.35)) {
      plans.push({
        type: 'email',
        name: `Tarifs hebdomadaires ${supplier.name}`,
        format: 'xlsx',
        cron: '0 6 * * 1',
      })
    }
    for (const plan of plans) {
      const createdAt = ctx.daysAgo(rng.int(200, 500))
      configs.push({
        // The first configuration anchors the imports database (same id for every seed).
        id: configs.length === 0 ? anchorId('imports') : ids.uuid(),
        supplier_code: supplier.code,
        import_type: plan.type,
        config_name: plan.name,
        is_active: supplier.isActive,
        connection_config: connection(rng, plan.type, supplier.code),
        schedule_config: plan.cron
          ? { cron: plan.cron, timezone: 'Europe/Paris', retry_on_failure: true }
          : null,
        file_pattern: `${supplier.code.toLowerCase()}_*.${FORMATS[plan.format].ext}`,
        file_format: plan.format,
        encoding: rng.chance(0.8) ? 'UTF-8' : 'ISO-8859-1',
        delimiter: plan.format === 'csv' ? rng.pick([';', ',']) : null,
        field_mapping: FIELD_MAPPING,
        transformation_rules: TRANSFORMATION_RULES,
        validation_rules: VALIDATION_RULES,
        created_at: createdAt,
        updated_at: ctx.after(createdAt, rng.int(0, 120) * DAY_MS),
        format: plan.format,
      })
    }
  }

  const schedules: Insertable<DB['import_schedules']>[] = configs
    .filter((c) => c.schedule_config)
    .map((c) => ({
      id: ids.uuid(),
      config_id: c.id!,
      cron_expression: (c.schedule_config as { cron: string }).cron,
      is_active: c.is_active ?? true,
      last_run: c.is_active ? ctx.daysAgo(rng.float()) : ctx.daysAgo(45),
      next_run: c.is_active ? new Date(ctx.now.getTime() + Math.floor(rng.float() * DAY_MS)) : null,
    }))

  const templateAt = ctx.daysAgo(420)
  const templates: Insertable<DB['mapping_templates']>[] = [
    {
      id: ids.uuid(),
      name: 'Modèle standard CSV',
      supplier_code: null,
      field_mapping: FIELD_MAPPING,
      is_default: true,
      created_at: templateAt,
    },
    {
      id: ids.uuid(),
      name: 'Icecat XML',
      supplier_code: null,
      field_mapping: {
        'Product@Prod_id': 'manufacturer_reference',
        'Product@Title': 'title',
        'EANCode@EAN': 'ean',
        'Supplier@Name': 'brand',
      },
      is_default: false,
      created_at: templateAt,
    },
    ...suppliers.slice(0, 2).map((s) => ({
      id: ids.uuid(),
      name: `Modèle ${s.name}`,
      supplier_code: s.code,
      field_mapping: { ...FIELD_MAPPING, 'Code article': 'external_id' },
      is_default: false,
      created_at: ctx.after(templateAt, 30 * DAY_MS),
    })),
  ]

  return { configs, import_schedules: schedules, mapping_templates: templates }
}

/** Where an import job's rows go: arrays, or a loader's table sinks. */
export type ImportJobSink = {
  [T in 'import_jobs' | 'import_logs' | 'import_errors' | 'import_files' | 'import_statistics']: {
    push(row: Insertable<DB[T]>): void
  }
}

export interface ImportJobInput {
  config: ImportConfigRow
  createdAt: Date
  status: string
  /** Users who launch imports by hand (the others run on schedule). */
  operators: UserInfo[]
  /** The id of the job and of each of its errors, files and statistics, in that order of need. */
  newId: () => string
}

/** One import job run from `config`: the job, its logs in time order, its errors, files and statistics. */
export function importJobRows(
  ctx: Ctx,
  rng: Random,
  out: ImportJobSink,
  input: ImportJobInput,
): ImportJobInfo {
  const { config, createdAt, status, operators, newId } = input
  const format = config.format
  const jobFiles: Insertable<DB['import_files']>[] = []
  const total = status === 'pending' ? 0 : rng.int(50, 4000)
  let processed = 0
  let failed = 0
  if (status === 'completed') {
    processed = total
    failed = rng.chance(0.5) ? rng.int(1, Math.min(40, Math.max(1, Math.floor(total * 0.03)))) : 0
  } else if (status === 'failed') {
    processed = rng.int(0, Math.floor(total * 0.6))
    failed = Math.min(processed, rng.int(1, 8))
  } else if (status === 'cancelled' || status === 'running') {
    processed = rng.int(1, Math.floor(total * 0.8))
    failed = rng.chance(0.3) ? Math.min(processed, rng.int(1, 5)) : 0
  }
  const successful = processed - failed
  const created = Math.floor(successful * 0.25 * rng.float())
  const updated = Math.floor((successful - created) * (0.4 + 0.5 * rng.float()))
  const startedAt = status === 'pending' ? null : ctx.after(createdAt, rng.int(1, 30) * 1000)
  const rate = rng.int(15, 120)
  const duration =
    status === 'pending' || status === 'running'
      ? null
      : Math.max(3, Math.round(processed / rate) + rng.int(2, 40))
  const completedAt = startedAt && duration !== null ? ctx.after(startedAt, duration * 1000) : null
  const end = completedAt ?? ctx.now
  const fileLevelError = status === 'failed' && rng.chance(0.6)
  const lastError =
    status === 'failed'
      ? rng.pick(FAILURES)
      : failed > 0
        ? 'Des lignes ont été rejetées : voir import_errors'
        : null
  const id = newId()
  const user = rng.chance(0.8) ? rng.pick(operators) : null
  out.import_jobs.push({
    id,
    config_id: config.id!,
    supplier_code: config.supplier_code,
    import_type: config.import_type,
    status,
    started_at: startedAt,
    completed_at: completedAt,
    duration_seconds: duration,
    total_rows: total,
    processed_rows: processed,
    successful_rows: successful,
    failed_rows: failed,
    products_created: created,
    products_updated: updated,
    error_count: failed + (fileLevelError ? 1 : 0),
    last_error: lastError,
    created_by: user?.id ?? null,
    created_at: createdAt,
  })
  const info: ImportJobInfo = {
    id,
    supplierCode: config.supplier_code,
    status,
    createdAt,
    durationSeconds: duration,
    processed,
    failed,
    total,
  }

  // Logs, in time order through the job's run.
  const at = (fraction: number) =>
    new Date(
      (startedAt ?? createdAt).getTime() +
        Math.floor((end.getTime() - (startedAt ?? createdAt).getTime()) * fraction),
    )
  const log = (
    fraction: number,
    level: string,
    message: string,
    context: JsonObject | null = null,
    row: number | null = null,
  ) =>
    out.import_logs.push({
      job_id: id,
      log_level: level,
      message,
      context,
      row_number: row,
      created_at: at(fraction),
    })
  log(0, 'info', `Job mis en file d'attente (${user ? `lancé par ${user.username}` : 'planification'})`, {
    config_id: config.id,
    trigger: user ? 'manual' : 'schedule',
  })
  const fileName = `${config.supplier_code.toLowerCase()}_${createdAt.toISOString().slice(0, 10).replace(/-/g, '')}.${FORMATS[format].ext}`
  const size = Math.max(2048, total * rng.int(180, 420))
  if (startedAt) {
    const { host, url, mailbox, base_url: api } = config.connection_config as JsonObject
    const endpoint = host ?? url ?? mailbox ?? api
    log(0.01, 'info', `Connexion à ${String(endpoint)} établie`, { import_type: config.import_type })
    log(
      0.05,
      'info',
      `Fichier téléchargé : ${fileName} (${(size / 1_048_576).toFixed(1).replace('.', ',')} Mo)`,
      { file_name: fileName, bytes: size },
    )
    log(
      0.06,
      'debug',
      `Encodage ${config.encoding}, format ${format}${config.delimiter ? `, séparateur « ${config.delimiter} »` : ''}`,
    )
    if (fileLevelError) {
      log(0.1, 'critical', lastError!, { stage: 'download' })
    } else {
      log(0.1, 'info', `Analyse terminée : ${total} lignes`, { total_rows: total })
      log(0.5, 'info', 'Progression : 50 %', { processed_rows: Math.floor(processed / 2) })
    }
  }
  const errorRows = Array.from({ length: failed }, () => rng.int(2, total + 1)).sort((a, b) => a - b)
  const errorCounts: Record<string, number> = {}
  errorRows.forEach((rowNumber, n) => {
    const [code, column, message, value] = rng.pick(ERRORS)
    errorCounts[code] = (errorCounts[code] ?? 0) + 1
    const fraction = 0.1 + (0.85 * (n + 1)) / (errorRows.length + 1)
    out.import_errors.push({
      id: newId(),
      job_id: id,
      row_number: rowNumber,
      column_name: column,
      error_code: code,
      message,
      raw_value: value(),
      raw_row: {
        EAN: `3${rng.digits(12)}`,
        Désignation: `Article ligne ${rowNumber}`,
        'Prix HT': code.includes('PRICE') ? value() : fixed(rng.int(500, 50000), 2),
      },
      severity: 'error',
      created_at: at(fraction),
    })
    if (n < 3)
      log(
        fraction,
        'error',
        `Ligne ${rowNumber} rejetée : ${message}`,
        { error_code: code, column },
        rowNumber,
      )
  })
  if (fileLevelError) {
    errorCounts.FILE_UNREADABLE = 1
    out.import_errors.push({
      id: newId(),
      job_id: id,
      row_number: null,
      column_name: null,
      error_code: 'FILE_UNREADABLE',
      message: lastError!,
      raw_value: null,
      raw_row: null,
      severity: 'error',
      created_at: at(0.1),
    })
  }
  const warningCount = processed > 0 && rng.chance(0.4) ? rng.int(1, 4) : 0
  for (let w = 0; w < warningCount; w++) {
    const [code, column, message] = rng.pick(WARNINGS)
    const rowNumber = rng.int(2, total + 1)
    out.import_errors.push({
      id: newId(),
      job_id: id,
      row_number: rowNumber,
      column_name: column,
      error_code: code,
      message,
      raw_value: null,
      raw_row: null,
      severity: 'warning',
      created_at: at(0.3),
    })
    log(0.3, 'warning', `Ligne ${rowNumber} : ${message}`, { warning_code: code }, rowNumber)
  }
  if (status === 'completed') {
    log(1, 'info', `Import terminé : ${created} créés, ${updated} mis à jour, ${failed} en erreur`, {
      products_created: created,
      products_updated: updated,
      failed_rows: failed,
    })
  } else if (status === 'failed') {
    log(1, 'error', `Import interrompu : ${lastError}`, { processed_rows: processed })
  } else if (status === 'cancelled') {
    log(1, 'warning', `Import annulé après ${processed} lignes`, { processed_rows: processed })
  }

  if (startedAt) {
    for (let f = 0; f < (rng.chance(0.1) ? 2 : 1); f++) {
      const fileId = newId()
      const name = f === 0 ? fileName : fileName.replace(/\.(\w+)$/, '_images.$1')
      jobFiles.push({
        id: fileId,
        job_id: id,
        file_name: name,
        file_hash: sha256Hex(`pm-seed import file ${fileId}`),
        file_size_bytes: f === 0 ? size : Math.floor(size / 10),
        mime_type: FORMATS[format].mime,
        file_format: format,
        encoding: config.encoding ?? 'UTF-8',
        source: config.import_type === 'api' ? 'http' : config.import_type,
        storage_type: 'minio',
        bucket_name: 'pm-imports',
        object_key: `imports/${config.supplier_code}/${createdAt.toISOString().slice(0, 7)}/${name}`,
        row_count: f === 0 ? total : Math.floor(total / 10),
        uploaded_at: at(0.05),
      })
    }
  }

  for (const file of jobFiles) out.import_files.push(file)

  if (duration !== null) {
    const totalMs = duration * 1000
    const download = Math.floor(totalMs * 0.1)
    const parse = Math.floor(totalMs * 0.15)
    const validation = Math.floor(totalMs * 0.25)
    out.import_statistics.push({
      id: newId(),
      job_id: id,
      skipped_rows: status === 'completed' ? 0 : total - processed,
      duplicate_rows: processed > 0 ? rng.int(0, 5) : 0,
      products_unchanged: successful - created - updated,
      warning_count: warningCount,
      errors_by_code: errorCounts,
      file_count: jobFiles.length,
      bytes_processed: jobFiles.reduce((n, f) => n + Number(f.file_size_bytes), 0),
      download_duration_ms: download,
      parse_duration_ms: parse,
      validation_duration_ms: validation,
      persist_duration_ms: totalMs - download - parse - validation,
      total_duration_ms: totalMs,
      rows_per_second: fixed(Math.round((processed * 100_000) / totalMs), 2),
      created_at: completedAt!,
      updated_at: completedAt!,
    })
  }
  return info
}

/**
 * Import configurations per supplier (by code), their schedules, mapping templates, and import jobs of
 * the last two months with mixed statuses, each with its logs, errors, files and statistics.
 */
export function generateImports(
  ctx: Ctx,
  suppliers: SupplierInfo[],
  users: UserInfo[],
): { rows: ImportsRows; jobs: ImportJobInfo[] } {
  const rng = ctx.rng('imports')
  const ids = ctx.rng('imports.ids')
  const operators = users.filter(
    (u) => ['admin', 'manager', 'importer'].includes(u.role) || u.role === 'editor',
  )
  const { configs, import_schedules, mapping_templates } = importSetup(ctx, rng, ids, suppliers)

  const out = {
    import_jobs: [] as Insertable<DB['import_jobs']>[],
    import_logs: [] as Insertable<DB['import_logs']>[],
    import_errors: [] as Insertable<DB['import_errors']>[],
    import_files: [] as Insertable<DB['import_files']>[],
    import_statistics: [] as Insertable<DB['import_statistics']>[],
  }
  const info: ImportJobInfo[] = []
  const activeConfigs = configs.filter((c) => c.is_active)
  const jobCount = 70
  // Spread over the last 60 days, oldest first; the two newest are still running / waiting.
  const times = Array.from({ length: jobCount }, () => Math.floor(rng.float() * 60 * DAY_MS)).sort(
    (a, b) => b - a,
  )
  times.forEach((ago, j) => {
    const config = rng.pick(activeConfigs)
    const createdAt = new Date(ctx.now.getTime() - ago)
    const status =
      j === jobCount - 1
        ? 'pending'
        : j === jobCount - 2
          ? 'running'
          : rng.weighted([
              ['completed', 80],
              ['failed', 12],
              ['cancelled', 8],
            ] as const)
    info.push(importJobRows(ctx, rng, out, { config, createdAt, status, operators, newId: () => ids.uuid() }))
  })

  return {
    rows: {
      import_configs: configs.map(({ format: _format, ...row }) => row),
      import_schedules,
      mapping_templates,
      ...out,
    },
    jobs: info,
  }
}
