import type { DB } from '@pm/db/types/catalog'
import { slugify } from '@pm/service-kit'
import type { Insertable } from 'kysely'
import {
  BRANDS,
  type Family,
  LEAVES,
  type LeafFixture,
  SUPPLIERS,
  type SupplierFixture,
  WAREHOUSES,
} from '../fixtures'
import { DAY_MS, fixed, gtinCheckDigit, type Random } from '../random'
import type { Ctx, ProductInfo, SupplierInfo, UserInfo } from './context'
import { type ProductSpecs, specsFor } from './specs'

export type CatalogRows = { [T in Exclude<keyof DB, 'audit_outbox'>]: Insertable<DB[T]>[] }

export interface CatalogResult {
  rows: CatalogRows
  products: ProductInfo[]
  suppliers: SupplierInfo[]
  warehouseIds: string[]
}

/** A valid EAN-13 under a GS1 France prefix (300-379), unique within `taken`. */
export function uniqueEan(rng: Random, taken: Set<string>): string {
  for (;;) {
    const body = `3${rng.int(0, 7)}${rng.digits(10)}`
    const ean = `${body}${gtinCheckDigit(body)}`
    if (!taken.has(ean)) {
      taken.add(ean)
      return ean
    }
  }
}

/** A retail price in cents ending in .99, .90 or .00, inside [min, max] euros. */
export function retailCents(rng: Random, [min, max]: [number, number]): number {
  const euros = rng.int(min, max)
  return (
    euros * 100 -
    rng.weighted([
      [1, 6],
      [10, 3],
      [0, 1],
    ] as const)
  )
}

export function between(rng: Random, [min, max]: [number, number], scale: number): number {
  return Math.round((min + (max - min) * rng.float()) * scale)
}

/** Model-number prefixes by product family, so references look like the trade's. */
export const MODEL_PREFIX: Record<Family, string[]> = {
  laptop: ['NB', 'UX', 'VX', 'G'],
  keyboard: ['K', 'KB'],
  mouse: ['M', 'MX'],
  storage: ['SSD', 'EXT', 'T'],
  coffee: ['EC', 'EA', 'ECAM'],
  kettle: ['KO', 'BY', 'HD'],
  vacuum: ['VC', 'RV', 'SV'],
  iron: ['DW', 'GC', 'SI'],
  tv: ['QE', 'XR', 'PUS'],
  headphones: ['WH', 'TUNE', 'Q'],
  speaker: ['SRS', 'GO', 'S'],
  camera: ['A', 'Z', 'R'],
  lens: ['EF', 'RF', 'SEL'],
  powertool: ['DHP', 'GSR', 'R18'],
  garden: ['LM', 'DLM', 'AHS'],
  phone: ['SM-A', 'SM-S', 'M2'],
  charger: ['A', 'EP-T', 'PD'],
  case: ['EF', 'CS', 'PC'],
}

/** A supplier's row, its extended details and what other generators need to know of it. */
export function supplierRows(
  ctx: Ctx,
  rng: Random,
  id: string,
  s: SupplierFixture,
): {
  supplier: Insertable<DB['suppliers']>
  details: Insertable<DB['supplier_details']>
  info: SupplierInfo
} {
  const createdAt = ctx.daysAgo(rng.int(560, 760))
  const isActive = s.isActive ?? true
  const domain = new URL(s.website).hostname.replace(/^www\./, '')
  return {
    supplier: {
      id,
      code: s.code,
      name: s.name,
      is_active: isActive,
      contact_email: `commandes@${domain}`,
      contact_phone: s.phone,
      address: s.address,
      country: s.country,
      created_at: createdAt,
      updated_at: ctx.after(createdAt, rng.int(10, 400) * DAY_MS),
    },
    details: {
      supplier_id: id,
      legal_name: s.legalName,
      vat_number: `${s.vatPrefix}${rng.digits(s.vatPrefix === 'FR' ? 11 : 9)}`,
      website: s.website,
      default_currency: s.country === 'SE' ? 'SEK' : 'EUR',
      payment_terms: rng.pick([
        '30 jours fin de mois',
        '45 jours fin de mois',
        '60 jours date de facture',
        'Paiement à la commande',
      ]),
      lead_time_days: rng.int(1, 15),
      minimum_order_amount: fixed(rng.pick([0, 150, 250, 500, 1000, 1500]) * 100, 2),
      notes: isActive ? null : 'Contrat suspendu : en attente de renouvellement.',
      extra: {
        contacts: [
          {
            role: 'commercial',
            name: rng.pick(['Claire Fontaine', 'Marc Lefèvre', 'Anna Schmidt', 'Pieter de Vries']),
            email: `ventes@${domain}`,
          },
          { role: 'support', email: `support@${domain}` },
        ],
        portal_url: `https://portail.${domain}`,
        incoterm: rng.pick(['DAP', 'DDP', 'EXW']),
      },
      created_at: createdAt,
      updated_at: createdAt,
    },
    info: { id, code: s.code, name: s.name, isActive, roots: s.roots },
  }
}

