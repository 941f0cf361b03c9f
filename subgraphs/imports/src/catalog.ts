import { notFound, queryPeer } from '@pm/service-kit'
import type { Context } from './context'

const SUPPLIER_BY_CODE = 'query($code: String!) { supplierByCode(code: $code) { id } }'

/**
 * catalog owns suppliers: a code is checked by asking it through the graph, before any transaction opens.
 * NOT_FOUND naming the field when catalog has no such supplier; SERVICE_UNAVAILABLE when it cannot answer.
 */
export async function requireSupplier(ctx: Context, field: string, code: string): Promise<void> {
  const data = await queryPeer<{ supplierByCode: { id: string } | null }>(
    ctx.peers,
    'catalog',
    SUPPLIER_BY_CODE,
    { code },
  )
  if (!data.supplierByCode) {
    throw notFound(`${field}: the catalog has no supplier with the code "${code}"`, { field })
  }
}
