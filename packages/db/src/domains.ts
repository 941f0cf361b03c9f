/** The seven domain databases, in the order services and ports use them (4001–4007). */
export const DOMAINS = ['core', 'catalog', 'imports', 'exports', 'media', 'code2asin', 'analytics'] as const
export type Domain = (typeof DOMAINS)[number]

/** Base pool size per database (docs/requirements.md#connection-pools). */
export const DEFAULT_POOL_SIZES: Readonly<Record<Domain, number>> = {
  core: 5,
  catalog: 20,
  imports: 15,
  exports: 10,
  media: 10,
  code2asin: 10,
  analytics: 10,
}

export function isDomain(value: string): value is Domain {
  return (DOMAINS as readonly string[]).includes(value)
}

export function databaseName(domain: Domain): string {
  return `db_${domain}`
}
