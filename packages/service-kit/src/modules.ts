/**
 * The 17 module ids of v4.5 (docs/requirements.md#modules): their switches are the app_settings rows
 * `module.<id>` of category 'modules'. One registry for core (state), the gateway (gate) and the seed.
 */
export const MODULE_IDS = [
  'suppliers',
  'imports',
  'icecat',
  'odoo_sync',
  'prestashop',
  'amazon',
  'code2asin',
  'ean_lookup',
  'ai_services',
  'ai_enrichment',
  'exports',
  'file_explorer',
  'brand_manager',
  'category_manager',
  'completeness',
  'search_engine',
  'price_monitor',
] as const

export type ModuleId = (typeof MODULE_IDS)[number]

export const MODULE_CATEGORY = 'modules'
export const MODULE_KEY_PREFIX = 'module.'

/** Display name and menu order of each module, as docs/requirements.md#modules lists them. */
export const MODULE_INFO: Record<ModuleId, { name: string; order: number }> = {
  suppliers: { name: 'Fournisseurs', order: -2 },
  imports: { name: 'Imports', order: -1 },
  icecat: { name: 'Icecat Enrichment', order: 1 },
  odoo_sync: { name: 'Odoo ERP Sync', order: 2 },
  prestashop: { name: 'PrestaShop Sync', order: 3 },
  amazon: { name: 'Amazon', order: 4 },
  code2asin: { name: 'Code2ASIN', order: 5 },
  ean_lookup: { name: 'EAN/Barcode Lookup', order: 6 },
  ai_services: { name: 'AI Services', order: 7 },
  ai_enrichment: { name: 'IA Enrichment', order: 8 },
  exports: { name: 'Export Platform', order: 9 },
  file_explorer: { name: 'File Explorer', order: 10 },
  brand_manager: { name: 'Brand Manager', order: 11 },
  category_manager: { name: 'Categories Manager', order: 12 },
  completeness: { name: 'Completude Catalogue', order: 13 },
  search_engine: { name: 'Moteur de Recherche', order: 14 },
  price_monitor: { name: 'Price Monitor', order: 15 },
}
