import { type Peers, queryPeer } from '@pm/service-kit'

/**
 * Catalog's supplier ids of the given codes (absent: no such supplier). One aliased query per 50 codes,
 * so a recomputation over many suppliers asks catalog a few times, not once per code.
 */
export async function supplierIdsByCode(
  peers: Peers,
  codes: readonly string[],
): Promise<Map<string, string>> {
  const found = new Map<string, string>()
  const unique = [...new Set(codes)]
  for (let i = 0; i < unique.length; i += 50) {
    const chunk = unique.slice(i, i + 50)
    const vars = chunk.map((_, j) => `$c${j}: String!`).join(', ')
    const fields = chunk.map((_, j) => `s${j}: supplierByCode(code: $c${j}) { id }`).join(' ')
    const data = await queryPeer<Record<string, { id: string } | null>>(
      peers,
      'catalog',
      `query(${vars}) { ${fields} }`,
      Object.fromEntries(chunk.map((code, j) => [`c${j}`, code])),
    )
    chunk.forEach((code, j) => {
      const supplier = data[`s${j}`]
      if (supplier) found.set(code, supplier.id)
    })
  }
  return found
}
