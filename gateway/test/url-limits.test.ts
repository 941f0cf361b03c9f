import { DOMAINS } from '@pm/db'
import { MAX_URL_LENGTH, readSubgraphSdl } from '@pm/service-kit'
import { type ASTNode, type InputValueDefinitionNode, Kind, parse } from 'graphql'
import { describe, expect, it } from 'vitest'
import { subgraphSchemaFile } from '../src/compose'

/** An argument or input field that takes URLs: its name ends in url, urls, Url(s), or endpoint. */
const URL_INPUT = /(?:url|urls|endpoint)$/i

/** A length stated in a description: "2048 bytes", "2,048 characters". */
const STATED_LENGTH = /(\d[\d,]*)\s*(?:bytes|characters)/gi

interface UrlLimit {
  coordinate: string
  how: string
  limit: number
}

/** Every length limit on the URL arguments and input fields of an SDL: @text(maxLength:) and stated lengths. */
function urlLimits(sdl: string): { inputs: string[]; limits: UrlLimit[] } {
  const inputs: string[] = []
  const limits: UrlLimit[] = []
  const visit = (coordinate: string, node: InputValueDefinitionNode) => {
    if (!URL_INPUT.test(node.name.value)) return
    inputs.push(coordinate)
    for (const directive of node.directives ?? []) {
      if (directive.name.value !== 'text') continue
      for (const arg of directive.arguments ?? [])
        if (arg.name.value === 'maxLength' && arg.value.kind === Kind.INT)
          limits.push({ coordinate, how: '@text(maxLength:)', limit: Number(arg.value.value) })
    }
    for (const match of node.description?.value.matchAll(STATED_LENGTH) ?? [])
      limits.push({
        coordinate,
        how: `description "${match[0]}"`,
        limit: Number(match[1]!.replaceAll(',', '')),
      })
  }
  for (const definition of parse(sdl).definitions as readonly ASTNode[]) {
    switch (definition.kind) {
      case Kind.INPUT_OBJECT_TYPE_DEFINITION:
      case Kind.INPUT_OBJECT_TYPE_EXTENSION:
        for (const field of definition.fields ?? [])
          visit(`${definition.name.value}.${field.name.value}`, field)
        break
      case Kind.OBJECT_TYPE_DEFINITION:
      case Kind.OBJECT_TYPE_EXTENSION:
      case Kind.INTERFACE_TYPE_DEFINITION:
      case Kind.INTERFACE_TYPE_EXTENSION:
        for (const field of definition.fields ?? [])
          for (const arg of field.arguments ?? [])
            visit(`${definition.name.value}.${field.name.value}(${arg.name.value}:)`, arg)
        break
      default:
        break
    }
  }
  return { inputs, limits }
}

describe('URL length limits in the SDL', () => {
  it('finds the limits of URL arguments and input fields, in directives and descriptions', () => {
    const { inputs, limits } = urlLimits(`
      input I { "at most 4,096 characters" logoUrl: String @text(maxLength: 100) name: String @text(maxLength: 7) }
      type Query { f("http(s) URLs (12 bytes each)" urls: [String!], endpoint: String @text(maxLength: 9)): Int }
    `)
    expect(inputs).toEqual(['I.logoUrl', 'Query.f(urls:)', 'Query.f(endpoint:)'])
    expect(limits.map((l) => [l.coordinate, l.limit])).toEqual([
      ['I.logoUrl', 100],
      ['I.logoUrl', 4096],
      ['Query.f(urls:)', 12],
      ['Query.f(endpoint:)', 9],
    ])
  })

  it('every limit on a URL argument or input field is MAX_URL_LENGTH', () => {
    const all: UrlLimit[] = []
    for (const domain of DOMAINS) all.push(...urlLimits(readSubgraphSdl(subgraphSchemaFile(domain))).limits)
    // The schemas do state URL limits (catalog's logos, media's image URLs, code2asin's endpoints).
    expect(all.length).toBeGreaterThanOrEqual(5)
    const wrong = all.filter((l) => l.limit !== MAX_URL_LENGTH)
    expect(
      wrong.map((l) => `${l.coordinate}: ${l.how} is ${l.limit}`),
      `URL limits must equal MAX_URL_LENGTH (${MAX_URL_LENGTH})`,
    ).toEqual([])
  })
})
