import { createRequire } from 'node:module'
import {
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type GraphQLType,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isIntrospectionType,
  isObjectType,
  isScalarType,
  isSpecifiedScalarType,
  isUnionType,
  printSchema,
} from 'graphql'
import { gateIndex, inputGateIndex, MODULE_GATES } from './modules'

/**
 * The contract partners read: the public (API) schema of the supergraph — what the gateway serves, without
 * federation's join/link machinery and without @inaccessible service-to-service fields — as SDL and as one
 * self-contained HTML page. `pnpm docs` writes both under docs/api; a test fails when they are out of date.
 */
export const API_REFERENCE_DIR = new URL('../../docs/api/', import.meta.url)

const fromGateway = createRequire(createRequire(import.meta.url).resolve('@apollo/gateway'))
const { Supergraph } = fromGateway('@apollo/federation-internals') as {
  Supergraph: { build(sdl: string): { apiSchema(): { toGraphQLJSSchema(): GraphQLSchema } } }
}

export function apiSchemaOf(supergraphSdl: string): GraphQLSchema {
  return Supergraph.build(supergraphSdl).apiSchema().toGraphQLJSSchema()
}

export function apiSchemaSdl(schema: GraphQLSchema): string {
  return `# The public GraphQL schema of the products platform, generated from gateway/supergraph.graphql by
# \`pnpm docs\` (do not edit). Browsable: docs/api/index.html.\n\n${printSchema(schema)}\n`
}

const html = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  )

