import { PassThrough, Readable } from 'node:stream'
import ExcelJS from 'exceljs'
import PDFDocument from 'pdfkit'
import type { Column, ReportData, ReportFormat } from './types'

export const CONTENT_TYPES: Record<ReportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  json: 'application/json',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pdf: 'application/pdf',
}

/** Rows a PDF's table shows; the other formats hold every row (the PDF says how many it left out). */
export const PDF_MAX_ROWS = 2_000

export interface RenderInput {
  data: ReportData
  name: string
  parameters: Record<string, unknown>
  generatedAt: Date
}

/** The report as a stream in its format (written to storage as it is produced). */
export function render(format: ReportFormat, input: RenderInput): Readable {
  switch (format) {
    case 'csv':
      return Readable.from(csvLines(input.data), { objectMode: false })
    case 'json':
      return Readable.from(jsonChunks(input), { objectMode: false })
    case 'xlsx':
      return xlsx(input)
    case 'pdf':
      return pdf(input)
  }
}

const csvCell = (value: unknown) => {
  if (value === null || value === undefined) return ''
  const text = String(value)
  // Quoted when needed; a leading =, +, - or @ is prefixed so spreadsheets do not run it as a formula.
  const safe = /^[=+\-@\t\r]/.test(text) && Number.isNaN(Number(text)) ? `'${text}` : text
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe
}

function* csvLines(data: ReportData): Generator<string> {
  // UTF-8 byte order mark: spreadsheets then read the accents right.
  yield `\uFEFF${data.columns.map((c) => csvCell(c.label)).join(',')}\r\n`
  let chunk = ''
  for (let i = 0; i < data.rows.length; i++) {
    const row = data.rows[i]!
    chunk += `${data.columns.map((c) => csvCell(row[c.key])).join(',')}\r\n`
    if (chunk.length > 65_536) {
      yield chunk
      chunk = ''
    }
  }
  if (chunk) yield chunk
}

function* jsonChunks(input: RenderInput): Generator<string> {
  const { data } = input
  yield `{"report":${JSON.stringify({
    name: input.name,
    title: data.title,
    parameters: input.parameters,
    generatedAt: input.generatedAt.toISOString(),
    rowCount: data.rows.length,
  })},"columns":${JSON.stringify(data.columns)},"rows":[`
  let chunk = ''
  for (let i = 0; i < data.rows.length; i++) {
    const row = data.rows[i]!
    const typed = Object.fromEntries(data.columns.map((c) => [c.key, row[c.key] ?? null]))
    chunk += (i ? ',' : '') + JSON.stringify(typed)
    if (chunk.length > 65_536) {
      yield chunk
      chunk = ''
    }
  }
  yield `${chunk}]}`
}

const numeric = (c: Column, v: unknown) =>
  v === null || v === undefined ? null : c.kind === 'int' || c.kind === 'decimal' ? Number(v) : String(v)

function xlsx(input: RenderInput): Readable {
  const out = new PassThrough()
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true })
  const sheet = workbook.addWorksheet('Report')
  sheet.columns = input.data.columns.map((c) => ({
    header: c.label,
    key: c.key,
    width: c.kind === 'text' ? 28 : 16,
    ...(c.kind === 'decimal' ? { style: { numFmt: '0.00' } } : {}),
  }))
  sheet.getRow(1).font = { bold: true }
  ;(async () => {
    for (const row of input.data.rows) {
      sheet
        .addRow(Object.fromEntries(input.data.columns.map((c) => [c.key, numeric(c, row[c.key])])))
        .commit()
    }
    sheet.commit()
    const about = workbook.addWorksheet('Parameters')
    about.addRow(['Report', input.name]).commit()
    about.addRow(['Title', input.data.title]).commit()
    about.addRow(['Generated at', input.generatedAt.toISOString()]).commit()
    for (const [k, v] of Object.entries(input.parameters)) about.addRow([k, String(v)]).commit()
    about.commit()
    await workbook.commit()
  })().catch((error) => out.destroy(error))
  return out
}

/** Sums (or counts) the chart's value per label, largest first, at most `max` bars. */
export function chartBars(data: ReportData, max = 15): { label: string; value: number }[] {
  const sums = new Map<string, number>()
  for (const row of data.rows) {
    const label = String(row[data.chart.label] ?? '—')
    const value = data.chart.value === null ? 1 : Number(row[data.chart.value] ?? 0)
    if (Number.isFinite(value)) sums.set(label, (sums.get(label) ?? 0) + value)
  }
  return [...sums]
    .map(([label, value]) => ({ label, value }))
    .sort((a, b) => b.value - a.value || a.label.localeCompare(b.label))
    .slice(0, max)
}

