import type { RawRecord } from './types'

export interface RecordLimits {
  maxColumns: number
  maxLineBytes: number
}

export const DEFAULT_MAX_COLUMNS = 1000
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024

/**
 * Header cells to column names: trimmed; an empty one is named by its 1-based position; a repeated one gets
 * " (2)", " (3)", … so no column silently hides another.
 */
export function columnNames(cells: string[], warnings: string[]): string[] {
  const seen = new Map<string, number>()
  return cells.map((cell, i) => {
    let name = cell.replace(/^\uFEFF/, '').trim()
    if (name === '') name = String(i + 1)
    const n = (seen.get(name) ?? 0) + 1
    seen.set(name, n)
    if (n > 1) {
      const renamed = `${name} (${n})`
      warnings.push(`column ${i + 1} repeats the name "${name}"; it is read as "${renamed}"`)
      return renamed
    }
    return name
  })
}

/** A row of positional values under the header's names; values beyond the header fail the row unless blank. */
export function rowOf(
  fields: string[],
  rowNumber: number,
  columns: string[],
  unterminated = false,
): RawRecord {
  const values: Record<string, string> = {}
  const n = Math.min(fields.length, columns.length)
  for (let i = 0; i < n; i++) values[columns[i]!] = fields[i]!
  const record: RawRecord = { rowNumber, values }
  if (unterminated) {
    record.issue = {
      rule: 'quotes',
      message: 'the row has a quoted value that is never closed (the file ends inside it)',
    }
  } else if (fields.length > columns.length) {
    for (let i = columns.length; i < fields.length; i++) {
      if (fields[i]!.trim() !== '') {
        record.issue = {
          rule: 'columns',
          column: String(i + 1),
          rawValue: fields[i]!.slice(0, 200),
          message: `the row has ${fields.length} values but the header has ${columns.length} columns (an unquoted delimiter inside a value?)`,
        }
        break
      }
    }
  }
  return record
}
