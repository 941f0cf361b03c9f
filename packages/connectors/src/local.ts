import { randomUUID } from 'node:crypto'
import { constants, createWriteStream } from 'node:fs'
import { type FileHandle, mkdir, open, readdir, realpath, rename, rm, stat } from 'node:fs/promises'
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { ConnectorError } from './errors'
import { newestFirst, safeRelativePath, splitPattern } from './glob'
import type { DestinationConnector, RemoteFile, SourceConnector } from './types'

function isInside(root: string, target: string): boolean {
  const rel = relative(root, target)
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel))
}

function notFound(name: string, cause?: unknown): ConnectorError {
  return new ConnectorError('NOT_FOUND', `"${name}" does not exist`, { cause })
}

/**
 * Files of a directory on this server. Every name is relative to `root` and stays inside it: absolute paths,
 * ".." and symbolic links that lead outside (checked on the real path of what is opened) are refused with
 * OUTSIDE_ROOT, and listings skip such links. `put` writes a temporary file and renames it into place.
 * `within`: a directory `root` itself must be inside (its real path), when `root` is a sub-directory of it.
 */
export function localPathSource(
  root: string,
  o: { within?: string } = {},
): SourceConnector & DestinationConnector {
  const base = resolve(root)
  let realBase: Promise<string> | undefined
  const baseReal = () => {
    realBase ??= (async () => {
      let real: string
      try {
        real = await realpath(base)
      } catch (error) {
        throw (error as NodeJS.ErrnoException).code === 'ENOENT'
          ? new ConnectorError('NOT_FOUND', `the directory ${base} does not exist`, { cause: error })
          : error
      }
      // A sub-directory of a configured root (a connection's path) must not be a link out of that root.
      if (o.within !== undefined && !isInside(await realpath(resolve(o.within)), real)) {
        throw new ConnectorError('OUTSIDE_ROOT', `${base} leads outside the import directory`)
      }
      return real
    })()
    realBase.catch(() => {
      realBase = undefined
    })
    return realBase
  }

  /** The real path of an existing name, checked to be inside the root; NOT_FOUND when it does not exist. */
  async function locate(name: string): Promise<string> {
    const rel = safeRelativePath(name)
    const real = await baseReal()
    let target: string
    try {
      target = await realpath(join(real, rel))
    } catch (error) {
      throw notFound(name, error)
    }
    if (!isInside(real, target)) {
      throw new ConnectorError('OUTSIDE_ROOT', `"${name}" leads outside the import directory`)
    }
    return target
  }

  return {
    async list(pattern) {
      const { dir, match } = splitPattern(pattern)
      const real = await baseReal()
      const directory = dir === '' ? real : await locate(dir)
      let entries: import('node:fs').Dirent[]
      try {
        entries = await readdir(directory, { withFileTypes: true })
      } catch (error) {
        throw notFound(dir || '.', error)
      }
      const files: RemoteFile[] = []
      for (const entry of entries) {
        if (!match(entry.name)) continue
        const full = join(directory, entry.name)
        if (entry.isSymbolicLink()) {
          const target = await realpath(full).catch(() => undefined)
          if (target === undefined || !isInside(real, target)) continue
        } else if (!entry.isFile()) {
          continue
        }
        const info = await stat(full).catch(() => undefined)
        if (!info?.isFile()) continue
        files.push({
          name: dir ? `${dir}/${entry.name}` : entry.name,
          size: info.size,
          modifiedAt: info.mtime,
        })
      }
      return newestFirst(files)
    },

    async get(name) {
      const target = await locate(name)
      let handle: FileHandle
      try {
        // O_NOFOLLOW: the real path has no link left; one swapped in since is refused, not followed.
        handle = await open(target, constants.O_RDONLY | constants.O_NOFOLLOW)
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code
        if (code === 'ELOOP') throw new ConnectorError('OUTSIDE_ROOT', `"${name}" changed into a link`)
        throw notFound(name, error)
      }
      const info = await handle.stat()
      if (!info.isFile()) {
        await handle.close()
        throw new ConnectorError('NOT_FOUND', `"${name}" is not a file`)
      }
      return handle.createReadStream({ autoClose: true }) as Readable
    },

    async put(name, body) {
      const rel = safeRelativePath(name)
      if (rel === '') throw new ConnectorError('BAD_CONFIG', 'a file name is required')
      const real = await baseReal()
      const parent = join(real, dirname(rel))
      await mkdir(parent, { recursive: true })
      const realParent = await realpath(parent)
      if (!isInside(real, realParent)) {
        throw new ConnectorError('OUTSIDE_ROOT', `"${name}" leads outside the import directory`)
      }
      const finalPath = join(realParent, rel.split('/').pop()!)
      const existing = await stat(finalPath).catch(() => undefined)
      if (existing && !existing.isFile()) throw new ConnectorError('BAD_CONFIG', `"${name}" is a directory`)
      const temporary = join(realParent, `.${randomUUID()}.part`)
      try {
        await pipeline(body, createWriteStream(temporary, { flags: 'wx' }))
        await rename(temporary, finalPath)
      } catch (error) {
        await rm(temporary, { force: true })
        throw error
      }
    },

    async close() {},
  }
}
