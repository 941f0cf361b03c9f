import type { Domain } from './domains'

// Replaced by the generated per-domain types once the migrations land.
// biome-ignore lint/suspicious/noExplicitAny: temporary
export type DatabaseOf<_D extends Domain> = any
