/**
 * The floor: the data of each request fetched (or written) by ONE hand-written SQL statement (joins and JSON
 * aggregation) from bench_floor, served by a bare node:http server. Same JSON as the GraphQL answer's data.
 *   FLOOR_DATABASE_URL  FLOOR_PORT (0 = any)  FLOOR_POOL_SIZE (8)  HOST (127.0.0.1)
 * POST /q1 {"variables":{"supplierId","first"}}   POST /q2 {"variables":{"ean","from","to"}}   GET /ready
 * The mixed workload's (src/mixed.ts): POST /q3 {"status","first"}, /product {"id","from","to"},
 * /products {"filter","orderBy","first"}, /write-price {"id","price"}, /write-stock {"id","delta"}.
 */
import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import pg from 'pg'

/** TIMESTAMP columns hold UTC: written the way the DateTime scalar serialises a Date. */
const ts = (column: string) => `to_char(${column}, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`

/** A product as a listing shows it (Q1's node, the mixed workload's pages and searches): `p` is the product. */
const LIST_NODE = `json_build_object(
    'id', p.id, 'ean', p.ean, 'sku', p.sku, 'title', p.title, 'status', upper(p.status), 'createdAt', ${ts('p.created_at')},
    'prices', coalesce((
      SELECT json_agg(json_build_object('priceType', upper(pp.price_type), 'price', pp.price::text, 'currency', pp.currency,
                                        'minQuantity', pp.min_quantity)
                      ORDER BY pp.price_type, pp.min_quantity, pp.valid_from DESC NULLS LAST, pp.id)
        FROM product_prices pp WHERE pp.product_id = p.id AND pp.is_active = true), '[]'::json),
    'stocks', coalesce((
      SELECT json_agg(json_build_object('warehouseId', s.warehouse_id, 'quantity', s.quantity,
                                        'availableQuantity', s.available_quantity)
                      ORDER BY s.warehouse_id NULLS FIRST, s.id)
        FROM product_stocks s WHERE s.product_id = p.id), '[]'::json),
    'brand', (SELECT json_build_object('id', b.id, 'name', b.name) FROM brands b WHERE b.id = p.brand_id),
    'category', (SELECT json_build_object('id', c.id, 'name', c.name) FROM categories c WHERE c.id = p.category_id),
    'primaryImage', (
      SELECT json_build_object('id', m.id, 'storageUrl', m.storage_url, 'altText', m.alt_text, 'thumbnail', (
        SELECT json_build_object('storageUrl', t.storage_url, 'width', t.width, 'height', t.height)
          FROM media_thumbnails t WHERE t.media_file_id = m.id AND t.size_name = 'small'
         ORDER BY t.width, t.id LIMIT 1))
        FROM media_files m WHERE m.product_id = p.id
       ORDER BY m.is_primary IS TRUE DESC, m.display_order, m.id LIMIT 1),
    'bestAsinMatch', (
      SELECT json_build_object('asin', r.asin, 'matchConfidence', r.match_confidence::text, 'isVerified', r.is_verified)
        FROM code2asin_results r WHERE r.product_id = p.id
       ORDER BY r.match_confidence DESC NULLS LAST, coalesce(r.is_verified, false) DESC, r.processed_at DESC NULLS LAST, r.id
       LIMIT 1)
  )`

const Q1_SQL = `
SELECT json_build_object('products', json_build_object('edges', coalesce(
  json_agg(json_build_object('node', page.node) ORDER BY page.created_at DESC, page.id DESC), '[]'::json)))::text AS data
FROM (
  SELECT p.id, p.created_at, ${LIST_NODE} AS node
  FROM products p
  WHERE p.supplier_id = $1 AND p.is_active = true
  ORDER BY p.created_at DESC, p.id DESC
  LIMIT $2
) page`

/**
 * A product as its detail page shows it (Q2's, by EAN or by id): `p` is the product, $2 and $3 the metrics'
 * first and last day.
 */
