#!/usr/bin/env -S npx tsx
// `pnpm compose`: composes the seven subgraphs into gateway/supergraph.graphql.
//   --check          exit 1 when the checked-in file differs from a fresh composition (writes nothing)
//   --allow-missing  compose only the subgraphs whose schema.graphql exists (while they are being written)
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { DOMAINS } from '@pm/db'
import {
  composeSupergraph,
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

const contents = supergraphFileContents(result.supergraphSdl)
const path = SUPERGRAPH_FILE.pathname
if (args.has('--check')) {
  const current = existsSync(SUPERGRAPH_FILE) ? readFileSync(SUPERGRAPH_FILE, 'utf8') : ''
  if (current !== contents) {
    console.error(`${path} is out of date: run \`pnpm compose\``)
    process.exit(1)
  }
  console.log(`${path} is current (${domains.join(', ')})`)
} else {
  writeFileSync(SUPERGRAPH_FILE, contents)
  console.log(`wrote ${path}: ${domains.join(', ')}`)
}
if (missing.length > 0) console.warn(`warning: left out ${missing.join(', ')} (no schema.graphql yet)`)
