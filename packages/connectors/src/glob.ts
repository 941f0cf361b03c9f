import { posix } from 'node:path'
import { ConnectorError } from './errors'

/**
 * File name patterns: `*` any run of characters, `?` one character, `[abc]`/`[a-z]`/`[!abc]` a character class,
 * `{csv,txt}` alternatives; case-insensitive (suppliers change the case of their names). A pattern may start
 * with a directory without wildcards (`exports/catalog_*.csv`); the wildcards apply to the file name only.
 */
export function globToRegExp(pattern: string): RegExp {
  let source = ''
  let inBraces = 0
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!
    if (c === '*') {
      source += '[^/]*'
    } else if (c === '?') {
      source += '[^/]'
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 2)
      if (end === -1) {
        source += '\\['
        continue
      }
      let body = pattern.slice(i + 1, end)
      const negate = body.startsWith('!') || body.startsWith('^')
      if (negate) body = body.slice(1)
      source += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`
      i = end
    } else if (c === '{') {
      inBraces++
      source += '(?:'
    } else if (c === '}' && inBraces > 0) {
      inBraces--
      source += ')'
    } else if (c === ',' && inBraces > 0) {
      source += '|'
    } else {
      source += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
    }
  }
  if (inBraces > 0) throw new ConnectorError('BAD_CONFIG', `file pattern "${pattern}" has an unclosed "{"`)
  return new RegExp(`^${source}$`, 'i')
}

/**
 * A pattern split into the directory to list (relative, "" for the base) and the matcher of file names in it.
 * No pattern matches every file.
 */
export function splitPattern(pattern: string | undefined): { dir: string; match: (name: string) => boolean } {
  if (pattern === undefined || pattern.trim() === '') return { dir: '', match: () => true }
  const cleaned = pattern.trim().replace(/\\/g, '/')
  const slash = cleaned.lastIndexOf('/')
  const dir = slash === -1 ? '' : cleaned.slice(0, slash)
  if (/[*?[{]/.test(dir)) {
    throw new ConnectorError(
      'BAD_CONFIG',
      `file pattern "${pattern}": wildcards apply to file names only, not to directories`,
    )
  }
  const regex = globToRegExp(cleaned.slice(slash + 1))
  return { dir: safeRelativePath(dir, pattern), match: (name) => regex.test(name) }
}

/**
 * A relative path that cannot leave the directory it is relative to: no absolute path, no ".." segment, no
 * NUL byte. Answers the normalised form ("" for the directory itself).
 */
export function safeRelativePath(name: string, shown = name): string {
  const slashed = name.replace(/\\/g, '/')
  if (slashed.includes('\0')) throw new ConnectorError('OUTSIDE_ROOT', `"${shown}" contains a NUL byte`)
  if (slashed.startsWith('/') || /^[A-Za-z]:/.test(slashed)) {
    throw new ConnectorError(
      'OUTSIDE_ROOT',
      `"${shown}" is an absolute path; give a path relative to the root`,
    )
  }
  if (slashed.split('/').includes('..')) {
    throw new ConnectorError('OUTSIDE_ROOT', `"${shown}" goes up with ".."; paths stay inside the root`)
  }
  const normal = posix.normalize(slashed)
  return normal === '.' || normal === './' ? '' : normal.replace(/\/$/, '')
}

/** Newest first; files without a date last, then by name. */
export function newestFirst<T extends { name: string; modifiedAt?: Date }>(files: T[]): T[] {
  return files.sort((a, b) => {
    const ta = a.modifiedAt?.getTime() ?? Number.NEGATIVE_INFINITY
    const tb = b.modifiedAt?.getTime() ?? Number.NEGATIVE_INFINITY
    if (ta !== tb) return tb > ta ? 1 : -1
    return a.name < b.name ? -1 : a.name > b.name ? 1 : 0
  })
}
