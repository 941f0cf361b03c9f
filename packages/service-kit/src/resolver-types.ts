// Shared pieces of the generated resolver types (subgraphs/<domain>/src/generated/graphql.ts, `pnpm codegen`).

/** An entity another subgraph owns, as this one receives and returns it: its @key id. */
export interface EntityRef {
  id: string
}

/** A supplier as imports knows it: by its @key code (catalog owns suppliers). */
export interface SupplierCodeRef {
  code: string
}

/** The fields of GraphQL object type G that its parent (mapper) type P does not carry. */
type UnmappedFields<G, P> = Exclude<keyof G, keyof P | '__typename'>

/**
 * A resolver map in which each mapped object type (M: type name → [GraphQL shape, parent type]) has a resolver
 * for every field its parent type lacks: without one, the default resolver would answer null or fail on the
 * non-null field. Fields the parent type carries may still have a resolver.
 */
export type CompleteResolvers<R, M extends Record<string, [unknown, unknown]>> = R & {
  [T in keyof M & keyof R as [UnmappedFields<M[T][0], M[T][1]>] extends [never] ? never : T]-?: {
    [F in UnmappedFields<M[T][0], M[T][1]> & keyof NonNullable<R[T]>]-?: NonNullable<NonNullable<R[T]>[F]>
  }
}
