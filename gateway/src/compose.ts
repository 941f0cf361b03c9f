import { existsSync, readFileSync } from 'node:fs'
import { composeServices } from '@apollo/composition'
import { DOMAINS, type Domain } from '@pm/db'
import { DEFAULT_PORTS, readSubgraphSdl } from '@pm/service-kit'
import { GraphQLError, parse } from 'graphql'
import { SUPERGRAPH_FILE } from './supergraph-file'

export { SUPERGRAPH_FILE }

export const SUPERGRAPH_HEADER = [
  '# GENERATED FILE, do not edit: run `pnpm compose` (gateway/scripts/compose.ts) after changing any',
  '# subgraphs/<domain>/src/schema.graphql. The URLs below are the local defaults; the gateway replaces',
  '# them with SUBGRAPH_<DOMAIN>_URL at start-up.',
].join('\n')

export function subgraphSchemaFile(domain: Domain): URL {
  return new URL(`../../subgraphs/${domain}/src/schema.graphql`, import.meta.url)
}

/** The URL written into the supergraph: deterministic, whatever the environment says. */
export function defaultSubgraphUrl(domain: Domain): string {
  return `http://127.0.0.1:${DEFAULT_PORTS[domain]}/graphql`
}

export type SupergraphComposition =
  | { ok: true; supergraphSdl: string; hints: string[]; domains: Domain[] }
  | { ok: false; errors: string[]; domains: Domain[] }

function describeError(error: GraphQLError | Error): string {
  const code = error instanceof GraphQLError ? error.extensions?.code : undefined
  return typeof code === 'string' ? `[${code}] ${error.message}` : error.message
}

/** Composes the subgraphs' schema.graphql files (all seven by default) into a supergraph. */
export function composeSupergraph(domains: readonly Domain[] = DOMAINS): SupergraphComposition {
  const errors: string[] = []
  const services = []
  for (const domain of domains) {
    const file = subgraphSchemaFile(domain)
    if (!existsSync(file)) {
      errors.push(`${domain}: ${file.pathname} does not exist`)
      continue
    }
    try {
      services.push({ name: domain, url: defaultSubgraphUrl(domain), typeDefs: parse(readSubgraphSdl(file)) })
    } catch (error) {
      errors.push(`${domain}: schema.graphql does not parse: ${describeError(error as Error)}`)
    }
  }
  if (errors.length > 0) return { ok: false, errors, domains: [...domains] }
  const result = composeServices(services)
  if (result.errors) return { ok: false, errors: result.errors.map(describeError), domains: [...domains] }
  return {
    ok: true,
    supergraphSdl: result.supergraphSdl,
    hints: result.hints.map((hint) => `[${hint.definition.code}] ${hint.message}`),
    domains: [...domains],
  }
}

/** What `pnpm compose` writes to gateway/supergraph.graphql. */
export function supergraphFileContents(supergraphSdl: string): string {
  return `${SUPERGRAPH_HEADER}\n\n${supergraphSdl.trimEnd()}\n`
}

/** The checked-in supergraph's SDL (header comment included: it is valid GraphQL). */
export function readSupergraphFile(file: URL = SUPERGRAPH_FILE): string {
  return readFileSync(file, 'utf8')
}
