import { once } from 'node:events'
import { CompiledQuery, type Kysely } from 'kysely'

/** The parts of pg's Connection a custom query uses (pg/lib/connection.js). */
interface PgConnection {
  query(text: string): void
  endCopyFrom(): void
  sendCopyFail(message: string): void
  stream: NodeJS.WritableStream & { writable: boolean }
}

interface CopyResult {
  command: 'COPY'
  rowCount: number
  rows: never[]
}

const COPY_DATA = 0x64 // 'd'

/** A CopyData message: 'd', the length (itself included), the text as UTF-8. */
export function copyDataMessage(text: string): Buffer {
  const length = Buffer.byteLength(text)
  const message = Buffer.allocUnsafe(5 + length)
  message[0] = COPY_DATA
  message.writeInt32BE(length + 4, 1)
  message.write(text, 5, 'utf8')
  return message
}

/**
 * `COPY … FROM STDIN` as a pg custom query: pg hands any object with submit() the connection and
 * the protocol events (the interface pg-copy-streams uses), so this writes the CopyData frames
 * itself. It is thenable because Kysely awaits whatever client.query returns.
 */
export class CopyFromStdin implements PromiseLike<CopyResult> {
  private readonly done: Promise<CopyResult>
  private resolve!: (result: CopyResult) => void
  private reject!: (error: unknown) => void
  private rowCount = 0
  private failed = false
  private sourceError: unknown

  constructor(
    readonly text: string,
    /** CopyData messages (see copyDataMessage). */
    private readonly source: AsyncIterable<Buffer> | Iterable<Buffer>,
  ) {
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve
      this.reject = reject
    })
    // Settled through then() by the caller; this keeps an early failure from being reported as unhandled.
    this.done.catch(() => {})
  }

  submit(connection: PgConnection): void {
    connection.query(this.text)
  }

  handleCopyInResponse(connection: PgConnection): void {
    void this.pump(connection)
  }

  private async pump(connection: PgConnection): Promise<void> {
    const { stream } = connection
    try {
      for await (const chunk of this.source) {
        if (this.failed) return
        if (!stream.write(chunk)) {
          // Resolve on the server's error too: a dead socket never drains.
          await Promise.race([once(stream, 'drain'), this.done.catch(() => {})])
        }
      }
      if (!this.failed) connection.endCopyFrom()
    } catch (error) {
      this.sourceError = error
      // The server answers CopyFail with an error and leaves COPY mode; handleError then rejects.
      if (!this.failed) connection.sendCopyFail(error instanceof Error ? error.message : String(error))
    }
  }

  handleCommandComplete(message: { text?: string }): void {
    const match = /^COPY (\d+)/.exec(message.text ?? '')
    if (match) this.rowCount = Number(match[1])
  }

  handleReadyForQuery(): void {
    this.resolve({ command: 'COPY', rowCount: this.rowCount, rows: [] })
  }

  handleError(error: Error): void {
    this.failed = true
    this.reject(this.sourceError ?? error)
  }

  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}

  // biome-ignore lint/suspicious/noThenProperty: Kysely awaits the value pg's client.query returns
  then<T1 = CopyResult, T2 = never>(
    onFulfilled?: ((value: CopyResult) => T1 | PromiseLike<T1>) | null,
    onRejected?: ((reason: unknown) => T2 | PromiseLike<T2>) | null,
  ): Promise<T1 | T2> {
    return this.done.then(onFulfilled, onRejected)
  }

  toString(): string {
    return this.text
  }
}

/**
 * Runs `COPY table (columns) FROM STDIN` on `db`'s connection (inside its transaction when `db` is
 * one), streaming `source` (CopyData messages of COPY text format lines); resolves with the row count.
 */
export async function copyFrom(
  db: Kysely<unknown>,
  table: string,
  columns: readonly string[],
  source: AsyncIterable<Buffer> | Iterable<Buffer>,
  { freeze = false }: { freeze?: boolean } = {},
): Promise<number> {
  const quoted = columns.map((c) => `"${c}"`).join(', ')
  const text = `COPY "${table}" (${quoted}) FROM STDIN${freeze ? ' WITH (FREEZE)' : ''}`
  const copy = new CopyFromStdin(text, source)
  // The compiled query's text is the custom query itself: Kysely passes it to pg's client.query as is.
  const query = { ...CompiledQuery.raw(text), sql: copy as unknown as string }
  await db.executeQuery(query)
  return (await copy).rowCount
}
