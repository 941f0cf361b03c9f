#!/usr/bin/env -S npx tsx
// `pnpm codegen`: regenerates each subgraph's resolver types, subgraphs/<domain>/src/generated/graphql.ts, from its
// schema.graphql (see resolver-types.ts). Run it after editing a schema; the drift test runs the same generation.
import { mkdirSync, writeFileSync } from 'node:fs'
import { DOMAINS, generateResolverTypes, resolverTypesFile } from './resolver-types'

for (const domain of DOMAINS) {
  const file = resolverTypesFile(domain)
  mkdirSync(new URL('.', file), { recursive: true })
  writeFileSync(file, await generateResolverTypes(domain))
  console.log(`${domain}: subgraphs/${domain}/src/generated/graphql.ts`)
}
