import { createHash, randomUUID } from 'node:crypto'
import { constants, createReadStream, createWriteStream } from 'node:fs'
import {
  copyFile,
  link,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises'
import { dirname, join, resolve, sep } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { checkKey, checkMetadata, checkPrefix } from './keys'
import { Meter, toReadable } from './meter'
import { signedFileUrl } from './signing'
import {
  type ObjectInfo,
  type PutOptions,
  type Storage,
  StorageLimitError,
  StorageNotFoundError,
  type UrlOptions,
} from './types'

export interface LocalStorageOptions {
  /** The directory holding everything (objects/, meta/, tmp/ under it). */
  dir: string
  /** Base of download URLs (the gateway's public address). */
  publicUrl: string
  /** Signs download URLs; storageDownloadHandler verifies with the same. */
  urlSecret?: string
}

interface Sidecar {
  contentType?: string
  sha256: string
  size: number
  metadata: Record<string, string>
}

const isMissing = (error: unknown) => {
  const code = (error as NodeJS.ErrnoException | null)?.code
  return code === 'ENOENT' || code === 'ENOTDIR'
}

/** A hard link the file system refuses (another device, no hard links there): the bytes are copied instead. */
const noHardLink = (error: unknown) =>
  ['EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK'].includes(
    (error as NodeJS.ErrnoException | null)?.code ?? '',
  )

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/**
 * Objects as files under `<dir>/objects/<key>`, their content type, SHA-256 and metadata in
 * `<dir>/meta/<key>.json`. A put writes to `<dir>/tmp/` and renames into place: readers see the old
 * object or the new one, never a part; a failed or oversized put leaves nothing.
 */
export class LocalStorage implements Storage {
  readonly driver = 'local' as const
  readonly dir: string
  private readonly objects: string
  private readonly meta: string
  private readonly tmp: string

  constructor(readonly options: LocalStorageOptions) {
    this.dir = resolve(options.dir)
    this.objects = join(this.dir, 'objects')
    this.meta = join(this.dir, 'meta')
    this.tmp = join(this.dir, 'tmp')
  }

  get urlSecret(): string | undefined {
    return this.options.urlSecret
  }

  private objectPath(key: string): string {
    const path = join(this.objects, ...checkKey(key).split('/'))
    // checkKey already refuses "..": this is the belt to its braces.
    if (!path.startsWith(this.objects + sep))
      throw new Error(`key "${key}" resolves outside the storage directory`)
    return path
  }

  private metaPath(key: string): string {
    return join(this.meta, `${join(...checkKey(key).split('/'))}.json`)
  }

  /** Directories made (or found) by this instance: each is created once, not on every put. */
  private readonly made = new Set<string>()

  private async ensureDir(dir: string): Promise<void> {
    if (this.made.has(dir)) return
    await mkdir(dir, { recursive: true })
    this.made.add(dir)
  }

  /**
   * Moves the written temporary files into place. A directory removed behind this instance's back (by hand,
   * by a test) is made again once.
   */
  private async publish(tmpData: string, tmpMeta: string, target: string, metaTarget: string) {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.ensureDir(dirname(target))
        await this.ensureDir(dirname(metaTarget))
        await rename(tmpData, target)
        await rename(tmpMeta, metaTarget)
        return
      } catch (error) {
        if (attempt > 0 || !isMissing(error)) throw error
        this.made.clear()
      }
    }
  }

  /** `write` into a new temporary file; tried again once if the temporary directory went (not for a stream). */
  private async writeTemporary(
    write: (tmpData: string) => Promise<void>,
    retryable: boolean,
  ): Promise<string> {
    const tmpData = join(this.tmp, randomUUID())
    for (let attempt = 0; ; attempt++) {
      try {
        // A stream cannot be read again: its temporary directory is made sure of every time.
        if (retryable) await this.ensureDir(this.tmp)
        else await mkdir(this.tmp, { recursive: true })
        await write(tmpData)
        return tmpData
      } catch (error) {
        await rm(tmpData, { force: true })
        if (!isMissing(error)) throw error
        this.made.clear()
        if (attempt > 0 || !retryable) throw error
      }
    }
  }

  private async store(
    key: string,
    write: (tmpData: string) => Promise<{ sha256: string; size: number }>,
    opts: Omit<PutOptions, 'maxBytes'>,
    retryable = true,
  ): Promise<ObjectInfo & { sha256: string }> {
    const target = this.objectPath(key)
    const metaTarget = this.metaPath(key)
    const metadata = checkMetadata(opts.metadata)
    let written: { sha256: string; size: number } | undefined
    const tmpData = await this.writeTemporary(async (path) => {
      written = await write(path)
    }, retryable)
    const tmpMeta = `${tmpData}.json`
    const { sha256, size } = written!
    try {
      const sidecar: Sidecar = {
        ...(opts.contentType ? { contentType: opts.contentType } : {}),
        sha256,
        size,
        metadata,
      }
      await writeFile(tmpMeta, JSON.stringify(sidecar), { flag: 'wx' })
      await this.publish(tmpData, tmpMeta, target, metaTarget)
    } catch (error) {
      await Promise.all([rm(tmpData, { force: true }), rm(tmpMeta, { force: true })])
      throw error
    }
    return {
      key,
      size,
      sha256,
      lastModified: new Date(),
      metadata,
      ...(opts.contentType ? { contentType: opts.contentType } : {}),
    }
  }

  async put(
    key: string,
    body: Readable | Buffer | string,
    opts: PutOptions = {},
  ): Promise<ObjectInfo & { sha256: string }> {
    if (typeof body === 'string' || Buffer.isBuffer(body)) {
      // Bytes already in memory: hashed and written as they are, without a stream or a copy.
      const bytes = typeof body === 'string' ? Buffer.from(body) : body
      if (opts.maxBytes !== undefined && bytes.length > opts.maxBytes)
        throw new StorageLimitError(opts.maxBytes)
      return this.store(
        key,
        async (tmpData) => {
          await writeFile(tmpData, bytes, { flag: 'wx', flush: true })
          return { sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length }
        },
        opts,
      )
    }
    return this.store(
      key,
      async (tmpData) => {
        const meter = new Meter(opts.maxBytes)
        await pipeline(toReadable(body), meter, createWriteStream(tmpData, { flags: 'wx', flush: true }))
        return { sha256: meter.sha256(), size: meter.bytes }
      },
      opts,
      false,
    )
  }

  async copy(
    from: string,
    to: string,
    opts: Omit<PutOptions, 'maxBytes'> = {},
  ): Promise<ObjectInfo & { sha256: string }> {
    const source = this.objectPath(from)
    const sourceMeta = this.metaPath(from)
    return this.store(
      to,
      async (tmpData) => {
        try {
          await link(source, tmpData)
        } catch (error) {
          if (isMissing(error) && !(await stat(this.tmp).catch(() => null))) throw error // the temporary directory went: made again by writeTemporary
          if (isMissing(error) || (error as NodeJS.ErrnoException).code === 'EISDIR')
            throw new StorageNotFoundError(from)
          if (!noHardLink(error)) throw error
          await copyFile(source, tmpData, constants.COPYFILE_EXCL).catch((e) => {
            throw isMissing(e) ? new StorageNotFoundError(from) : e
          })
        }
        // The linked file is the one published: its size, and the source's SHA-256 when the sidecar
        // describes these bytes (a put of `from` meanwhile would not), else hashed.
        const { size } = await stat(tmpData)
        let sidecar: Partial<Sidecar> = {}
        try {
          sidecar = JSON.parse(await readFile(sourceMeta, 'utf8')) as Sidecar
        } catch (error) {
          if (!isMissing(error)) throw error
        }
        const known = sidecar.sha256 && sidecar.size === size ? sidecar.sha256 : undefined
        return { sha256: known ?? (await sha256OfFile(tmpData)), size }
      },
      opts,
    )
  }

  async get(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    const path = this.objectPath(key)
    try {
      const info = await stat(path)
      if (!info.isFile()) throw new StorageNotFoundError(key)
    } catch (error) {
      if (isMissing(error)) throw new StorageNotFoundError(key)
      throw error
    }
    return createReadStream(
      path,
      range ? { start: range.start, ...(range.end !== undefined ? { end: range.end } : {}) } : {},
    )
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const path = this.objectPath(key)
    let info: Awaited<ReturnType<typeof stat>>
    try {
      info = await stat(path)
    } catch (error) {
      if (isMissing(error)) return null
      throw error
    }
    if (!info.isFile()) return null
    let sidecar: Partial<Sidecar> = {}
    try {
      sidecar = JSON.parse(await readFile(this.metaPath(key), 'utf8')) as Sidecar
    } catch (error) {
      if (!isMissing(error)) throw error
    }
    return {
      key,
      size: info.size,
      lastModified: info.mtime,
      metadata: sidecar.metadata ?? {},
      ...(sidecar.contentType ? { contentType: sidecar.contentType } : {}),
      // Only when it describes this file (a sidecar from an earlier version of the object would not).
      ...(sidecar.sha256 && sidecar.size === info.size ? { sha256: sidecar.sha256 } : {}),
    }
  }

  async delete(key: string): Promise<void> {
    for (const path of [this.objectPath(key), this.metaPath(key)]) {
      try {
        await unlink(path)
      } catch (error) {
        if (!isMissing(error) && (error as NodeJS.ErrnoException).code !== 'EISDIR') throw error
      }
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    checkPrefix(prefix)
    // Start from the deepest directory the prefix names.
    const slash = prefix.lastIndexOf('/')
    const base = slash >= 0 ? prefix.slice(0, slash) : ''
    yield* this.walk(base, prefix)
  }

  private async *walk(dirKey: string, prefix: string): AsyncIterable<ObjectInfo> {
    const dir = dirKey ? join(this.objects, ...dirKey.split('/')) : this.objects
    let entries: import('node:fs').Dirent[]
    try {
      entries = await readdir(dir, { withFileTypes: true })
    } catch (error) {
      if (isMissing(error)) return
      throw error
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    for (const entry of entries) {
      const key = dirKey ? `${dirKey}/${entry.name}` : entry.name
      if (entry.isDirectory()) {
        if (`${key}/`.startsWith(prefix) || prefix.startsWith(`${key}/`)) yield* this.walk(key, prefix)
      } else if (entry.isFile() && key.startsWith(prefix)) {
        try {
          const info = await stat(join(dir, entry.name))
          yield { key, size: info.size, lastModified: info.mtime, metadata: {} }
        } catch (error) {
          if (!isMissing(error)) throw error
        }
      }
    }
  }

  async url(key: string, opts?: UrlOptions): Promise<string> {
    return signedFileUrl(this.options.publicUrl, this.options.urlSecret, checkKey(key), opts)
  }
}
