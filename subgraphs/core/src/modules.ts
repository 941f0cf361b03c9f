/**
 * The 17 module ids of v4.5 (seed 002, `api/core/modules.py`): their switches are the app_settings rows
 * `module.<id>` of category 'modules'. The gateway's tests check this list against the seed fixtures.
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
