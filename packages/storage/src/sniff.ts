/** Bytes read from the start of a file to tell its type. */
export const SNIFF_BYTES = 4096

export const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'

const startsWith = (head: Buffer, bytes: number[], at = 0) => bytes.every((b, i) => head[at + i] === b)
const ascii = (text: string) => [...text].map((c) => c.charCodeAt(0))

function decodesAsUtf8(bytes: Buffer, truncated: boolean): boolean {
  const decoder = new TextDecoder('utf-8', { fatal: true })
  // A multi-byte character cut by the end of the sample is not an error: retry without its first bytes.
  for (let cut = 0; cut <= (truncated ? 3 : 0); cut++) {
    try {
      decoder.decode(bytes.subarray(0, bytes.length - cut))
      return true
    } catch {}
  }
  return false
}

/** Windows-1252 / ISO-8859-1 text: no C0 control other than tab, CR, LF, and none of 1252's unassigned bytes. */
function plausibleLatin1(bytes: Buffer): boolean {
  for (const b of bytes) {
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) return false
    if (b === 0x7f || b === 0x81 || b === 0x8d || b === 0x8f || b === 0x90 || b === 0x9d) return false
  }
  return true
}

/**
 * The content type of a file from its first bytes (magic numbers), the file name only telling an .xlsx from
 * another zip and JSON lines from JSON. Text (UTF-8, or Windows-1252) is JSON, XML or else CSV; a declared
 * text/* type is kept for text that is neither JSON nor XML (text/tab-separated-values, text/plain).
 */
export function sniffContentType(head: Buffer, o: { filename?: string; declaredType?: string } = {}): string {
  const name = (o.filename ?? '').toLowerCase()
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04]) || startsWith(head, [0x50, 0x4b, 0x05, 0x06])) {
    const text = head.toString('latin1')
    return text.includes('[Content_Types].xml') || text.includes('xl/') || name.endsWith('.xlsx')
      ? XLSX_TYPE
      : 'application/zip'
  }
  if (startsWith(head, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])) return 'application/vnd.ms-excel'
  if (startsWith(head, [0x1f, 0x8b])) return 'application/gzip'
  if (startsWith(head, ascii('%PDF-'))) return 'application/pdf'
  if (startsWith(head, [0xff, 0xd8, 0xff])) return 'image/jpeg'
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png'
  if (startsWith(head, ascii('GIF87a')) || startsWith(head, ascii('GIF89a'))) return 'image/gif'
  if (startsWith(head, ascii('RIFF')) && startsWith(head, ascii('WEBP'), 8)) return 'image/webp'

  const bom = startsWith(head, [0xef, 0xbb, 0xbf]) ? 3 : 0
  const body = head.subarray(bom)
  const truncated = head.length >= SNIFF_BYTES
  const isText = bom > 0 || decodesAsUtf8(body, truncated) ? !body.includes(0) : plausibleLatin1(body)
  if (!isText) return 'application/octet-stream'
  const first = body.toString('latin1').trimStart()
  if (first.startsWith('<')) return 'application/xml'
  if (first.startsWith('{') || first.startsWith('[')) {
    return name.endsWith('.jsonl') || name.endsWith('.ndjson') ? 'application/x-ndjson' : 'application/json'
  }
  const declared = o.declaredType?.split(';')[0]?.trim().toLowerCase()
  if (declared?.startsWith('text/') && declared !== 'text/html' && declared !== 'text/xml') return declared
  return 'text/csv'
}
