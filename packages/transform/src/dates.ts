/**
 * Date formats: YYYY, YY, MM, M, DD, D, HH, H, mm, ss as fields, anything else literal ("DD/MM/YYYY",
 * "YYYY-MM-DD HH:mm"); "iso" for ISO 8601; "excel" for a spreadsheet's serial day number (1900 system).
 */
const TOKENS: [string, string, string][] = [
  ['YYYY', '(\\d{4})', 'year'],
  ['YY', '(\\d{2})', 'year2'],
  ['MM', '(\\d{2})', 'month'],
  ['M', '(\\d{1,2})', 'month'],
  ['DD', '(\\d{2})', 'day'],
  ['D', '(\\d{1,2})', 'day'],
  ['HH', '(\\d{2})', 'hour'],
  ['H', '(\\d{1,2})', 'hour'],
  ['mm', '(\\d{2})', 'minute'],
  ['ss', '(\\d{2})', 'second'],
]

export interface DateParser {
  format: string
  parse(text: string): string | undefined
}

/** Compiles a format; throws Error with the reason when it is not one. */
export function dateParser(format: string): DateParser {
  if (format === 'iso') return { format, parse: parseIso }
  if (format === 'excel') return { format, parse: parseExcel }
  let pattern = ''
  const fields: string[] = []
  for (let i = 0; i < format.length; ) {
    const token = TOKENS.find(([t]) => format.startsWith(t, i))
    if (token) {
      if (
        fields.includes(token[2]) ||
        (token[2].startsWith('year') && fields.some((f) => f.startsWith('year')))
      ) {
        throw new Error(`"${format}" has ${token[0]} twice`)
      }
      pattern += token[1]
      fields.push(token[2])
      i += token[0].length
    } else {
      pattern += format[i]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
      i++
    }
  }
  if (!fields.some((f) => f.startsWith('year')) || !fields.includes('month') || !fields.includes('day')) {
    throw new Error(`"${format}" must have a year (YYYY or YY), a month (MM or M) and a day (DD or D)`)
  }
  const re = new RegExp(`^${pattern}$`)
  const withTime = fields.includes('hour')
  return {
    format,
    parse(text) {
      const m = re.exec(text.trim())
      if (!m) return undefined
      const v: Record<string, number> = {}
      fields.forEach((f, i) => {
        v[f] = Number(m[i + 1])
      })
      const year = v.year ?? (v.year2! < 70 ? 2000 + v.year2! : 1900 + v.year2!)
      return build(year, v.month!, v.day!, withTime ? [v.hour ?? 0, v.minute ?? 0, v.second ?? 0] : undefined)
    },
  }
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0')

function build(year: number, month: number, day: number, time?: number[]): string | undefined {
  const date = new Date(Date.UTC(year, month - 1, day))
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    return undefined
  }
  const ymd = `${pad(year, 4)}-${pad(month)}-${pad(day)}`
  if (!time) return ymd
  const [h, mi, s] = time as [number, number, number]
  if (h > 23 || mi > 59 || s > 59) return undefined
  return `${ymd}T${pad(h)}:${pad(mi)}:${pad(s)}`
}

function parseIso(text: string): string | undefined {
  const m =
    /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?)?$/.exec(
      text.trim(),
    )
  if (!m) return undefined
  const time = m[4] ? [Number(m[4]), Number(m[5]), Number(m[6] ?? 0)] : undefined
  return build(Number(m[1]), Number(m[2]), Number(m[3]), time)
}

/** Serial 1 is 1900-01-01; Excel's phantom 1900-02-29 (serial 60) is skipped as Excel itself counts. */
function parseExcel(text: string): string | undefined {
  if (!/^\d{1,6}(\.\d+)?$/.test(text.trim())) return undefined
  const serial = Number(text)
  const days = Math.floor(serial)
  if (days < 1 || days === 60 || days > 2_958_465) return undefined
  const base = Date.UTC(1899, 11, days > 60 ? 30 : 31)
  const date = new Date(base + days * 86_400_000)
  const fraction = serial - days
  const ymd = `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`
  if (fraction === 0) return ymd
  const seconds = Math.round(fraction * 86_400)
  return `${ymd}T${pad(Math.floor(seconds / 3600))}:${pad(Math.floor((seconds % 3600) / 60))}:${pad(seconds % 60)}`
}
