import { buffer, text } from 'node:stream/consumers'
import { describe, expect, it } from 'vitest'
import { chartBars, render } from '../src/engine/reports/render'
import { checkReportParameters, type ReportData } from '../src/engine/reports/types'

const data: ReportData = {
  title: 'T',
  columns: [
    { key: 'supplier', label: 'Supplier', kind: 'text' },
    { key: 'rows', label: 'Rows', kind: 'int' },
  ],
  rows: [
    { supplier: 'A, "quoted"', rows: 3 },
    { supplier: '=HYPERLINK("x")', rows: 5 },
    { supplier: 'A, "quoted"', rows: 4 },
    { supplier: null, rows: -2 },
  ],
  chart: { label: 'supplier', value: 'rows', title: 'Rows' },
}

describe('report parameters', () => {
  it('defaults a period to the last 30 days and keeps given ones', () => {
    const p = checkReportParameters('import_summary', {})
    expect((Date.parse(p.to!) - Date.parse(p.from!)) / 86_400_000).toBe(29)
    expect(
      checkReportParameters('price_changes', { from: '2026-01-01', to: '2026-01-31', supplierCode: 'S' }),
    ).toEqual({
      from: '2026-01-01',
      to: '2026-01-31',
      supplierCode: 'S',
    })
  })

  it('refuses bad dates, reversed or overlong periods, unknown parameters and a period where none applies', () => {
    const refused = (type: Parameters<typeof checkReportParameters>[0], p: Record<string, unknown>) => {
      try {
        checkReportParameters(type, p)
      } catch (error) {
        return (error as { extensions: { field: string } }).extensions.field
      }
      return 'accepted'
    }
    expect(refused('import_summary', { from: '2026-02-30', to: '2026-03-01' })).toBe('input.parameters.from')
    expect(refused('import_summary', { from: '2026-03-02', to: '2026-03-01' })).toBe('input.parameters.from')
    expect(refused('import_summary', { from: '2006-01-01', to: '2026-01-01' })).toBe('input.parameters.from')
    expect(refused('import_summary', { from: '2025-01-01', to: '2026-01-01' })).toBe('accepted')
    expect(refused('import_summary', { colour: 'red' })).toBe('input.parameters.colour')
    expect(refused('stock_alerts', { from: '2026-01-01' })).toBe('input.parameters.from')
  })
})

describe('report rendering', () => {
  it('writes CSV with quoting and formulas neutralised', async () => {
    const bytes = await buffer(render('csv', { data, name: 'n', parameters: {}, generatedAt: new Date() }))
    // A UTF-8 byte order mark first, so spreadsheets read the accents right.
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
    expect(bytes.subarray(3).toString('utf8').split('\r\n')).toEqual([
      'Supplier,Rows',
      '"A, ""quoted""",3',
      `"'=HYPERLINK(""x"")",5`,
      '"A, ""quoted""",4',
      ',-2',
      '',
    ])
  })

  it('writes JSON holding the parameters and every row', async () => {
    const json = JSON.parse(
      await text(
        render('json', { data, name: 'n', parameters: { from: '2026-01-01' }, generatedAt: new Date() }),
      ),
    )
    expect(json.report).toMatchObject({ name: 'n', rowCount: 4, parameters: { from: '2026-01-01' } })
    expect(json.rows[1]).toEqual({ supplier: '=HYPERLINK("x")', rows: 5 })
  })

  it('sums the chart figure per label, largest first', () => {
    expect(chartBars(data)).toEqual([
      { label: 'A, "quoted"', value: 7 },
      { label: '=HYPERLINK("x")', value: 5 },
      { label: '—', value: -2 },
    ])
    expect(chartBars({ ...data, chart: { ...data.chart, value: null } })[0]).toEqual({
      label: 'A, "quoted"',
      value: 2,
    })
  })
})
