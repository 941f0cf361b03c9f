import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { SUPERGRAPH_FILE } from '../src/compose'
import { entityLookupsOf, RootFetchTags } from '../src/entity-lookups'

const lookups = entityLookupsOf(readFileSync(SUPERGRAPH_FILE, 'utf8'))
const tags = new RootFetchTags(lookups)
const A = '0f5e6a1c-7a43-4d8e-9a57-6f3a1d2b9c01'
const B = '3c2b1a09-8f7e-4d6c-b5a4-938271605f4e'

describe('the entities a cached root fetch depends on', () => {
  it('reads the lookups by id from the supergraph: one subgraph, one id argument, an entity keyed by id', () => {
    expect(lookups.get('catalog')?.get('product')).toBe('Product')
    expect(lookups.get('catalog')?.get('supplier')).toBe('Supplier')
    expect(lookups.get('media')?.get('mediaFile')).toBe('MediaFile')
    // By EAN is a lookup too, but not by the key: its answer is tied to no entity the arguments name.
    expect(lookups.get('catalog')?.has('productByEan')).toBe(false)
    expect(lookups.get('catalog')?.has('products')).toBe(false)
  })

  it('ties a lookup by id to its entity, from a variable or a literal, in the case the subgraph stores', () => {
    expect(tags.tags('catalog', 'query($id: UUID!) { product(id: $id) { id title } }', { id: A })).toEqual([
      `Product:${A}`,
      'Product:*',
    ])
    expect(tags.tags('catalog', `{ product(id: "${A.toUpperCase()}") { id } __typename }`, {})).toEqual([
      `Product:${A}`,
      'Product:*',
    ])
    expect(
      tags.tags('catalog', 'query($a: UUID!, $b: UUID!) { product(id: $a) { id } supplier(id: $b) { id } }', {
        a: A,
        b: B,
      }),
    ).toEqual([`Product:${A}`, 'Product:*', `Supplier:${B}`, 'Supplier:*'])
  })

  it('ties a list to the owner its @cacheScope argument names, inline or in an input variable', () => {
    const inline =
      'query($s: UUID!) { products(filter: { supplierId: $s, isActive: true }, first: 20) { edges { node { id } } } }'
    expect(tags.tags('catalog', inline, { s: B })).toEqual([`Supplier:${B}`])
    const whole = 'query($f: ProductFilter) { products(filter: $f) { totalCount } }'
    expect(tags.tags('catalog', whole, { f: { brandId: A } })).toEqual([`Brand:${A}`])
    expect(
      tags.tags('media', 'query($f: MediaFileFilter) { mediaFiles(filter: $f) { totalCount } }', {
        f: { productId: A },
      }),
    ).toEqual([`Product:${A}`])
  })

  it('ties everything else to any change of the subgraph', () => {
    const any = ['*']
    expect(tags.tags('catalog', '{ products(first: 5) { totalCount } }', {})).toEqual(any)
    expect(
      tags.tags('catalog', 'query($f: ProductFilter) { products(filter: $f) { totalCount } }', {
        f: { isActive: true },
      }),
    ).toEqual(any)
    expect(
      tags.tags('catalog', 'query($e: String!) { productByEan(ean: $e) { id } }', { e: '4006381333931' }),
    ).toEqual(any)
    // One field tied to no entity is enough for the whole fetch to be.
    expect(
      tags.tags('catalog', `query($id: UUID!) { product(id: $id) { id } brands(first: 1) { totalCount } }`, {
        id: A,
      }),
    ).toEqual(any)
    expect(tags.tags('catalog', 'query($id: UUID!) { product(id: $id) { id } }', {})).toEqual(any)
    expect(
      tags.tags('catalog', 'query($id: UUID!) { product(id: $id) @include(if: true) { id } }', { id: A }),
    ).toEqual(any)
    expect(tags.tags('catalog', 'mutation { x }', {})).toEqual(any)
    expect(tags.tags('catalog', '{ not valid', {})).toEqual(any)
    expect(tags.tags('imports', '{ importJobs(first: 1) { totalCount } }', {})).toEqual(any)
  })
})
