// The resolver types of each subgraph, generated from its schema.graphql by graphql-codegen (typescript and
// typescript-resolvers, federation on): subgraphs/<domain>/src/generated/graphql.ts. `pnpm codegen` writes them;
// gateway/test/resolver-types.test.ts fails when a committed file differs from a fresh generation.
import { generate } from '@graphql-codegen/cli'
import { DOMAINS, type Domain } from '@pm/db'
import { readSubgraphSdl } from '@pm/service-kit'
import { type DocumentNode, type FieldDefinitionNode, Kind, parse, type TypeNode } from 'graphql'

export const resolverTypesFile = (domain: Domain): URL =>
  new URL(`../../subgraphs/${domain}/src/generated/graphql.ts`, import.meta.url)

const schemaFile = (domain: Domain): URL =>
  new URL(`../../subgraphs/${domain}/src/schema.graphql`, import.meta.url)

/** A reference to an entity another subgraph owns, by its @key: what this subgraph's resolvers receive. */
const ID_REF = '@pm/service-kit#EntityRef'

/**
 * Per subgraph: the parent type each object type's resolvers really receive (the mapper, relative to the
 * generated file), so that a resolver returning a row or a model is checked against it. Types left out are
 * returned as objects of their GraphQL shape.
 */
const MAPPERS: Record<Domain, Record<string, string>> = {
  analytics: {
    Report: '../db/mappers#Report',
    AuditLog: '../db/mappers#AuditLog',
    AiUsageLog: '../db/mappers#AiUsageLog',
    AiUsageSummary: '../db/mappers#AiUsageSummary',
    MetricRun: '../db/mappers#MetricRun',
    ImportMetric: '../db/mappers#ImportMetric',
    ProductMetric: '../db/mappers#ProductMetric',
    SupplierMetric: '../db/mappers#SupplierMetric',
    SupplierImportMetric: '../db/mappers#SupplierImportMetric',
    CatalogMetric: '../db/mappers#CatalogMetric',
    Product: ID_REF,
    Supplier: ID_REF,
  },
  catalog: {
    Product: '../db/mappers#Product',
    Supplier: '../db/mappers#Supplier',
    SupplierDetails: '../db/mappers#SupplierDetails',
    Brand: '../db/mappers#Brand',
    Category: '../db/mappers#Category',
    ProductPrice: '../db/mappers#ProductPrice',
    ProductStock: '../db/mappers#ProductStock',
    ProductVariant: '../db/mappers#ProductVariant',
    PriceHistoryEntry: '../db/mappers#PriceHistoryEntry',
    StockHistoryEntry: '../db/mappers#StockHistoryEntry',
    EanResolution: '../db/mappers#EanResolution',
    ProductCompleteness: '../completeness#CompletenessRow',
    CompletenessSummaryRow: '../completeness#CompletenessSummary',
    ProductUpsertResult: '../mutations/upsert#UpsertResult',
    ProductUpsertRowResult: '../mutations/upsert#UpsertRowResult',
  },
  code2asin: {
    Code2AsinJob: '../db/mappers#Code2AsinJob',
    Code2AsinResult: '../db/mappers#Code2AsinResult',
    Product: ID_REF,
  },
  core: {
    User: '../db/mappers#User',
    Role: '../db/mappers#Role',
    Permission: '../db/mappers#Permission',
    Notification: '../db/mappers#Notification',
    AppSetting: '../db/mappers#AppSetting',
    ApiKey: '../db/mappers#ApiKey',
    OperationRun: '../operations/runs#OperationRun',
    DatabaseHealth: '../operations/runs#DatabaseHealthReport',
    ReferenceIntegrity: '../operations/runs#ReferenceIntegrityResult',
  },
  exports: {
    ExportPlatform: '../db/mappers#ExportPlatform',
    ExportJob: '../db/mappers#ExportJob',
    ExportJobItem: '../db/mappers#ExportJobItem',
    Product: ID_REF,
  },
  imports: {
    ImportJob: '../db/mappers#ImportJob',
    ImportConfig: '../db/mappers#ImportConfig',
    ImportSchedule: '../db/mappers#ImportSchedule',
    MappingTemplate: '../db/mappers#MappingTemplate',
    ImportLog: '../db/mappers#ImportLog',
    ImportError: '../db/mappers#ImportError',
    ImportFile: '../db/mappers#ImportFile',
    ImportStatistics: '../db/mappers#ImportStatistics',
    Supplier: '@pm/service-kit#SupplierCodeRef',
  },
  media: {
    MediaFile: '../db/mappers#MediaFile',
    MediaThumbnail: '../db/mappers#MediaThumbnail',
    Product: '../resolvers/Product#ProductRef',
  },
}

