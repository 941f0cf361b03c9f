/** The import engine's vocabulary: what a parsed source yields and what a mapped row holds. */

export type SourceFormat = 'csv' | 'xlsx' | 'json' | 'jsonl' | 'xml'
export const SOURCE_FORMATS: readonly SourceFormat[] = ['csv', 'xlsx', 'json', 'jsonl', 'xml']

export interface ParseOptions {
  /** Explicit format; 'auto' (or omitted): from the file name, else from the first bytes. */
  format?: SourceFormat | 'auto'
  filename?: string
  /** Any encoding iconv-lite knows (UTF-8, Windows-1252, ISO-8859-1, UTF-16LE, …); detected when omitted. */
  encoding?: string
  /** CSV: one character; detected from the first line when omitted. */
  delimiter?: string
  /** XLSX: the sheet's name; the first sheet when omitted. */
  sheet?: string
  /** XML: the element holding one record; JSON: the top-level key holding the array of records. */
  recordElement?: string
  /** CSV and XLSX: the first row names the columns (default true); else columns are named "1", "2", … */
  hasHeader?: boolean
  /** A record with more columns fails with an issue (the header: the whole source fails). Default 1,000. */
  maxColumns?: number
  /** A record longer than this (characters of text, bytes of JSON) fails without being buffered. Default 1 MiB. */
  maxLineBytes?: number
  /** XLSX: refuse archives that would decompress to more than this. Default 4 GiB. */
  maxUncompressedBytes?: number
  /** XLSX: where the workbook is spooled (it is read from its central directory). Default os.tmpdir(). */
  tempDir?: string
  /**
   * XLSX: the shared strings table's memory budget (past it, the rest is spilled to a file next to the spooled
   * workbook) and the largest shared strings part read (bigger: TOO_LARGE). Defaults 16 MiB and 512 MiB.
   */
  sharedStrings?: { memoryBytes?: number; maxPartBytes?: number }
}

/** A problem with one record, found while reading or mapping it. */
export interface RowIssue {
  column?: string
  field?: string
  rule: string
  message: string
  rawValue?: string
  /** 'error' (default) fails the row; 'warning' is recorded and the row goes on. */
  severity?: 'error' | 'warning'
}

export interface RawRecord {
  /** 1-based data row (the header row not counted; for XLSX the sheet row minus the header rows). */
  rowNumber: number
  values: Record<string, string>
  /** Set when the record could not be read whole (too many columns, too long): it fails with this issue. */
  issue?: RowIssue
}

export interface ParsedSource {
  format: SourceFormat
  encoding?: string
  delimiter?: string
  /** The header's column names once known (after the first record is read for CSV and XLSX). */
  columns(): string[] | undefined
  records: AsyncIterable<RawRecord>
  /** Things worth logging on the job (encoding fallbacks, renamed duplicate columns, …); grows while reading. */
  warnings: string[]
  /** Bytes of the source consumed so far (progress and ETA). */
  bytesRead(): number
  /** Releases what the source holds (an XLSX's temporary file) when reading stops before the end. */
  close?(): Promise<void>
}

/**
 * The target vocabulary: one imported product row. Decimals are strings in the catalogue's format ("12.50"),
 * never floats; absent keys mean "not in the file" (an empty cell is absent, not a blank value).
 */
export interface ImportRow {
  sku?: string
  ean?: string
  upc?: string
  gtin?: string
  asin?: string
  title?: string
  description?: string
  shortDescription?: string
  manufacturerReference?: string
  externalId?: string
  status?: string
  isActive?: boolean
  weight?: string
  width?: string
  height?: string
  depth?: string
  price?: string
  cost?: string
  retailPrice?: string
  currency?: string
  stockQuantity?: number
  minStock?: number
  warehouse?: string
  brand?: string
  category?: string
  imageUrls?: string[]
  technicalSpecs?: Record<string, string>
}

/** The source cannot be read at all (not the format it claims, truncated, malformed): the job fails with this. */
export class SourceError extends Error {
  constructor(
    message: string,
    readonly code:
      | 'UNSUPPORTED_FORMAT'
      | 'WRONG_FORMAT'
      | 'BINARY'
      | 'ENCODING'
      | 'MALFORMED'
      | 'TRUNCATED'
      | 'TOO_LARGE'
      | 'TOO_MANY_COLUMNS'
      | 'NO_SHEET'
      | 'EMPTY' = 'MALFORMED',
    readonly rowNumber?: number,
  ) {
    super(message)
    this.name = 'SourceError'
  }
}

/** A configuration the engine cannot run; `path` names the offending value, e.g. `transformationRules[2].op`. */
export { RuleConfigError as ImportConfigError } from '@pm/transform'
