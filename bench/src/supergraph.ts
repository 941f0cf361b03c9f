import { readFileSync } from 'node:fs'
import { DOMAINS } from '@pm/db'

export const SUPERGRAPH_FILE = new URL('../../gateway/supergraph.graphql', import.meta.url)

/** The checked-in supergraph with each subgraph's URL replaced by where it runs now. */
export function supergraphFor(
  urls: Record<string, string>,
  sdl = readFileSync(SUPERGRAPH_FILE, 'utf8'),
): string {
  let out = sdl
  for (const domain of DOMAINS) {
    const pattern = new RegExp(`(@join__graph\\(name: "${domain}", url: )"[^"]*"`)
    if (!pattern.test(out)) throw new Error(`the supergraph has no ${domain} subgraph`)
    out = out.replace(pattern, `$1${JSON.stringify(urls[domain])}`)
  }
  return out
}