const cellText = (c: Column, v: unknown) => {
  if (v === null || v === undefined) return ''
  if (c.kind === 'date') return String(v).slice(0, 16).replace('T', ' ')
  return String(v)
}

/** A4 landscape: title, parameters, the chart (pdfkit vector rectangles and lines), then the table. */
function pdf(input: RenderInput): Readable {
  const doc = new PDFDocument({ size: 'A4', layout: 'landscape', margin: 36, bufferPages: false })
  const { data } = input
  const left = doc.page.margins.left
  const width = doc.page.width - left - doc.page.margins.right
  doc.font('Helvetica-Bold').fontSize(18).text(data.title, { width })
  doc.moveDown(0.3)
  doc.font('Helvetica').fontSize(9).fillColor('#444')
  doc.text(`${input.name} · generated ${input.generatedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC`)
  const params = Object.entries(input.parameters)
  doc.text(
    params.length
      ? `Parameters: ${params.map(([k, v]) => `${k} = ${String(v)}`).join(', ')}`
      : 'Parameters: none',
  )
  doc.text(`${data.rows.length} rows`)
  doc.fillColor('black').moveDown(0.8)

  // The chart: horizontal bars of the main figure.
  const bars = chartBars(data)
  doc.font('Helvetica-Bold').fontSize(11).text(data.chart.title)
  doc.moveDown(0.3)
  if (bars.length === 0) {
    doc.font('Helvetica').fontSize(9).text('No data for the chart.')
  } else {
    const top = doc.y
    const labelWidth = 150
    const barArea = width - labelWidth - 80
    const maxValue = Math.max(...bars.map((b) => b.value), 1)
    const barHeight = 11
    doc.font('Helvetica').fontSize(8)
    bars.forEach((b, i) => {
      const y = top + i * (barHeight + 4)
      doc
        .fillColor('black')
        .text(b.label.slice(0, 32), left, y + 1, { width: labelWidth - 6, lineBreak: false })
      const w = Math.max(1, (Math.max(0, b.value) / maxValue) * barArea)
      doc.rect(left + labelWidth, y, w, barHeight).fill('#3b6ea5')
      doc
        .fillColor('black')
        .text(formatNumber(b.value), left + labelWidth + w + 4, y + 1, { lineBreak: false })
    })
    const axisBottom = top + bars.length * (barHeight + 4)
    doc
      .moveTo(left + labelWidth, top - 2)
      .lineTo(left + labelWidth, axisBottom)
      .lineWidth(0.5)
      .stroke('#888')
    doc.x = left
    doc.y = axisBottom + 12
  }
  doc.fillColor('black')

  // The table.
  const shown = data.rows.slice(0, PDF_MAX_ROWS)
  const colWidth = width / data.columns.length
  const rowHeight = 13
  const bottom = doc.page.height - doc.page.margins.bottom
  const header = () => {
    doc.font('Helvetica-Bold').fontSize(7.5)
    data.columns.forEach((c, i) => {
      doc.text(c.label, left + i * colWidth, doc.y, {
        width: colWidth - 4,
        lineBreak: false,
        height: rowHeight,
      })
    })
    doc
      .moveTo(left, doc.y + rowHeight - 2)
      .lineTo(left + width, doc.y + rowHeight - 2)
      .lineWidth(0.5)
      .stroke('#888')
    doc.y += rowHeight
    doc.font('Helvetica').fontSize(7.5)
  }
  if (doc.y + 3 * rowHeight > bottom) doc.addPage()
  header()
  for (const row of shown) {
    if (doc.y + rowHeight > bottom) {
      doc.addPage()
      header()
    }
    const y = doc.y
    data.columns.forEach((c, i) => {
      doc.text(cellText(c, row[c.key]), left + i * colWidth, y, {
        width: colWidth - 4,
        lineBreak: false,
        height: rowHeight,
        ellipsis: true,
        align: c.kind === 'text' || c.kind === 'date' ? 'left' : 'right',
      })
    })
    doc.y = y + rowHeight
  }
  if (data.rows.length > shown.length) {
    doc.moveDown(0.5)
    doc
      .font('Helvetica-Oblique')
      .text(
        `The first ${shown.length} of ${data.rows.length} rows are shown; the CSV, XLSX and JSON formats hold every row.`,
        left,
      )
  }
  doc.end()
  return doc as unknown as Readable
}

const formatNumber = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2))
