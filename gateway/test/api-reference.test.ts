import { readFileSync } from 'node:fs'
import { isObjectType } from 'graphql'
import { describe, expect, it } from 'vitest'
import {
  API_REFERENCE_DIR,
  apiModuleIndex,
  apiReferenceHtml,
  apiSchemaOf,
  apiSchemaSdl,
} from '../src/api-reference'
import { readSupergraphFile } from '../src/compose'

// docs/api is what a partner reads without running the stack: it must be the schema the gateway serves.
const schema = apiSchemaOf(readSupergraphFile())
const read = (name: string) => readFileSync(new URL(name, API_REFERENCE_DIR), 'utf8')

describe('API reference (docs/api)', () => {
  it('is current with gateway/supergraph.graphql (run `pnpm run docs` after a schema change)', () => {
    expect(read('schema.graphql')).toBe(apiSchemaSdl(schema))
    expect(read('index.html')).toBe(apiReferenceHtml(schema, apiModuleIndex()))
  })

  it('holds the public schema only: no federation machinery, no service-to-service fields', () => {
    const sdl = read('schema.graphql')
    for (const internal of ['join__', 'link__', '@link', '_entities(', '_service:', 'importProducts('])
      expect(sdl).not.toContain(internal)
    expect(sdl).toContain('type Query')
  })

  it('lists every field of every root and object type on the HTML page', () => {
    const page = read('index.html')
    for (const type of Object.values(schema.getTypeMap())) {
      if (type.name.startsWith('__') || !isObjectType(type)) continue
      expect(page).toContain(`id="${type.name}"`)
      for (const name of Object.keys(type.getFields())) expect(page).toContain(`<code>${name}: `)
    }
  })
})

describe('modules on the API reference', () => {
  const page = read('index.html')
  const sectionOf = (type: string) =>
    page.slice(page.indexOf(`<section id="${type}">`)).split('</section>')[0]!
  /** A type's own text (before its fields), or one field's entry. */
  const entry = (type: string, field?: string) => {
    const [head, ...fields] = sectionOf(type).split('<dt')
    return field === undefined ? head! : fields.find((d) => d.includes(`<code>${field}: `))!
  }
  const NOTE = (id: string) =>
    `<p class="module">Module <code>${id}</code>: refused with <code>MODULE_DISABLED</code>`

  it('names the module of a gated type, field and input field, and none elsewhere', () => {
    expect(entry('ImportJob')).toContain(NOTE('imports'))
    expect(entry('Query', 'importJobs')).toContain(NOTE('imports'))
    expect(entry('Supplier', 'importJobs')).toContain(NOTE('imports'))
    expect(entry('ProductFilter', 'completenessBelow')).toContain(NOTE('completeness'))
    expect(entry('Product')).not.toContain('class="module"')
    expect(entry('Product', 'title')).not.toContain('class="module"')
  })

  it('does not show @module in the SDL: the schema the gateway serves has no such directive', () => {
    expect(read('schema.graphql')).not.toContain('@module')
  })
})