/**
 * What the shared scalars (packages/service-kit/src/scalars.ts) hand resolvers (input) and accept from them
 * (output): DateTime parses to a Date and serializes a Date or an RFC 3339 string (timestamp columns arrive as
 * Date), SafeInt serializes numbers and the strings BIGINT columns arrive as.
 */
const SCALARS = {
  UUID: 'string',
  DateTime: { input: 'Date', output: 'Date | string' },
  LocalDate: 'string',
  JSON: 'unknown',
  JSONObject: { input: 'Record<string, unknown>', output: 'object' },
  EmailAddress: 'string',
  SafeInt: { input: 'number', output: 'number | string' },
  Decimal: 'string',
  _FieldSet: 'string',
}

/**
 * Enums whose resolver maps GraphQL values to internal ones (enumValues, "path#Type" of a TS enum or an
 * object of value → internal value): resolvers then receive and return the internal values.
 */
const ENUM_VALUES: Partial<Record<Domain, Record<string, string | Record<string, string>>>> = {}

const HEADER = (domain: Domain) =>
  `// Generated by \`pnpm codegen\` from subgraphs/${domain}/src/schema.graphql (graphql-codegen). Do not edit.\n`

/** The generated resolver types of one subgraph, as committed in its src/generated/graphql.ts. */
export async function generateResolverTypes(domain: Domain): Promise<string> {
  const sdl = readSubgraphSdl(schemaFile(domain))
  const mappers = mappersOf(domain, parse(sdl))
  const [output] = await generate(
    {
      schema: sdl,
      silent: true,
      generates: {
        [`subgraphs/${domain}/src/generated/graphql.ts`]: {
          plugins: ['typescript', 'typescript-resolvers'],
          config: {
            federation: true,
            useTypeImports: true,
            useIndexSignature: false,
            contextType: '../context#Context',
            mappers,
            mapperTypeSuffix: 'Model',
            scalars: SCALARS,
            strictScalars: true,
            enumsAsTypes: true,
            // An input field with a default value always reaches the resolver.
            avoidOptionals: { defaultValue: true },
            ...(ENUM_VALUES[domain] ? { enumValues: ENUM_VALUES[domain] } : {}),
          },
        },
      },
    },
    false,
  )
  if (!output) throw new Error(`graphql-codegen wrote nothing for ${domain}`)
  const completeness = "import type { CompleteResolvers } from '@pm/service-kit';\n"
  return `${HEADER(domain)}${completeness}${output.content.trim()}\n${completenessTypes(mappers)}`
}

const unwrap = (type: TypeNode): string =>
  type.kind === Kind.NAMED_TYPE ? type.name.value : unwrap(type.type)

/**
 * The mappers of one subgraph: MAPPERS, and each XConnection (edges { cursor node }) mapped to the
 * Connection<T> paginate and mapConnection return, whose totalCount is counted only when asked.
 */
function mappersOf(domain: Domain, document: DocumentNode): Record<string, string> {
  const objects = new Map<string, readonly FieldDefinitionNode[]>()
  for (const d of document.definitions) {
    if (d.kind === Kind.OBJECT_TYPE_DEFINITION || d.kind === Kind.OBJECT_TYPE_EXTENSION) {
      objects.set(d.name.value, [...(objects.get(d.name.value) ?? []), ...(d.fields ?? [])])
    }
  }
  const field = (type: string, name: string) => objects.get(type)?.find((f) => f.name.value === name)
  const mappers: Record<string, string> = {}
  for (const [name, mapper] of Object.entries(MAPPERS[domain])) if (objects.has(name)) mappers[name] = mapper
  for (const name of objects.keys()) {
    const edges = field(name, 'edges')
    const node = edges && field(unwrap(edges.type), 'node')
    if (!name.endsWith('Connection') || !node) continue
    mappers[name] = `@pm/service-kit#Connection<ResolversParentTypes['${unwrap(node.type)}']>`
  }
  return mappers
}

/**
 * MappedTypes (each mapped object type: its GraphQL shape, the parent type its resolvers receive) and
 * SubgraphResolvers, the resolver map in which a field its parent type lacks must have a resolver.
 */
function completenessTypes(mappers: Record<string, string>): string {
  // graphql-codegen imports each mapper type as <Type>Model (mapperTypeSuffix), generic arguments kept.
  const mapped = Object.entries(mappers).map(([name, mapper]) => {
    const [, type = '', generic = ''] = /#(\w+)(.*)$/.exec(mapper) ?? []
    return `  ${name}: [${name}, ${type}Model${generic}];`
  })
  return [
    '',
    '/** Each mapped object type: its GraphQL shape and the parent type its resolvers receive. */',
    'export type MappedTypes = {',
    ...mapped,
    '};',
    '',
    '/** The resolver map: every field a mapped parent type does not carry has a resolver. */',
    'export type SubgraphResolvers = CompleteResolvers<Resolvers, MappedTypes>;',
    '',
  ].join('\n')
}

export { DOMAINS }
