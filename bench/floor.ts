/**
 * The floor: the data of Q1 and Q2 fetched by ONE hand-written SQL statement each (joins and JSON
 * aggregation) from bench_floor, served by a bare node:http server. Same JSON as the GraphQL answer's data.
 *   FLOOR_DATABASE_URL  FLOOR_PORT (0 = any)  FLOOR_POOL_SIZE (8)  HOST (127.0.0.1)
 * POST /q1 {"variables":{"supplierId","first"}}   POST /q2 {"variables":{"ean","from","to"}}   GET /ready
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import pg from 'pg'

/** TIMESTAMP columns hold UTC: written the way the DateTime scalar serialises a Date. */
const ts = (column: string) => `to_char(${column}, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`

const Q1_SQL = `
SELECT json_build_object('products', json_build_object('edges', coalesce(
  json_agg(json_build_object('node', page.node) ORDER BY page.created_at DESC, page.id DESC), '[]'::json)))::text AS data
FROM (
  SELECT p.id, p.created_at, json_build_object(
    'id', p.id, 'ean', p.ean, 'sku', p.sku, 'title', p.title, 'status', p.status, 'createdAt', ${ts('p.created_at')},
    'prices', coalesce((
      SELECT json_agg(json_build_object('priceType', pp.price_type, 'price', pp.price::text, 'currency', pp.currency,
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
  ) AS node
  FROM products p
  WHERE p.supplier_id = $1 AND p.is_active = true
  ORDER BY p.created_at DESC, p.id DESC
  LIMIT $2
) page`

const Q2_SQL = `
SELECT json_build_object('productByEan', (
  SELECT json_build_object(
    'id', p.id, 'ean', p.ean, 'sku', p.sku, 'title', p.title, 'description', p.description, 'status', p.status,
    'isActive', p.is_active, 'createdAt', ${ts('p.created_at')}, 'updatedAt', ${ts('p.updated_at')},
    'prices', coalesce((
      SELECT json_agg(json_build_object('priceType', pp.price_type, 'price', pp.price::text, 'cost', pp.cost::text,
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
               'delta', h.delta, 'reason', h.reason, 'changedAt', ${ts('h.changed_at')}))
             ORDER BY h.changed_at DESC, h.id DESC)
        FROM (SELECT * FROM stock_history WHERE product_id = p.id ORDER BY changed_at DESC, id DESC LIMIT 30) h),
      '[]'::json)),
    'media', coalesce((
      SELECT json_agg(json_build_object(
               'id', m.id, 'fileName', m.file_name, 'mimeType', m.mime_type, 'width', m.width, 'height', m.height,
               'isPrimary', m.is_primary, 'displayOrder', m.display_order, 'storageUrl', m.storage_url,
               'thumbnails', coalesce((
                 SELECT json_agg(json_build_object('sizeName', t.size_name, 'width', t.width, 'height', t.height,
                                                   'storageUrl', t.storage_url) ORDER BY t.width, t.id)
                   FROM media_thumbnails t WHERE t.media_file_id = m.id), '[]'::json))
             ORDER BY m.display_order, m.id)
        FROM media_files m WHERE m.product_id = p.id), '[]'::json),
    'asinMatches', coalesce((
      SELECT json_agg(json_build_object(
               'id', r.id, 'asin', r.asin, 'amazonTitle', r.amazon_title, 'matchConfidence', r.match_confidence::text,
               'matchType', r.match_type, 'amazonPrice', r.amazon_price::text, 'isVerified', r.is_verified,
               'processedAt', ${ts('r.processed_at')})
             ORDER BY r.match_confidence DESC NULLS LAST, coalesce(r.is_verified, false) DESC,
                      r.processed_at DESC NULLS LAST, r.id)
        FROM code2asin_results r WHERE r.product_id = p.id), '[]'::json),
    'metrics', coalesce((
      SELECT json_agg(json_build_object('date', to_char(pm.date, 'YYYY-MM-DD'), 'viewCount', pm.view_count,
                                        'salesCount', pm.sales_count, 'conversionRate', pm.conversion_rate::text,
                                        'revenue', pm.revenue::text) ORDER BY pm.date)
        FROM product_metrics pm WHERE pm.product_id = p.id AND pm.date BETWEEN $2::date AND $3::date), '[]'::json))
  FROM products p
  WHERE p.ean = $1
  ORDER BY p.is_active IS TRUE DESC, p.created_at DESC NULLS LAST, p.id DESC
  LIMIT 1))::text AS data`

type Handler = (variables: Record<string, unknown>) => { name: string; text: string; values: unknown[] }

const ROUTES: Record<string, Handler> = {
  '/q1': (v) => ({ name: 'floor_q1', text: Q1_SQL, values: [v.supplierId, v.first] }),
  '/q2': (v) => ({ name: 'floor_q2', text: Q2_SQL, values: [v.ean, v.from, v.to] }),
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
      if (!route || req.method !== 'POST') return send(res, 404, '{"error":"POST /q1 or /q2"}')
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