const DETAIL_NODE = `json_build_object(
    'id', p.id, 'ean', p.ean, 'sku', p.sku, 'title', p.title, 'description', p.description, 'status', upper(p.status),
    'isActive', p.is_active, 'createdAt', ${ts('p.created_at')}, 'updatedAt', ${ts('p.updated_at')},
    'prices', coalesce((
      SELECT json_agg(json_build_object('priceType', upper(pp.price_type), 'price', pp.price::text, 'cost', pp.cost::text,
                                        'currency', pp.currency, 'minQuantity', pp.min_quantity,
                                        'validFrom', ${ts('pp.valid_from')}, 'validUntil', ${ts('pp.valid_until')})
                      ORDER BY pp.price_type, pp.min_quantity, pp.valid_from DESC NULLS LAST, pp.id)
        FROM product_prices pp WHERE pp.product_id = p.id AND pp.is_active = true), '[]'::json),
    'stocks', coalesce((
      SELECT json_agg(json_build_object('warehouseId', s.warehouse_id, 'quantity', s.quantity,
                                        'reservedQuantity', s.reserved_quantity, 'availableQuantity', s.available_quantity,
                                        'lastUpdate', ${ts('s.last_update')})
                      ORDER BY s.warehouse_id NULLS FIRST, s.id)
        FROM product_stocks s WHERE s.product_id = p.id), '[]'::json),
    'stockHistory', json_build_object('edges', coalesce((
      SELECT json_agg(json_build_object('node', json_build_object(
               'id', h.id, 'warehouseId', h.warehouse_id, 'oldQuantity', h.old_quantity, 'newQuantity', h.new_quantity,
               'delta', h.delta, 'reason', upper(h.reason), 'changedAt', ${ts('h.changed_at')}))
             ORDER BY h.changed_at DESC, h.id DESC)
        FROM (SELECT * FROM stock_history WHERE product_id = p.id ORDER BY changed_at DESC, id DESC LIMIT 30) h),
      '[]'::json)),
    'media', coalesce((
      SELECT json_agg(json_build_object(
               'id', m.id, 'fileName', m.file_name, 'mimeType', m.mime_type, 'width', m.width, 'height', m.height,
               'isPrimary', m.is_primary, 'displayOrder', m.display_order, 'storageUrl', m.storage_url,
               'thumbnails', coalesce((
                 SELECT json_agg(json_build_object('sizeName', upper(t.size_name), 'width', t.width, 'height', t.height,
                                                   'storageUrl', t.storage_url) ORDER BY t.width, t.id)
                   FROM media_thumbnails t WHERE t.media_file_id = m.id), '[]'::json))
             ORDER BY m.display_order, m.id)
        FROM media_files m WHERE m.product_id = p.id), '[]'::json),
    'asinMatches', coalesce((
      SELECT json_agg(json_build_object(
               'id', r.id, 'asin', r.asin, 'amazonTitle', r.amazon_title, 'matchConfidence', r.match_confidence::text,
               'matchType', upper(r.match_type), 'amazonPrice', r.amazon_price::text, 'isVerified', r.is_verified,
               'processedAt', ${ts('r.processed_at')})
             ORDER BY r.match_confidence DESC NULLS LAST, coalesce(r.is_verified, false) DESC,
                      r.processed_at DESC NULLS LAST, r.id)
        FROM code2asin_results r WHERE r.product_id = p.id), '[]'::json),
    'metrics', coalesce((
      SELECT json_agg(json_build_object('date', to_char(pm.date, 'YYYY-MM-DD'), 'viewCount', pm.view_count,
                                        'salesCount', pm.sales_count, 'conversionRate', pm.conversion_rate::text,
                                        'revenue', pm.revenue::text) ORDER BY pm.date)
        FROM product_metrics pm WHERE pm.product_id = p.id AND pm.date BETWEEN $2::date AND $3::date), '[]'::json))`

const Q2_SQL = `
SELECT json_build_object('productByEan', (
  SELECT ${DETAIL_NODE}
  FROM products p
  WHERE p.ean = $1
  ORDER BY p.is_active IS TRUE DESC, p.created_at DESC NULLS LAST, p.id DESC
  LIMIT 1))::text AS data`

const DETAIL_BY_ID_SQL = `
SELECT json_build_object('product', (SELECT ${DETAIL_NODE} FROM products p WHERE p.id = $1))::text AS data`