export function brandRow(id: string, name: string, isActive: boolean): Insertable<DB['brands']> {
  return {
    id,
    code: slugify(name).replace(/-/g, '_').toUpperCase(),
    name,
    logo_url: `https://cdn.products-manager.example/brands/${slugify(name)}.svg`,
    is_active: isActive,
  }
}

/** Categories by path ('Root > Mid > Leaf'); add() parents before children. */
export class CategoryTree {
  readonly rows: Insertable<DB['categories']>[] = []
  readonly ids = new Map<string, string>()

  constructor(private readonly idRng: Random) {}

  add(path: readonly string[], isActive = true): string {
    const key = path.join(' > ')
    const existing = this.ids.get(key)
    if (existing) return existing
    const id = this.idRng.uuid()
    this.ids.set(key, id)
    this.rows.push({
      id,
      name: path.at(-1)!,
      slug: path.map(slugify).join('--'),
      parent_id: path.length > 1 ? this.ids.get(path.slice(0, -1).join(' > '))! : null,
      is_active: isActive,
    })
    return id
  }
}

export interface ProductInput {
  id: string
  index: number
  leaf: LeafFixture
  brand: string
  supplier: SupplierInfo
  createdAt: Date
  updatedAt: Date
  sku: string
  categoryId: string
  brandId: string
  /** EANs already given out (the product's is added). */
  eans: Set<string>
}

/** A product of `leaf`'s family: status, specifications, title, EAN, price and dimensions. */
export function productRow(
  _ctx: Ctx,
  rng: Random,
  input: ProductInput,
): {
  row: Insertable<DB['products']>
  info: ProductInfo
  axis: ProductSpecs['axis']
  status: string
} {
  const { id, leaf, brand, supplier, createdAt, sku } = input
  const status = rng.weighted([
    ['active', 88],
    ['out_of_stock', 3],
    ['draft', 5],
    ['discontinued', 4],
  ] as const)
  const isActive = status === 'active' || status === 'out_of_stock'
  const { specs, qualifier, sentence, axis } = specsFor(leaf.family, rng, leaf.name)
  const model = `${rng.pick(MODEL_PREFIX[leaf.family])}${rng.pick(['', '-'])}${rng.int(10, 9999)}${rng.pick(['', '', 'X', 'S', 'Pro'])}`
  const title = `${brand} ${leaf.noun} ${model} ${qualifier}`.slice(0, 500)
  const ean = uniqueEan(rng, input.eans)
  const cents = retailCents(rng, leaf.price)
  const hasWeight = rng.chance(0.95)
  const row: Insertable<DB['products']> = {
    id,
    ean,
    asin: null,
    sku,
    upc: null,
    gtin: rng.chance(0.2) ? `0${ean}` : null,
    manufacturer_reference: model,
    external_id: `${supplier.code}-${rng.digits(7)}`,
    title,
    description: `${title}. ${sentence} Garantie constructeur ${specs.warranty_years ?? 2} ans, livraison sous 48 h depuis nos entrepôts.`,
    short_description: `${leaf.noun} ${brand} ${qualifier}`.slice(0, 500),
    supplier_id: supplier.id,
    category_id: input.categoryId,
    brand_id: input.brandId,
    status,
    is_active: isActive,
    weight: hasWeight ? fixed(between(rng, leaf.weight, 1000), 3) : null,
    width: hasWeight ? fixed(Math.round(leaf.dims[0] * 100 * (0.85 + 0.3 * rng.float())), 2) : null,
    height: hasWeight ? fixed(Math.round(leaf.dims[1] * 100 * (0.85 + 0.3 * rng.float())), 2) : null,
    depth: hasWeight ? fixed(Math.round(leaf.dims[2] * 100 * (0.85 + 0.3 * rng.float())), 2) : null,
    technical_specs: specs,
    created_at: createdAt,
    updated_at: input.updatedAt,
  }
  const info: ProductInfo = {
    id,
    index: input.index,
    sku,
    ean,
    title,
    brand,
    supplier,
    leaf,
    createdAt,
    isActive,
    retailCents: cents,
    asin: null,
  }
  return { row, info, axis, status }
}