/** Descriptions are Markdown-ish prose: paragraphs kept, `code` spans shown as code. */
function prose(description: string | null | undefined): string {
  if (!description) return ''
  return description
    .trim()
    .split(/\n\s*\n/)
    .map((p) => `<p>${html(p).replace(/`([^`]+)`/g, '<code>$1</code>')}</p>`)
    .join('')
}

function typeRef(type: GraphQLType): string {
  const named = getNamedType(type)
  const text = html(String(type))
  return text.replace(html(named.name), `<a href="#${named.name}">${html(named.name)}</a>`)
}

function defaultValue(arg: GraphQLArgument | GraphQLInputField): string {
  if (arg.defaultValue === undefined) return ''
  return ` = <code>${html(JSON.stringify(arg.defaultValue))}</code>`
}

function argumentsList(args: readonly GraphQLArgument[]): string {
  if (args.length === 0) return ''
  const items = args
    .map(
      (a) =>
        `<li><code>${html(a.name)}: ${typeRef(a.type)}</code>${defaultValue(a)}${a.deprecationReason ? ' <em>deprecated</em>' : ''}${prose(a.description)}</li>`,
    )
    .join('')
  return `<ul class="args">${items}</ul>`
}

/** Coordinate ("Type", "Type.field", "InputType.field") → the modules it belongs to (the gateway's gate). */
export type ModuleIndex = ReadonlyMap<string, readonly string[]>

/** The gateway's module map (generated from the schemas' @module directives) as a ModuleIndex. */
export function apiModuleIndex(): ModuleIndex {
  return new Map([...gateIndex(MODULE_GATES), ...inputGateIndex(MODULE_GATES)])
}

/** Which module a type or field needs: a partner then knows what MODULE_DISABLED refers to. */
function moduleNote(modules: ModuleIndex, coordinate: string): string {
  const ids = modules.get(coordinate)
  if (!ids?.length) return ''
  const names = ids.map((id) => `<code>${html(id)}</code>`).join(', ')
  return `<p class="module">Module ${names}: refused with <code>MODULE_DISABLED</code> while switched off.</p>`
}

function field(
  f: GraphQLField<unknown, unknown> | GraphQLInputField,
  parent: string,
  modules: ModuleIndex,
): string {
  const args = 'args' in f ? argumentsList(f.args) : ''
  const deprecated = f.deprecationReason
    ? `<p class="deprecated">Deprecated: ${html(f.deprecationReason)}</p>`
    : ''
  const dflt = 'args' in f ? '' : defaultValue(f)
  return `<dt id="${'args' in f ? '' : 'input-'}${html(f.name)}"><code>${html(f.name)}: ${typeRef(f.type)}</code>${dflt}</dt><dd>${prose(f.description)}${moduleNote(modules, `${parent}.${f.name}`)}${deprecated}${args}</dd>`
}

function kindOf(type: GraphQLNamedType): string {
  if (isObjectType(type)) return 'type'
  if (isInterfaceType(type)) return 'interface'
  if (isUnionType(type)) return 'union'
  if (isEnumType(type)) return 'enum'
  if (isInputObjectType(type)) return 'input'
  return 'scalar'
}

function section(type: GraphQLNamedType, modules: ModuleIndex): string {
  let body = ''
  if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
    const fields = Object.values(type.getFields()) as (GraphQLField<unknown, unknown> | GraphQLInputField)[]
    body = `<dl>${fields.map((f) => field(f, type.name, modules)).join('')}</dl>`
  } else if (isEnumType(type)) {
    body = `<dl>${type
      .getValues()
      .map((v) => `<dt><code>${html(v.name)}</code></dt><dd>${prose(v.description)}</dd>`)
      .join('')}</dl>`
  } else if (isUnionType(type)) {
    body = `<p>One of: ${type
      .getTypes()
      .map((t) => `<a href="#${t.name}">${html(t.name)}</a>`)
      .join(', ')}</p>`
  } else if (isScalarType(type) && type.specifiedByURL) {
    body = `<p>Specified by <a href="${html(type.specifiedByURL)}">${html(type.specifiedByURL)}</a></p>`
  }
  return `<section id="${type.name}"><h2><span class="kind">${kindOf(type)}</span> ${html(type.name)}</h2>${prose(type.description)}${moduleNote(modules, type.name)}${body}</section>`
}

export function apiReferenceHtml(schema: GraphQLSchema, modules: ModuleIndex = new Map()): string {
  const roots = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].filter(
    (t): t is NonNullable<typeof t> => t != null,
  )
  const rootNames = new Set(roots.map((t) => t.name))
  const others = Object.values(schema.getTypeMap())
    .filter((t) => !isIntrospectionType(t) && !isSpecifiedScalarType(t) && !rootNames.has(t.name))
    .sort((a, b) => a.name.localeCompare(b.name))
  const all = [...roots, ...others]
  const nav = all.map((t) => `<li><a href="#${t.name}">${html(t.name)}</a></li>`).join('')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Products platform GraphQL API reference</title>
<style>
body{margin:0;font:15px/1.5 system-ui,sans-serif;color:#1d232a;display:flex}
nav{position:sticky;top:0;height:100vh;overflow:auto;width:17rem;flex:none;border-right:1px solid #dde;padding:1rem;box-sizing:border-box;background:#f7f8fa}
nav ul{list-style:none;padding:0;margin:0}nav li{margin:.1rem 0}
main{padding:1rem 2rem;max-width:60rem}
section{border-bottom:1px solid #eee;padding:.5rem 0 1rem}
h2{font-size:1.2rem;margin:.8rem 0 .3rem}.kind{color:#7a8594;font-weight:400;font-size:.9rem}
dt{margin-top:.6rem}dd{margin-left:1.2rem}dd p,section>p{margin:.2rem 0}
code{font:13px/1.4 ui-monospace,monospace;background:#f1f3f5;padding:0 .2rem;border-radius:3px}
.args{margin:.2rem 0;padding-left:1.2rem;font-size:.95em}.deprecated{color:#a33}.module{color:#6a4b00}
a{color:#2458b3;text-decoration:none}a:hover{text-decoration:underline}
</style>
</head>
<body>
<nav><strong>Types</strong><ul>${nav}</ul></nav>
<main>
<h1>Products platform GraphQL API</h1>
<p>The public schema the gateway serves at <code>/graphql</code> (POST JSON, or GET for queries). Generated from
the supergraph by <code>pnpm docs</code>; the SDL is in <a href="schema.graphql">schema.graphql</a>.</p>
${all.map((t) => section(t, modules)).join('\n')}
</main>
</body>
</html>
`
}