/** ProductOrder's fields, as catalog orders them (then by id in the same direction). */
const ORDER_COLUMNS: Record<string, string> = {
  CREATED_AT: 'p.created_at',
  TITLE: 'p.title',
  UPDATED_AT: 'p.updated_at',
}

interface ListVariables {
  filter?: {
    supplierId?: string
    brandId?: string
    categoryId?: string
    isActive?: boolean
    status?: string
    search?: string
  }
  orderBy?: { field: string; direction: string } | null
  first: number
}

/**
 * `products(filter, orderBy, first)` with the listing's node (the mixed workload's pages and searches): the
 * filters catalog applies, as it applies them (a search is an ILIKE substring of the title with %, _ and \
 * literal, or an exact EAN or SKU). One statement text per combination of filters and order, prepared once.
 */
function listQuery(v: ListVariables): { name: string; text: string; values: unknown[] } {
  const values: unknown[] = []
  const where: string[] = []
  const param = (value: unknown) => {
    values.push(value)
    return `$${values.length}`
  }
  const f = v.filter ?? {}
  if (f.supplierId != null) where.push(`p.supplier_id = ${param(f.supplierId)}`)
  if (f.brandId != null) where.push(`p.brand_id = ${param(f.brandId)}`)
  if (f.categoryId != null) where.push(`p.category_id = ${param(f.categoryId)}`)
  if (f.isActive != null) where.push(`p.is_active = ${f.isActive ? 'true' : 'false'}`)
  if (f.status != null) where.push(`p.status = lower(${param(f.status)})`)
  const term = f.search?.trim()
  if (term) {
    const pattern = param(`%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`)
    const exact = param(term)
    where.push(`(p.title ILIKE ${pattern} OR p.ean = ${exact} OR p.sku = ${exact})`)
  }
  const column = ORDER_COLUMNS[v.orderBy?.field ?? 'CREATED_AT']
  if (!column)
    throw new Error(`orderBy.field ${v.orderBy?.field} is not one of CREATED_AT, TITLE, UPDATED_AT`)
  const direction = (v.orderBy?.direction ?? 'DESC') === 'ASC' ? 'ASC' : 'DESC'
  const limit = param(v.first)
  const text = `
SELECT json_build_object('products', json_build_object('edges', coalesce(
  json_agg(json_build_object('node', page.node) ORDER BY page.sort ${direction}, page.id ${direction}), '[]'::json)))::text AS data
FROM (
  SELECT p.id, ${column} AS sort, ${LIST_NODE} AS node
  FROM products p
  ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
  ORDER BY ${column} ${direction}, p.id ${direction}
  LIMIT ${limit}
) page`
  return { name: `floor_list_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`, text, values }
}

/** Q3 import dashboard: the latest jobs of a status, their supplier (by code) and creator (by id). */
const Q3_SQL = `
SELECT json_build_object('importJobs', json_build_object('edges', coalesce(
  json_agg(json_build_object('node', page.node) ORDER BY page.created_at DESC, page.id DESC), '[]'::json)))::text AS data
FROM (
  SELECT j.id, j.created_at, json_build_object(
    'id', j.id, 'status', upper(j.status), 'importType', j.import_type, 'supplierCode', j.supplier_code,
    'totalRows', j.total_rows, 'processedRows', j.processed_rows, 'failedRows', j.failed_rows,
    'startedAt', ${ts('j.started_at')}, 'completedAt', ${ts('j.completed_at')}, 'createdAt', ${ts('j.created_at')},
    'supplier', (SELECT json_build_object('id', s.id, 'code', s.code, 'name', s.name)
                   FROM suppliers s WHERE s.code = j.supplier_code),
    'createdBy', (SELECT json_build_object('id', u.id, 'email', u.email, 'firstName', u.first_name,
                                           'lastName', u.last_name)
                    FROM users u WHERE u.id = j.created_by)
  ) AS node
  FROM import_jobs j
  WHERE j.status = lower($1)
  ORDER BY j.created_at DESC, j.id DESC
  LIMIT $2
) page`

