import { describe, expect, it } from 'vitest'
import {
  metricsText,
  normalizeStatement,
  observeStatement,
  operationLabel,
  registerPool,
  setMetricsEnabled,
  setSlowStatementMs,
  setStatementLogger,
} from '../src'

describe('normalizeStatement', () => {
  it('keeps the shape of a statement, never its values', () => {
    expect(
      normalizeStatement(
        `SELECT * FROM products WHERE sku = 'SECRET-42' AND price > 12.5 AND id = $1\n  AND note = E'it\\'s' LIMIT 50`,
      ),
    ).toBe('SELECT * FROM products WHERE sku = ? AND price > ? AND id = ? AND note = ? LIMIT ?')
    expect(normalizeStatement(`INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)`)).toBe(
      'INSERT INTO t (a, b) VALUES (?, …), (?, …)',
    )
    expect(normalizeStatement(`SELECT "col1", t2.x FROM t2 WHERE name = 'O''Brien'`)).toBe(
      'SELECT "col1", t2.x FROM t2 WHERE name = ?',
    )
    expect(normalizeStatement(`DO $$ BEGIN PERFORM 'x'; END $$`)).toBe('DO ?')
    expect(normalizeStatement(`SELECT ${'a, '.repeat(1000)}b`).length).toBeLessThanOrEqual(1_001)
  })
})

describe('operationLabel', () => {
  it('takes GraphQL names only, and a bounded number of them', () => {
    expect(operationLabel(undefined)).toBe('anonymous')
    expect(operationLabel('ProductPage')).toBe('ProductPage')
    expect(operationLabel('bad name"} 1')).toBe('invalid')
    for (let i = 0; i < 300; i++) operationLabel(`Op${i}`)
    expect(operationLabel('OneTooMany')).toBe('other')
    expect(operationLabel('ProductPage')).toBe('ProductPage')
  })
})

describe('statements and pools', () => {
  it('times statements per domain, counts and logs slow ones without their values', async () => {
    const logged: Record<string, unknown>[] = []
    setStatementLogger({ warn: (msg, fields) => logged.push({ msg, ...fields }) })
    setSlowStatementMs(100)
    observeStatement('media', `SELECT 1 FROM media_files WHERE product_id = 'abc'`, 5)
    observeStatement('media', `SELECT 1 FROM media_files WHERE product_id = 'abc'`, 250)
    observeStatement('media', `SELECT broken`, 1, new Error('syntax'))
    // A COPY stream passed as the query (the seed loader does): its own text stands for it.
    observeStatement('media', { text: `COPY media_files FROM STDIN` }, 300)
    const text = await metricsText()
    expect(text).toContain('pm_db_statement_duration_seconds_count{domain="media",outcome="ok"} 3')
    expect(text).toContain('pm_db_statement_duration_seconds_count{domain="media",outcome="error"} 1')
    expect(text).toContain('pm_db_slow_statements_total{domain="media"} 2')
    expect(logged).toEqual([
      {
        msg: 'slow statement',
        domain: 'media',
        ms: 250,
        thresholdMs: 100,
        statement: 'SELECT ? FROM media_files WHERE product_id = ?',
      },
      {
        msg: 'slow statement',
        domain: 'media',
        ms: 300,
        thresholdMs: 100,
        statement: 'COPY media_files FROM STDIN',
      },
    ])
  })

  it('reports the pools registered, summed per domain, until they are unregistered', async () => {
    const figures = {
      max: 10,
      total: 4,
      idle: 3,
      waiting: 2,
      acquires: 7,
      acquireWaitMsTotal: 1500,
      acquireWaitMsMax: 900,
      acquireTimeouts: 1,
      deadConnectionsDiscarded: 0,
    }
    const first = registerPool(() => ({ domain: 'code2asin', ...figures }))
    const second = registerPool(() => ({ domain: 'code2asin', ...figures, acquireWaitMsMax: 100 }))
    let text = await metricsText()
    expect(text).toContain('pm_db_pool_max_connections{domain="code2asin"} 20')
    expect(text).toContain('pm_db_pool_connections{domain="code2asin",state="in_use"} 2')
    expect(text).toContain('pm_db_pool_connections{domain="code2asin",state="idle"} 6')
    expect(text).toContain('pm_db_pool_waiting{domain="code2asin"} 4')
    expect(text).toContain('pm_db_pool_acquire_wait_seconds_total{domain="code2asin"} 3')
    expect(text).toContain('pm_db_pool_acquire_wait_max_seconds{domain="code2asin"} 0.9')
    expect(text).toContain('pm_db_pool_acquire_timeouts_total{domain="code2asin"} 2')
    expect(text).toMatch(/# TYPE pm_db_pool_acquires_total counter/)
    first()
    second()
    text = await metricsText()
    expect(text).not.toContain('domain="code2asin"')
  })

  it('collects nothing with metrics off', async () => {
    setMetricsEnabled(false)
    try {
      observeStatement('exports', 'SELECT 1', 1)
      const unregister = registerPool(() => ({
        domain: 'exports',
        max: 1,
        total: 1,
        idle: 1,
        waiting: 0,
        acquires: 1,
        acquireWaitMsTotal: 0,
        acquireWaitMsMax: 0,
        acquireTimeouts: 0,
        deadConnectionsDiscarded: 0,
      }))
      expect(await metricsText()).not.toContain('domain="exports"')
      unregister()
    } finally {
      setMetricsEnabled(true)
    }
  })
})

describe('Node figures', () => {
  it('times garbage collections by kind, every one of them, read when scraped', async () => {
    setMetricsEnabled(true)
    const count = (text: string) =>
      Number(/^nodejs_gc_duration_seconds_count\{kind="minor"\} (\d+)$/m.exec(text)?.[1] ?? 0)
    const before = count(await metricsText())
    // Far more short-lived objects than the young generation holds: scavenges, whatever its size.
    let kept = 0
    for (let round = 0; round < 200; round++) {
      const garbage = Array.from({ length: 10_000 }, (_, i) => ({ i, text: `object ${i}` }))
      kept += garbage.length
    }
    expect(kept).toBe(2_000_000)
    const text = await metricsText()
    expect(text).toContain('# TYPE nodejs_gc_duration_seconds histogram')
    expect(count(text)).toBeGreaterThan(before)
    expect(Number(/^nodejs_gc_duration_seconds_sum\{kind="minor"\} (\S+)$/m.exec(text)?.[1])).toBeGreaterThan(
      0,
    )
    // The rest of prom-client's defaults are still there.
    for (const family of [
      'process_cpu_seconds_total',
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_heap_size_used_bytes',
    ])
      expect(text).toContain(`# TYPE ${family} `)
  })
})
