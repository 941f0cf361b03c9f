#!/usr/bin/env -S npx tsx
// `pnpm docs`: writes the API reference (docs/api/schema.graphql and docs/api/index.html) from
// gateway/supergraph.graphql (and, on the HTML page, the module each part belongs to, from the generated
// module map).   --check: exit 1 when the files differ from a fresh generation.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import {
  API_REFERENCE_DIR,
  apiModuleIndex,
  apiReferenceHtml,
  apiSchemaOf,
  apiSchemaSdl,
} from '../src/api-reference'
import { readSupergraphFile } from '../src/compose'

const schema = apiSchemaOf(readSupergraphFile())
const files = {
  'schema.graphql': apiSchemaSdl(schema),
  'index.html': apiReferenceHtml(schema, apiModuleIndex()),
}
const check = process.argv.includes('--check')
let stale = false
for (const [name, contents] of Object.entries(files)) {
  const url = new URL(name, API_REFERENCE_DIR)
  if (check) {
    if (!existsSync(url) || readFileSync(url, 'utf8') !== contents) {
      console.error(`${url.pathname} is out of date: run \`pnpm docs\``)
      stale = true
    }
  } else {
    mkdirSync(API_REFERENCE_DIR, { recursive: true })
    writeFileSync(url, contents)
    console.log(`wrote ${url.pathname}`)
  }
}
if (stale) process.exit(1)