/**
 * The mixed workload's writes, each ONE UPDATE of the row the GraphQL mutation changes (no history, no audit,
 * no cache to invalidate): a price's amount (its margin with it), a stock's quantity moved by delta.
 */
const WRITE_PRICE_SQL = `
UPDATE product_prices
   SET price = $2::numeric,
       margin = CASE WHEN cost IS NULL OR $2::numeric = 0 THEN NULL ELSE round(($2::numeric - cost) / $2::numeric * 100, 2) END
 WHERE id = $1
RETURNING json_build_object('setProductPrice', json_build_object('id', id, 'price', price::text))::text AS data`

const WRITE_STOCK_SQL = `
UPDATE product_stocks
   SET quantity = quantity + $2, available_quantity = quantity + $2 - reserved_quantity, last_update = now()
 WHERE id = $1
RETURNING json_build_object('adjustStock', json_build_object('id', id, 'quantity', quantity,
                                                             'availableQuantity', available_quantity))::text AS data`

type Handler = (variables: Record<string, unknown>) => { name: string; text: string; values: unknown[] }

const ROUTES: Record<string, Handler> = {
  '/q1': (v) => ({ name: 'floor_q1', text: Q1_SQL, values: [v.supplierId, v.first] }),
  '/q2': (v) => ({ name: 'floor_q2', text: Q2_SQL, values: [v.ean, v.from, v.to] }),
  '/q3': (v) => ({ name: 'floor_q3', text: Q3_SQL, values: [v.status, v.first] }),
  '/product': (v) => ({ name: 'floor_product', text: DETAIL_BY_ID_SQL, values: [v.id, v.from, v.to] }),
  '/products': (v) => listQuery(v as unknown as ListVariables),
  '/write-price': (v) => ({ name: 'floor_write_price', text: WRITE_PRICE_SQL, values: [v.id, v.price] }),
  '/write-stock': (v) => ({ name: 'floor_write_stock', text: WRITE_STOCK_SQL, values: [v.id, v.delta] }),
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

function send(res: ServerResponse, status: number, body: string) {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  })
  res.end(body)
}

async function main() {
  const connectionString = process.env.FLOOR_DATABASE_URL
  if (!connectionString) throw new Error('FLOOR_DATABASE_URL is not set')
  const poolSize = Number(process.env.FLOOR_POOL_SIZE?.trim() || 8)
  if (!Number.isInteger(poolSize) || poolSize < 1)
    throw new Error(`FLOOR_POOL_SIZE must be a positive integer, got "${process.env.FLOOR_POOL_SIZE}"`)
  const pool = new pg.Pool({
    connectionString,
    // One statement per request: a few connections keep 2 cores busy, and a shared server has ~100 in all.
    max: poolSize,
    options: '-c TimeZone=UTC -c jit=off',
    application_name: 'pm-bench-floor',
  })
  pool.on('error', () => {})
  const server = createServer(async (req, res) => {
    try {
      if (req.url === '/ready') {
        await pool.query('SELECT 1')
        return send(res, 200, '{"status":"ready"}')
      }
      const route = ROUTES[req.url ?? '']
      if (!route || req.method !== 'POST')
        return send(res, 404, `{"error":"POST ${Object.keys(ROUTES).join(', ')}"}`)
      const { variables } = JSON.parse(await readBody(req)) as { variables: Record<string, unknown> }
      // A named statement is prepared once per connection, then only bound and executed.
      const { rows } = await pool.query<{ data: string }>(route(variables))
      send(res, 200, `{"data":${rows[0]!.data}}`)
    } catch (error) {
      send(res, 500, JSON.stringify({ errors: [{ message: (error as Error).message }] }))
    }
  })
  server.keepAliveTimeout = 65_000
  await new Promise<void>((resolve) =>
    server.listen(Number(process.env.FLOOR_PORT ?? 0), process.env.HOST ?? '127.0.0.1', resolve),
  )
  console.log(
    JSON.stringify({ level: 'info', msg: 'floor listening', port: (server.address() as AddressInfo).port }),
  )
  const stop = () => {
    server.close()
    server.closeAllConnections()
    pool.end().finally(() => process.exit(0))
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}

await main()