export interface PlannedPrice {
  type: 'retail' | 'wholesale' | 'promo'
  cents: number
  minQty: number
  from: Date
  until: Date | null
}

/** Retail always; wholesale for most products; a running promotion for some. */
export function pricePlan(
  ctx: Ctx,
  rng: Random,
  cents: number,
  createdAt: Date,
): { costCents: number; prices: PlannedPrice[] } {
  const costCents = Math.round(cents * (0.55 + 0.2 * rng.float()))
  const prices: PlannedPrice[] = [{ type: 'retail', cents, minQty: 1, from: createdAt, until: null }]
  if (rng.chance(0.6)) {
    const wholesale = Math.max(costCents + 1, Math.round(cents * (0.8 + 0.08 * rng.float())))
    prices.push({
      type: 'wholesale',
      cents: wholesale,
      minQty: rng.pick([5, 10, 20]),
      from: createdAt,
      until: null,
    })
  }
  if (rng.chance(0.12)) {
    const from = ctx.daysAgo(rng.int(0, 10))
    prices.push({
      type: 'promo',
      cents: Math.round(cents * 0.85) - 1,
      minQty: 1,
      from: from.getTime() < createdAt.getTime() ? createdAt : from,
      until: new Date(ctx.now.getTime() + rng.int(3, 30) * DAY_MS),
    })
  }
  return { costCents, prices }
}

export function priceRow(
  id: string,
  productId: string,
  supplierId: string,
  costCents: number,
  p: PlannedPrice,
): Insertable<DB['product_prices']> {
  return {
    id,
    product_id: productId,
    supplier_id: supplierId,
    price_type: p.type,
    price: fixed(p.cents, 2),
    cost: fixed(costCents, 2),
    margin: fixed(Math.round(((p.cents - costCents) * 10000) / p.cents), 2),
    currency: 'EUR',
    min_quantity: p.minQty,
    valid_from: p.from,
    valid_until: p.until,
    is_active: true,
    created_at: p.from,
  }
}

