import { closeSync, openSync, readSync, writeSync } from 'node:fs'
import { join } from 'node:path'

/** What an XLSX's shared strings table may take (ParseOptions.sharedStrings). */
export interface SharedStringsLimits {
  /**
   * Kept in memory up to about this many bytes (the first strings of the table, which a sheet written row by
   * row also repeats most: brands, categories, units); the rest is spilled to a file next to the spooled
   * workbook and read back in small groups. Default 16 MiB.
   */
  memoryBytes: number
  /** A shared strings part that inflates to more than this fails the file (TOO_LARGE). Default 512 MiB. */
  maxPartBytes: number
}

export const DEFAULT_SHARED_STRINGS: SharedStringsLimits = {
  memoryBytes: 16 * 1024 * 1024,
  maxPartBytes: 512 * 1024 * 1024,
}

/** A spilled group holds at most this many strings, or about this many bytes: one read brings it back. */
const GROUP_STRINGS = 64
const GROUP_BYTES = 64 * 1024
/** Decoded groups kept (the sheet reads its strings mostly in order, plus a few it repeats). */
const CACHED_GROUPS = 8
const WRITE_BUFFER = 1024 * 1024

/**
 * An XLSX's shared strings table, indexed as the sheet's `t="s"` cells index it. The first strings stay in
 * memory up to `memoryBytes` (counted as V8 keeps them: two bytes a character, plus the slot); past that,
 * strings are appended to a file (length-prefixed UTF-8) whose group offsets alone stay in memory. Each string
 * is kept to `maxChars` characters: a longer cell fails its row anyway (the row is longer than the limit).
 */
export class SharedStrings {
  private readonly memory: string[] = []
  private memoryUsed = 0
  private spillFd: number | undefined
  /** Index of the first spilled string; the spilled groups: first string index and file offset. */
  private spilledFrom = -1
  private readonly groupFirst: number[] = []
  private readonly groupOffset: number[] = []
  private groupStrings = 0
  private groupBytes = 0
  private fileBytes = 0
  private readonly pending = Buffer.allocUnsafe(WRITE_BUFFER)
  private pendingBytes = 0
  private readonly cache = new Map<number, string[]>()
  private lastGroup = -1
  private lastStrings: string[] | undefined
  private total = 0

  constructor(
    private readonly dir: string,
    private readonly memoryBytes: number,
    readonly maxChars: number,
  ) {}

  get count(): number {
    return this.total
  }

  /** Strings written to the spill file (0: the table fitted in memory). */
  get spilled(): number {
    return this.spilledFrom < 0 ? 0 : this.total - this.spilledFrom
  }

  push(text: string): void {
    const value = text.length > this.maxChars ? text.slice(0, this.maxChars) : text
    const cost = value.length * 2 + 32
    if (this.spilledFrom < 0 && this.memoryUsed + cost <= this.memoryBytes) {
      // A copy: the parser's text is often a slice that would keep its whole decoded chunk alive.
      this.memory.push(value.length > 12 ? Buffer.from(value, 'utf8').toString('utf8') : value)
      this.memoryUsed += cost
      this.total++
      return
    }
    if (this.spilledFrom < 0) {
      this.spilledFrom = this.total
      this.spillFd = openSync(join(this.dir, 'shared-strings.bin'), 'w+')
    }
    const bytes = Buffer.byteLength(value, 'utf8')
    if (this.groupStrings === 0 || this.groupStrings >= GROUP_STRINGS || this.groupBytes >= GROUP_BYTES) {
      this.groupFirst.push(this.total)
      this.groupOffset.push(this.fileBytes + this.pendingBytes)
      this.groupStrings = 0
      this.groupBytes = 0
    }
    if (this.pendingBytes + 4 + bytes > WRITE_BUFFER) this.flush()
    if (4 + bytes > WRITE_BUFFER) {
      const record = Buffer.allocUnsafe(4 + bytes)
      record.writeUInt32LE(bytes, 0)
      record.write(value, 4, 'utf8')
      this.write(record)
    } else {
      this.pending.writeUInt32LE(bytes, this.pendingBytes)
      this.pending.write(value, this.pendingBytes + 4, 'utf8')
      this.pendingBytes += 4 + bytes
    }
    this.groupStrings++
    this.groupBytes += 4 + bytes
    this.total++
  }

  /** After the last push: what is still buffered goes to the file. */
  finish(): void {
    this.flush()
  }

  /** The string at `index`; '' past the end (as a cell pointing nowhere reads). */
  get(index: number): string {
    if (!(index >= 0 && index < this.total) || !Number.isInteger(index)) return ''
    if (this.spilledFrom < 0 || index < this.spilledFrom) return this.memory[index] ?? ''
    const group = this.groupOf(index)
    let strings: string[]
    if (group === this.lastGroup && this.lastStrings) strings = this.lastStrings
    else {
      const cached = this.cache.get(group)
      if (cached) {
        this.cache.delete(group)
        this.cache.set(group, cached)
        strings = cached
      } else {
        strings = this.readGroup(group)
        this.cache.set(group, strings)
        if (this.cache.size > CACHED_GROUPS) this.cache.delete(this.cache.keys().next().value!)
      }
      this.lastGroup = group
      this.lastStrings = strings
    }
    return strings[index - this.groupFirst[group]!] ?? ''
  }

  close(): void {
    if (this.spillFd !== undefined) closeSync(this.spillFd)
    this.spillFd = undefined
    this.cache.clear()
    this.lastStrings = undefined
    this.memory.length = 0
  }

  private groupOf(index: number): number {
    if (this.lastGroup >= 0) {
      const first = this.groupFirst[this.lastGroup]!
      const next = this.groupFirst[this.lastGroup + 1] ?? this.total
      if (index >= first && index < next) return this.lastGroup
    }
    let lo = 0
    let hi = this.groupFirst.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (this.groupFirst[mid]! <= index) lo = mid
      else hi = mid - 1
    }
    return lo
  }

  private readGroup(group: number): string[] {
    const start = this.groupOffset[group]!
    const end = this.groupOffset[group + 1] ?? this.fileBytes
    const buffer = Buffer.allocUnsafe(end - start)
    let read = 0
    while (read < buffer.length) {
      const n = readSync(this.spillFd!, buffer, read, buffer.length - read, start + read)
      if (n === 0) throw new Error('the spilled shared strings file is shorter than written')
      read += n
    }
    const strings: string[] = []
    let at = 0
    while (at < buffer.length) {
      const length = buffer.readUInt32LE(at)
      strings.push(buffer.toString('utf8', at + 4, at + 4 + length))
      at += 4 + length
    }
    return strings
  }

  private flush(): void {
    if (this.pendingBytes === 0) return
    this.write(this.pending.subarray(0, this.pendingBytes))
    this.pendingBytes = 0
  }

  private write(bytes: Buffer): void {
    let written = 0
    while (written < bytes.length) {
      written += writeSync(this.spillFd!, bytes, written, bytes.length - written, this.fileBytes + written)
    }
    this.fileBytes += bytes.length
  }
}
