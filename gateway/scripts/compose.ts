#!/usr/bin/env -S npx tsx
// `pnpm compose`: composes the seven subgraphs into gateway/supergraph.graphql, and collects their @module
// directives into gateway/src/generated/module-gates.ts (the modules gate) and their @cacheScope directives into
// gateway/src/generated/cache-scopes.ts (the fetch cache).
//   --check          exit 1 when the checked-in file differs from a fresh composition (writes nothing)
//   --allow-missing  compose only the subgraphs whose schema.graphql exists (while they are being written)
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { DOMAINS } from '@pm/db'
import {
  CACHE_SCOPES_FILE,
  cacheScopesFileContents,
  collectCacheScopes,
  collectModuleGates,
  composeSupergraph,
  MODULE_GATES_FILE,
  moduleGatesFileContents,
  SUPERGRAPH_FILE,
  subgraphSchemaFile,
  supergraphFileContents,
} from '../src/compose'

const args = new Set(process.argv.slice(2))
const domains = args.has('--allow-missing')
  ? DOMAINS.filter((d) => existsSync(subgraphSchemaFile(d)))
  : DOMAINS
const missing = DOMAINS.filter((d) => !domains.includes(d))

const result = composeSupergraph(domains)
if (!result.ok) {
  console.error(`composition of ${result.domains.join(', ')} failed with ${result.errors.length} error(s):\n`)
  for (const error of result.errors) console.error(`  ✗ ${error.replaceAll('\n', '\n    ')}\n`)
  process.exit(1)
}
for (const hint of result.hints) console.log(`  hint ${hint.split('\n')[0]}`)

const modules = collectModuleGates(domains)
if (!modules.ok) {
  console.error(`the @module directives of ${domains.join(', ')} have ${modules.errors.length} error(s):\n`)
  for (const error of modules.errors) console.error(`  ✗ ${error}\n`)
  process.exit(1)
}

const outputs: [URL, string][] = [
  [SUPERGRAPH_FILE, supergraphFileContents(result.supergraphSdl)],
  [MODULE_GATES_FILE, moduleGatesFileContents(modules.gates)],
  [CACHE_SCOPES_FILE, cacheScopesFileContents(collectCacheScopes(domains))],
]
let stale = false
for (const [file, contents] of outputs) {
  if (args.has('--check')) {
    const current = existsSync(file) ? readFileSync(file, 'utf8') : ''
    if (current !== contents) {
      console.error(`${file.pathname} is out of date: run \`pnpm compose\``)
      stale = true
    } else console.log(`${file.pathname} is current (${domains.join(', ')})`)
  } else {
    writeFileSync(file, contents)
    console.log(`wrote ${file.pathname}: ${domains.join(', ')}`)
  }
}
if (missing.length > 0) console.warn(`warning: left out ${missing.join(', ')} (no schema.graphql yet)`)
if (stale) process.exit(1)
