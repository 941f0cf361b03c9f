import {
  type GraphQLArgument,
  type GraphQLInputField,
  type GraphQLInputType,
  type GraphQLSchema,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
} from 'graphql'

/**
 * products.status (catalog's), also taken by exports' selection: the enum ProductStatus of both subgraphs.
 */
export const PRODUCT_STATUSES = [
  'active',
  'out_of_stock',
  'draft',
  'inactive',
  'discontinued',
  'archived',
] as const

/** Where a file's bytes are: the enum StorageType of imports and media (minio from older rows). */
export const STORAGE_TYPES = ['minio', 's3', 'local'] as const

/** The life of a background job (imports, exports, code2asin, reports): pending → running → a final one. */
export const JOB_STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const

/**
 * The internal values of a GraphQL enum whose names are its stored values upper-cased ('out_of_stock' is
 * OUT_OF_STOCK): resolvers and SQL keep the stored values, the API shows the names.
 */
export function enumValues<T extends string>(stored: readonly T[]): Record<Uppercase<T>, T> {
  return Object.fromEntries(stored.map((value) => [value.toUpperCase(), value])) as Record<Uppercase<T>, T>
}

/**
 * Throws when a resolver map's enum values and the schema's enum differ: a name the schema lacks would be
 * ignored, and a name the map lacks would reach SQL as the name itself.
 */
export function checkEnumResolvers(schema: GraphQLSchema, resolvers: Record<string, unknown>): void {
  for (const [name, map] of Object.entries(resolvers)) {
    const type = schema.getType(name)
    if (!isEnumType(type)) continue
    const declared = type.getValues().map((v) => v.name)
    const mapped = Object.keys(map as object)
    const missing = declared.filter((v) => !mapped.includes(v))
    const extra = mapped.filter((v) => !declared.includes(v))
    if (missing.length > 0 || extra.length > 0) {
      throw new Error(
        `enum ${name}: values without a stored value: ${missing.join(', ') || 'none'}; stored values without an enum value: ${extra.join(', ') || 'none'}`,
      )
    }
  }
}

/**
 * Gives enum defaults of arguments and input fields their stored value (`type: NotificationType = INFO` gives
 * resolvers 'info'), inside lists and input objects too. The schema is built from the SDL before the enum maps
 * apply, so its defaults still hold the names: without this a resolver would get INFO when the caller gives
 * nothing and info otherwise.
 */
export function applyEnumDefaults(schema: GraphQLSchema): void {
  const stored = (value: unknown, type: GraphQLInputType): unknown => {
    if (value === null || value === undefined) return value
    const inner = isNonNullType(type) ? type.ofType : type
    if (isListType(inner)) {
      return Array.isArray(value) ? value.map((v) => stored(v, inner.ofType)) : stored(value, inner.ofType)
    }
    if (isEnumType(inner)) return typeof value === 'string' ? (inner.getValue(value)?.value ?? value) : value
    if (isInputObjectType(inner) && typeof value === 'object') {
      const fields = inner.getFields()
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, fields[k] ? stored(v, fields[k].type) : v]),
      )
    }
    return value
  }
  const fix = (input: GraphQLArgument | GraphQLInputField) => {
    if (input.defaultValue !== undefined) input.defaultValue = stored(input.defaultValue, input.type)
  }
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__')) continue
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) for (const arg of field.args) fix(arg)
    } else if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) fix(field)
    }
  }
}