export function generateCatalog(ctx: Ctx, users: UserInfo[]): CatalogResult {
  const rng = ctx.rng('catalog')
  const ids = {
    suppliers: ctx.rng('catalog.suppliers.id'),
    brands: ctx.rng('catalog.brands.id'),
    categories: ctx.rng('catalog.categories.id'),
    products: ctx.rng('catalog.products.id'),
    prices: ctx.rng('catalog.product_prices.id'),
    stocks: ctx.rng('catalog.product_stocks.id'),
    variants: ctx.rng('catalog.product_variants.id'),
    resolutions: ctx.rng('catalog.ean_resolutions.id'),
  }
  const prodRng = ctx.rng('catalog.products')
  const priceRng = ctx.rng('catalog.prices')
  const stockRng = ctx.rng('catalog.stocks')
  const variantRng = ctx.rng('catalog.variants')
  const editors = users.filter((u) => ['admin', 'manager', 'editor', 'importer'].includes(u.role))

  // Suppliers and their extended details.
  const suppliers: Insertable<DB['suppliers']>[] = []
  const supplierDetails: Insertable<DB['supplier_details']>[] = []
  const supplierInfo: SupplierInfo[] = []
  for (const s of SUPPLIERS) {
    const rows = supplierRows(ctx, rng, ids.suppliers.uuid(), s)
    suppliers.push(rows.supplier)
    supplierDetails.push(rows.details)
    supplierInfo.push(rows.info)
  }

  // One brand withdrawn from the catalogue, its products kept.
  const brands = BRANDS.map((name) => brandRow(ids.brands.uuid(), name, name !== 'Acer'))
  const brandId = new Map(brands.map((b) => [b.name, b.id!]))

  // The category tree: roots, sub-categories, leaves (parents always before children).
  const tree = new CategoryTree(ids.categories)
  for (const l of LEAVES) tree.add([l.root])
  for (const l of LEAVES) tree.add([l.root, l.mid])
  for (const l of LEAVES) tree.add([l.root, l.mid, l.name])
  // An empty, deactivated leaf: the tree has one branch nothing is filed under.
  tree.add(['Téléphonie', 'Accessoires mobiles', 'Câbles'], false)
  const categories = tree.rows
  const categoryId = tree.ids

  const warehouseIds = WAREHOUSES.map(() => ids.stocks.uuid())

  const products: Insertable<DB['products']>[] = []
  const prices: Insertable<DB['product_prices']>[] = []
  const stocks: Insertable<DB['product_stocks']>[] = []
  const variants: Insertable<DB['product_variants']>[] = []
  const priceHistory: Insertable<DB['price_history']>[] = []
  const stockHistory: Insertable<DB['stock_history']>[] = []
  const resolutions: Insertable<DB['ean_resolutions']>[] = []
  const info: ProductInfo[] = []
  const eans = new Set<string>()
  const spanMs = 548 * DAY_MS

  for (let i = 0; i < ctx.products; i++) {
    const id = ids.products.uuid()
    const leaf: LeafFixture = prodRng.pick(LEAVES)
    const brand = prodRng.pick(leaf.brands)
    const candidates = supplierInfo.filter((s) => s.roots.includes(leaf.root))
    const supplier = prodRng.chance(0.97) ? prodRng.pick(candidates) : prodRng.pick(supplierInfo)
    const createdAt = new Date(ctx.now.getTime() - Math.floor(prodRng.float() * spanMs))
    const updatedAt = ctx.after(
      createdAt,
      Math.floor(prodRng.float() * (ctx.now.getTime() - createdAt.getTime())),
    )
    const {
      row,
      info: product,
      axis,
      status,
    } = productRow(ctx, prodRng, {
      id,
      index: i,
      leaf,
      brand,
      supplier,
      createdAt,
      updatedAt,
      sku: `${supplier.code.slice(0, 4)}-${String(i + 1).padStart(6, '0')}`,
      categoryId: categoryId.get([leaf.root, leaf.mid, leaf.name].join(' > '))!,
      brandId: brandId.get(brand)!,
      eans,
    })
    products.push(row)
    info.push(product)
    const { sku, ean, title } = product
    const cents = product.retailCents

    // Prices: retail always; wholesale for most; a running promotion for some.
    const { costCents, prices: priceRows } = pricePlan(ctx, priceRng, cents, createdAt)
    for (const p of priceRows) {
      prices.push(priceRow(ids.prices.uuid(), id, supplier.id, costCents, p))
      if (p.type === 'promo') continue
      // History: the first recorded price, then 0-2 changes ending at the current one.
      const changes = priceRng.int(0, 2)
      let previous: number | null = null
      let at = createdAt
      for (let c = 0; c <= changes; c++) {
        const isLast = c === changes
        const value: number = isLast ? p.cents : Math.round(p.cents * (0.9 + 0.2 * priceRng.float()))
        const manual = c > 0 && priceRng.chance(0.35)
        priceHistory.push({
          product_id: id,
          supplier_id: supplier.id,
          price_type: p.type,
          old_price: previous === null ? null : fixed(previous, 2),
          new_price: fixed(value, 2),
          currency: 'EUR',
          source: c === 0 ? 'import' : manual ? 'manual' : priceRng.pick(['import', 'sync']),
          reason:
            c === 0
              ? 'Prix initial du catalogue fournisseur'
              : manual
                ? priceRng.pick(['Alignement concurrence', 'Correction de saisie', 'Révision de marge'])
                : 'Mise à jour du tarif fournisseur',
          changed_by: manual ? priceRng.pick(editors).id : null,
          changed_at: at,
        })
        previous = value
        at = ctx.after(at, Math.floor(priceRng.float() * (ctx.now.getTime() - at.getTime()) * 0.6))
      }
    }

    // Stock in one or two warehouses, with its movements.
    const warehouses = stockRng.sample(warehouseIds, stockRng.chance(0.4) ? 2 : 1)
    for (const warehouse of warehouses) {
      const quantity =
        status === 'out_of_stock'
          ? 0
          : stockRng.weighted([
              [0, 5],
              [stockRng.int(1, 20), 30],
              [stockRng.int(21, 400), 65],
            ] as const)
      const lastUpdate = ctx.after(
        createdAt,
        Math.floor(stockRng.float() * (ctx.now.getTime() - createdAt.getTime())),
      )
      stocks.push({
        id: ids.stocks.uuid(),
        product_id: id,
        warehouse_id: warehouse,
        quantity,
        reserved_quantity: quantity > 0 && stockRng.chance(0.3) ? stockRng.int(1, Math.min(quantity, 10)) : 0,
        min_stock: stockRng.pick([0, 5, 10]),
        last_update: lastUpdate,
      })
      const moves = stockRng.int(0, 3)
      let previous: number | null = null
      let at = createdAt
      for (let m = 0; m <= moves; m++) {
        const isLast = m === moves
        const value: number = isLast ? quantity : stockRng.int(0, 300)
        const reason =
          m === 0 ? 'import' : stockRng.pick(['sale', 'return', 'adjustment', 'import', 'reservation'])
        stockHistory.push({
          product_id: id,
          warehouse_id: warehouse,
          old_quantity: previous,
          new_quantity: value,
          reason,
          note: reason === 'adjustment' ? 'Inventaire tournant' : null,
          changed_by: reason === 'adjustment' ? stockRng.pick(editors).id : null,
          changed_at: isLast ? lastUpdate : at,
        })
        previous = value
        at = new Date(
          at.getTime() + Math.floor((lastUpdate.getTime() - at.getTime()) * stockRng.float() * 0.5),
        )
      }
    }

    // Variants for about 30% of products.
    if (variantRng.chance(0.3)) {
      const values = variantRng.sample(axis.values, variantRng.int(2, Math.min(4, axis.values.length)))
      values.forEach((value, position) => {
        const pricedAxis = axis.name !== 'color'
        variants.push({
          id: ids.variants.uuid(),
          product_id: id,
          sku: `${sku}-${String(position + 1).padStart(2, '0')}`,
          ean: uniqueEan(variantRng, eans),
          title: `${title} – ${value}`.slice(0, 500),
          attributes: { [axis.name]: value },
          price: pricedAxis ? fixed(cents + position * variantRng.pick([2000, 5000, 10000]), 2) : null,
          weight: null,
          position,
          is_active: variantRng.chance(0.92),
          created_at: createdAt,
          updated_at: updatedAt,
        })
      })
    }

    // Some EANs were resolved by external sources.
    if (rng.chance(0.12)) {
      for (const source of rng.sample(['icecat', 'ean_lookup', 'catalog'], rng.int(1, 2))) {
        resolutions.push({
          id: ids.resolutions.uuid(),
          ean,
          product_id: id,
          source,
          confidence: fixed(rng.int(8000, 10000), 2),
          resolved_data: { title, brand, category: leaf.name },
          resolved_at: ctx.after(createdAt, rng.int(0, 5) * DAY_MS),
        })
      }
    }
  }
  // Lookups that found nothing are remembered too (product_id NULL).
  for (let n = 0; n < Math.max(1, Math.round(ctx.products / 80)); n++) {
    resolutions.push({
      id: ids.resolutions.uuid(),
      ean: uniqueEan(rng, eans),
      product_id: null,
      source: 'ean_lookup',
      confidence: null,
      resolved_data: null,
      resolved_at: ctx.daysAgo(rng.int(0, 60)),
    })
  }

  return {
    rows: {
      suppliers,
      supplier_details: supplierDetails,
      brands,
      categories,
      products,
      product_prices: prices,
      product_stocks: stocks,
      product_variants: variants,
      price_history: priceHistory,
      stock_history: stockHistory,
      ean_resolutions: resolutions,
      import_batch_receipts: [],
      // Scored by the database's triggers as the products, prices and stocks go in.
      product_completeness: [],
    },
    products: info,
    suppliers: supplierInfo,
    warehouseIds,
  }
}
