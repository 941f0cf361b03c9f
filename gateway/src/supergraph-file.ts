/** The checked-in supergraph (`pnpm compose` writes it), served by default. */
export const SUPERGRAPH_FILE = new URL('../supergraph.graphql', import.meta.url)
