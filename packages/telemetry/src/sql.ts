/** Longest normalised statement text kept in a log line or a span. */
const MAX_STATEMENT_TEXT = 1_000

/**
 * A statement's shape without any value: string literals, numbers and parameter lists become `?`,
 * whitespace is collapsed. Statements built by Kysely carry their values as $n parameters already; this
 * also covers literals written into raw SQL.
 */
export function normalizeStatement(text: string): string {
  const normalized = text
    .replace(/\bE'(?:[^'\\]|\\.|'')*'/gi, '?')
    .replace(/'(?:[^']|'')*'/g, '?')
    .replace(/\$\$[\s\S]*?\$\$/g, '?')
    .replace(/(?<![\w$."])-?\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b/gi, '?')
    .replace(/\$\d+/g, '?')
    .replace(/\(\s*\?(?:\s*,\s*\?)+\s*\)/g, '(?, …)')
    .replace(/\s+/g, ' ')
    .trim()
  return normalized.length > MAX_STATEMENT_TEXT ? `${normalized.slice(0, MAX_STATEMENT_TEXT)}…` : normalized
}
