/**
 * The schema each domain database must have after all its migrations, written by hand from the source
 * documents (docs/requirements.md#tables-and-indexes: document 000 the main DDL, 001 additions and indexes,
 * 002 app_settings and analytics; "// document 00N" below marks where a block comes from) and the additions
 * designed on top of them. Deliberately NOT generated from a database: it is the reference
 * the migrations are checked against.
 *
 * Types are as `format_type()` prints them, defaults as `pg_get_expr(adbin)` prints them, index
 * definitions as `pg_indexes.indexdef` prints them after "ON [ONLY] public.".
 */
import type { Domain } from '@pm/db'

export interface ColumnSpec {
  type: string
  /** NOT NULL (primary-key columns are NOT NULL too). */
  notNull?: boolean
  default?: string
  /** GENERATED ALWAYS AS IDENTITY */
  identity?: true
  /** GENERATED ALWAYS AS (<expression>) STORED */
  generated?: string
}

export interface TableSpec {
  primaryKey: string[]
  columns: Record<string, ColumnSpec>
}

export interface ForeignKeySpec {
  table: string
  columns: string[]
  references: string
  refColumns: string[]
  onDelete: 'CASCADE' | 'SET NULL' | 'NO ACTION'
}

export interface CrossDatabaseColumn {
  table: string
  column: string
  /** What it points at in another database, e.g. db_catalog.products.id */
  references: string
}

export interface DomainSpec {
  tables: Record<string, TableSpec>
  /** Every index that does not back a constraint: name -> definition after "ON [ONLY] public." */
  indexes: Record<string, string>
  /** UNIQUE constraints (primary keys excluded). */
  uniques: Array<{ table: string; columns: string[] }>
  /** Every foreign key of the database (all of them point inside it). */
  foreignKeys: ForeignKeySpec[]
  crossDatabase: CrossDatabaseColumn[]
  /** Columns with a CHECK constraint. */
  checks: Array<{ table: string; column: string }>
  /** Tables whose updated_at a BEFORE UPDATE trigger running set_updated_at() maintains. */
  updatedAtTriggers: string[]
  /** Other triggers, as "table:function". */
  otherTriggers?: string[]
  /** Functions we create in public (extension functions excluded). */
  functions: string[]
  extensions: string[]
}

// ---------------------------------------------------------------------------------------------------------
// Shorthands, to keep the tables below readable. Each expands to exactly what PostgreSQL reports.

const TS = 'timestamp without time zone'
const vc = (length: number) => `character varying(${length})`
const num = (precision: number, scale: number) => `numeric(${precision},${scale})`
/** A string literal default on a VARCHAR column. */
const str = (value: string) => `'${value}'::character varying`

const UUID_PK: ColumnSpec = { type: 'uuid', notNull: true, default: 'gen_random_uuid()' }
const BIGINT_IDENTITY_PK: ColumnSpec = { type: 'bigint', notNull: true, identity: true }
const serialPk = (table: string): ColumnSpec => ({
  type: 'integer',
  notNull: true,
  default: `nextval('${table}_id_seq'::regclass)`,
})
/** The source schema's timestamp style: TIMESTAMP DEFAULT NOW(), nullable. */
const TS_NOW: ColumnSpec = { type: TS, default: 'now()' }
/** Tables designed here: TIMESTAMP NOT NULL DEFAULT NOW(). */
const TS_NOW_NN: ColumnSpec = { type: TS, notNull: true, default: 'now()' }
const TS_NULL: ColumnSpec = { type: TS }
const BOOL_TRUE: ColumnSpec = { type: 'boolean', default: 'true' }
const BOOL_FALSE: ColumnSpec = { type: 'boolean', default: 'false' }
const BOOL_TRUE_NN: ColumnSpec = { type: 'boolean', notNull: true, default: 'true' }
const BOOL_FALSE_NN: ColumnSpec = { type: 'boolean', notNull: true, default: 'false' }
const INT: ColumnSpec = { type: 'integer' }
const INT_0: ColumnSpec = { type: 'integer', default: '0' }
const INT_0_NN: ColumnSpec = { type: 'integer', notNull: true, default: '0' }
const BIGINT: ColumnSpec = { type: 'bigint' }
const BIGINT_0_NN: ColumnSpec = { type: 'bigint', notNull: true, default: '0' }
const UUID: ColumnSpec = { type: 'uuid' }
const UUID_NN: ColumnSpec = { type: 'uuid', notNull: true }
const TEXT: ColumnSpec = { type: 'text' }
const TEXT_NN: ColumnSpec = { type: 'text', notNull: true }
const JSONB: ColumnSpec = { type: 'jsonb' }
const JSONB_NN: ColumnSpec = { type: 'jsonb', notNull: true }
const JSONB_EMPTY_NN: ColumnSpec = { type: 'jsonb', notNull: true, default: `'{}'::jsonb` }
const DATE_NN: ColumnSpec = { type: 'date', notNull: true }
const v = (length: number, extra: Omit<ColumnSpec, 'type'> = {}): ColumnSpec => ({
  type: vc(length),
  ...extra,
})
const n = (precision: number, scale: number, extra: Omit<ColumnSpec, 'type'> = {}): ColumnSpec => ({
  type: num(precision, scale),
  ...extra,
})

const toUsers = 'db_core.users.id'
const toProducts = 'db_catalog.products.id'
const toSupplierCode = 'db_catalog.suppliers.code'

// ---------------------------------------------------------------------------------------------------------

const core: DomainSpec = {
  tables: {
    // document 000
    users: {
      primaryKey: ['id'],
      columns: {
        id: UUID_PK,
        email: v(255, { notNull: true }),
        username: v(100),
        hashed_password: v(255, { notNull: true }),
        first_name: v(100),
        last_name: v(100),
        role: v(50, { notNull: true, default: str('user') }),
        is_active: BOOL_TRUE,
        is_verified: BOOL_FALSE,
        is_superuser: BOOL_FALSE,
        is_admin: BOOL_FALSE,
        permissions: JSONB_EMPTY_NN,
        last_login: TS_NULL,
        created_at: TS_NOW,
        updated_at: TS_NOW,
        last_login_ip: v(45),
      },
    },
    roles: {
      primaryKey: ['id'],
      columns: {
        id: serialPk('roles'),
        name: v(100, { notNull: true }),
        description: TEXT,
        is_active: BOOL_TRUE,
      },
    },
    permissions: {
      primaryKey: ['id'],
      columns: {
        id: serialPk('permissions'),
        name: v(100, { notNull: true }),
        resource: v(100),
        action: v(50),
      },
    },
    role_permissions: {
      primaryKey: ['role_id', 'permission_id'],
      columns: {
        role_id: { type: 'integer', notNull: true },
        permission_id: { type: 'integer', notNull: true },
      },
    },
    notifications: {
      primaryKey: ['id'],
      columns: {
        id: UUID_PK,
        user_id: UUID_NN,
        title: v(255, { notNull: true }),
        message: TEXT_NN,
        type: v(50, { notNull: true }),
        read: BOOL_FALSE_NN,
        created_at: TS_NOW_NN,
        expires_at: { type: TS, default: `(now() + '7 days'::interval)` },
        metadata: JSONB_EMPTY_NN,
      },
    },
    // document 002
    app_settings: {
      primaryKey: ['id'],
      columns: {
        id: UUID_PK,
        key: v(255, { notNull: true }),
        value: JSONB_NN,
        category: v(50, { notNull: true, default: str('general') }),
        description: TEXT,
        is_secret: BOOL_FALSE_NN,
        updated_by: UUID,
        created_at: TS_NOW_NN,
        updated_at: TS_NOW_NN,
      },
    },
    api_keys: {
      primaryKey: ['id'],
      columns: {
        id: UUID_PK,
        user_id: UUID_NN,
        name: v(255, { notNull: true }),
        key_prefix: v(16, { notNull: true }),
        key_hash: v(64, { notNull: true }),
        scopes: { type: 'text[]', notNull: true, default: `'{}'::text[]` },
        rate_limit_per_minute: { type: 'integer', notNull: true, default: '60' },
        is_active: BOOL_TRUE_NN,
        last_used_at: TS_NULL,
        expires_at: TS_NULL,
        revoked_at: TS_NULL,
        created_at: TS_NOW_NN,
        // 005: SHA-256 hex of the persisted operations the key may run (empty = any).
        allowed_operations: { type: 'text[]', notNull: true, default: `'{}'::text[]` },
      },
    },
    // 005: refresh sessions (hashes only) and the login throttle.
    refresh_tokens: {
      primaryKey: ['id'],
      columns: {
        id: UUID_PK,
        user_id: UUID_NN,
        token_hash: { type: 'character(64)', notNull: true },
        family_id: UUID_NN,
        expires_at: { type: TS, notNull: true },
        revoked_at: TS_NULL,
        replaced_by: UUID,
        created_at: TS_NOW_NN,
        user_agent: v(255),
        ip: v(45),
      },
    },
    login_attempts: {
      primaryKey: ['id'],
      columns: {
        id: BIGINT_IDENTITY_PK,
        email: v(255, { notNull: true }),
        attempted_at: TS_NOW_NN,
        succeeded: BOOL_FALSE_NN,
        ip: v(45),
      },
    },
    // 008: the operations' runs (health reports, maintenance, backups, integrity, upkeep).
    operation_runs: {
      primaryKey: ['id'],
      columns: {
        id: UUID_PK,
        kind: v(30, { notNull: true }),
        domain: v(20),
        target_table: v(63),
        dry_run: BOOL_FALSE_NN,
        status: v(20, { notNull: true, default: str('pending') }),
        progress: INT_0_NN,
        result: JSONB_EMPTY_NN,
        error: TEXT,
        source: v(20, { notNull: true, default: str('api') }),
        requested_by: UUID,
        created_at: TS_NOW_NN,
        started_at: TS_NULL,
        finished_at: TS_NULL,
      },
    },
    // 009: rows of other databases kept although what they refer to is gone (keep-and-flag references).
    flagged_references: {
      primaryKey: ['id'],
      columns: {
        id: UUID_PK,
        reference: v(200, { notNull: true }),
        row_key: TEXT_NN,
        missing_value: TEXT_NN,
        flagged_at: TS_NOW_NN,
        last_seen_at: TS_NOW_NN,
        seen_by: UUID_NN,
      },
    },
  },
  indexes: {
    idx_users_email: 'users USING btree (email)',
    idx_users_is_active: 'users USING btree (is_active)',
    idx_notifications_user_id: 'notifications USING btree (user_id)',
    idx_notifications_read: 'notifications USING btree (read)',
    idx_notifications_user_unread:
      'notifications USING btree (user_id, created_at DESC) WHERE (read = false)',
    idx_notifications_user_created_id: 'notifications USING btree (user_id, created_at DESC, id DESC)',
    idx_app_settings_category: 'app_settings USING btree (category)',
    idx_api_keys_user_id: 'api_keys USING btree (user_id)',
    idx_refresh_tokens_user_id: 'refresh_tokens USING btree (user_id)',
    idx_refresh_tokens_family_id: 'refresh_tokens USING btree (family_id)',
    idx_refresh_tokens_expires_at: 'refresh_tokens USING btree (expires_at)',
    idx_login_attempts_email_attempted: 'login_attempts USING btree (email, attempted_at DESC)',
    idx_login_attempts_attempted_at: 'login_attempts USING btree (attempted_at)',
    idx_login_attempts_ip_attempted: 'login_attempts USING btree (ip, attempted_at DESC)',
    idx_operation_runs_kind_created: 'operation_runs USING btree (kind, created_at DESC)',
    idx_flagged_references_flagged: 'flagged_references USING btree (flagged_at DESC, id DESC)',
  },
  uniques: [
    { table: 'users', columns: ['email'] },
    { table: 'users', columns: ['username'] },
    { table: 'roles', columns: ['name'] },
    { table: 'permissions', columns: ['name'] },
    { table: 'app_settings', columns: ['key'] },
    { table: 'api_keys', columns: ['key_prefix'] },
    { table: 'api_keys', columns: ['key_hash'] },
    { table: 'refresh_tokens', columns: ['token_hash'] },
    { table: 'flagged_references', columns: ['reference', 'row_key'] },
  ],
  foreignKeys: [
    {
      table: 'role_permissions',
      columns: ['role_id'],
      references: 'roles',
      refColumns: ['id'],
      onDelete: 'NO ACTION',
    },
    {
      table: 'role_permissions',
      columns: ['permission_id'],
      references: 'permissions',
      refColumns: ['id'],
      onDelete: 'NO ACTION',
    },
    {
      table: 'notifications',
      columns: ['user_id'],
      references: 'users',
      refColumns: ['id'],
      onDelete: 'CASCADE',
    },
    {
      table: 'app_settings',
      columns: ['updated_by'],
      references: 'users',
      refColumns: ['id'],
      onDelete: 'SET NULL',
    },
    { table: 'api_keys', columns: ['user_id'], references: 'users', refColumns: ['id'], onDelete: 'CASCADE' },
    {
      table: 'refresh_tokens',
      columns: ['user_id'],
      references: 'users',
      refColumns: ['id'],
      onDelete: 'CASCADE',
    },
    {
      table: 'refresh_tokens',
      columns: ['replaced_by'],
      references: 'refresh_tokens',
      refColumns: ['id'],
      onDelete: 'SET NULL',
    },
  ],
  crossDatabase: [],
  checks: [
    { table: 'api_keys', column: 'key_hash' },
    { table: 'api_keys', column: 'rate_limit_per_minute' },
    { table: 'refresh_tokens', column: 'token_hash' },
    { table: 'operation_runs', column: 'kind' },
    { table: 'operation_runs', column: 'domain' },
    { table: 'operation_runs', column: 'status' },
    { table: 'operation_runs', column: 'progress' },
    { table: 'operation_runs', column: 'source' },
  ],
  updatedAtTriggers: ['users', 'app_settings'],
  functions: ['set_updated_at'],
  extensions: [],
}

const catalog: DomainSpec = {
  tables: {
    // document 000
    suppliers: {
      primaryKey: ['id'],
      columns: {
        id: UUID_PK,
        code: v(50, { notNull: true }),
        name: v(255, { notNull: true }),
        is_active: BOOL_TRUE,
        contact_email: v(255),
        contact_phone: v(50),
        address: TEXT,
        country: v(2, { default: str('FR') }),
        created_at: TS_NOW,
        updated_at: TS_NOW,
      },
    },
    brands: {
      primaryKey: ['id'],
      columns: {
        id: UUID_PK,
        code: v(50),
        name: v(255, { notNull: true }),
        logo_url: TEXT,
        is_active: BOOL_TRUE,
      },
    },
    categories: {
      primaryKey: ['id'],
      columns: {
        id: UUID_PK,
        name: v(255, { notNull: true }),
        slug: v(255),
        parent_id: UUID,
        is_active: BOOL_TRUE,
      },
    },
    products: {
      primaryKey: ['id'],
      columns: {
        id: UUID_PK,
        ean: v(20),
        asin: v(20),
        sku: v(100),
        upc: v(12),
        gtin: v(14),
        manufacturer_reference: v(100),
        external_id: v(255),
        title: v(500, { notNull: true }),
        description: TEXT,
        short_description: v(500),
        supplier_id: UUID,
        category_id: UUID,
        brand_id: UUID,
        status: v(50, { default: str('active') }),
        is_active: BOOL_TRUE,
        weight: n(10, 3),
        width: n(10, 2),
        height: n(10, 2),
        depth: n(10, 2),
        technical_specs: JSONB,
        created_at: TS_NOW,
        updated_at: TS_NOW,
      },
    },
    product_prices: {
      primaryKey: ['id'],
      columns: {
        id: UUID_PK,
        product_id: UUID_NN,
        supplier_id: UUID,
        price_type: v(50, { notNull: true, default: str('retail') }),
        price: n(10, 2, { notNull: true }),
        cost: n(10, 2),
        margin: n(5, 2),
        currency: v(3, { default: str('EUR') }),
        min_quantity: { type: 'integer', default: '1' },
        valid_from: TS_NOW,
        valid_until: TS_NULL,
        is_active: BOOL_TRUE,
        created_at: TS_NOW,
      },
    },
    product_stocks: {
      primaryKey: ['id'],
      columns: {
        id: UUID_PK,
        product_id: UUID,
        warehouse_id: UUID,
        quantity: INT_0_NN,
        reserved_quantity: INT_0,
        available_quantity: { type: 'integer', generated: '(quantity - reserved_quantity)' },
        min_stock: INT_0,
        last_update: TS_NOW,
      },
    },
    // document 001
    product_variants: {
      primaryKey: ['id'],
      columns: {
        id: UUID_PK,
        product_id: UUID_NN,
        sku: v(100, { notNull: true }),
        ean: v(20),
        title: v(500),
        attributes: JSONB_EMPTY_NN,
        price: n(10, 2),
        weight: n(10, 3),
        position: INT_0_NN,
        is_active: BOOL_TRUE_NN,
        created_at: TS_NOW_NN,
        updated_at: TS_NOW_NN,
      },
    },
    price_history: {
      primaryKey: ['id'],
      columns: {
        id: BIGINT_IDENTITY_PK,
        product_id: UUID_NN,
        supplier_id: UUID,
        price_type: v(50, { notNull: true, default: str('retail') }),
        old_price: n(10, 2),
        new_price: n(10, 2, { notNull: true }),
        currency: v(3, { notNull: true, default: str('EUR') }),
        source: v(50, { notNull: true, default: str('manual') }),
        reason: TEXT,
        changed_by: UUID,
        changed_at: TS_NOW_NN,
      },
    },
    stock_history: {
      primaryKey: ['id'],
      columns: {
        id: BIGINT_IDENTITY_PK,
        product_id: UUID_NN,
        warehouse_id: UUID,
        old_quantity: INT,
        new_quantity: { type: 'integer', notNull: true },
        delta: { type: 'integer', generated: '(new_quantity - COALESCE(old_quantity, 0))' },
        reason: v(50, { notNull: true, default: str('adjustment') }),
        note: TEXT,
        changed_by: UUID,
        changed_at: TS_NOW_NN,
      },
    },
    // document 002 (db_suppliers folded into the catalog)
    supplier_details: {
      primaryKey: ['supplier_id'],
      columns: {
        supplier_id: UUID_NN,
        legal_name: v(255),
        vat_number: v(50),
        website: TEXT,
        default_currency: v(3, { notNull: true, default: str('EUR') }),
        payment_terms: v(100),
        lead_time_days: INT,
        minimum_order_amount: n(10, 2),
        notes: TEXT,
        extra: JSONB_EMPTY_NN,
        created_at: TS_NOW_NN,
        updated_at: TS_NOW_NN,
      },
    },
    ean_resolutions: {
      primaryKey: ['id'],
      columns: {
        id: UUID_PK,
        ean: v(20, { notNull: true }),
        product_id: UUID,
        source: v(50, { notNull: true }),
        confidence: n(5, 2),
        resolved_data: JSONB,
        resolved_at: TS_NOW_NN,
      },
    },
    // the import engine: what each committed batch wrote, by (import job, first source row)
    import_batch_receipts: {
      primaryKey: ['job_id', 'first_row'],
      columns: {
        job_id: UUID_NN,
        first_row: { type: 'integer', notNull: true },
        result: JSONB_NN,
        created_at: TS_NOW_NN,
      },
    },
  },
  indexes: {
    // document 000
    idx_suppliers_code: 'suppliers USING btree (code)',
    idx_suppliers_is_active: 'suppliers USING btree (is_active)',
    idx_products_ean: 'products USING btree (ean)',
    idx_products_asin: 'products USING btree (asin)',
    idx_products_sku: 'products USING btree (sku)',
    idx_products_supplier_id: 'products USING btree (supplier_id)',
    idx_products_is_active: 'products USING btree (is_active)',
    idx_products_created_at: 'products USING btree (created_at)',
    idx_product_prices_product_id: 'product_prices USING btree (product_id)',
    idx_product_prices_is_active: 'product_prices USING btree (is_active)',
    idx_product_stocks_product_id: 'product_stocks USING btree (product_id)',
    // document 001
    idx_products_active_created_desc:
      'products USING btree (is_active, created_at DESC) WHERE (is_active = true)',
    idx_products_sku_active_title: 'products USING btree (sku, is_active, title) WHERE (is_active = true)',
    // GraphQL keyset pagination and search
    idx_products_created_id: 'products USING btree (created_at DESC, id DESC)',
    idx_products_supplier_created_id: 'products USING btree (supplier_id, created_at DESC, id DESC)',
    idx_products_brand_created_id: 'products USING btree (brand_id, created_at DESC, id DESC)',
    idx_products_category_created_id: 'products USING btree (category_id, created_at DESC, id DESC)',
    idx_products_title_trgm: 'products USING gin (title gin_trgm_ops)',
    idx_categories_parent_id: 'categories USING btree (parent_id)',
    // new tables
    idx_product_variants_product_position: 'product_variants USING btree (product_id, "position")',
    idx_product_variants_ean: 'product_variants USING btree (ean)',
    idx_price_history_product_changed: 'price_history USING btree (product_id, changed_at DESC, id DESC)',
    idx_price_history_changed_by: 'price_history USING btree (changed_by) WHERE (changed_by IS NOT NULL)',
    idx_stock_history_product_changed: 'stock_history USING btree (product_id, changed_at DESC, id DESC)',
    idx_stock_history_changed_by: 'stock_history USING btree (changed_by) WHERE (changed_by IS NOT NULL)',
    idx_ean_resolutions_product_id: 'ean_resolutions USING btree (product_id)',
    idx_import_batch_receipts_created: 'import_batch_receipts USING btree (created_at)',
  },
  uniques: [
    { table: 'suppliers', columns: ['code'] },
    { table: 'brands', columns: ['code'] },
    { table: 'categories', columns: ['slug'] },
    { table: 'product_variants', columns: ['sku'] },
    { table: 'ean_resolutions', columns: ['ean', 'source'] },
  ],
  foreignKeys: [
    {
      table: 'categories',
      columns: ['parent_id'],
      references: 'categories',
      refColumns: ['id'],
      onDelete: 'NO ACTION',
    },
    {
      table: 'products',
      columns: ['supplier_id'],
      references: 'suppliers',
      refColumns: ['id'],
      onDelete: 'NO ACTION',
    },
    {
      table: 'products',
      columns: ['brand_id'],
      references: 'brands',
      refColumns: ['id'],
      onDelete: 'NO ACTION',
    },
    {
      table: 'product_prices',
      columns: ['product_id'],
      references: 'products',
      refColumns: ['id'],
      onDelete: 'CASCADE',
    },
    {
      table: 'product_prices',
      columns: ['supplier_id'],
      references: 'suppliers',
      refColumns: ['id'],
      onDelete: 'NO ACTION',
    },
    {
      table: 'product_stocks',
      columns: ['product_id'],
      references: 'products',
      refColumns: ['id'],
      onDelete: 'CASCADE',
    },
    {
      table: 'product_variants',
      columns: ['product_id'],
      references: 'products',
      refColumns: ['id'],
      onDelete: 'CASCADE',
    },
    {
      table: 'price_history',
      columns: ['product_id'],
      references: 'products',
      refColumns: ['id'],
      onDelete: 'CASCADE',
    },
    {
      table: 'price_history',
      columns: ['supplier_id'],
      references: 'suppliers',
      refColumns: ['id'],
      onDelete: 'NO ACTION',
    },
    {
      table: 'stock_history',
      columns: ['product_id'],
      references: 'products',
      refColumns: ['id'],
      onDelete: 'CASCADE',
    },
    {
      table: 'supplier_details',
      columns: ['supplier_id'],
      references: 'suppliers',
      refColumns: ['id'],
      onDelete: 'CASCADE',
    },
    {
      table: 'ean_resolutions',
      columns: ['product_id'],
      references: 'products',
      refColumns: ['id'],
      onDelete: 'CASCADE',
    },
  ],
  crossDatabase: [
    { table: 'price_history', column: 'changed_by', references: toUsers },
    { table: 'stock_history', column: 'changed_by', references: toUsers },
    { table: 'import_batch_receipts', column: 'job_id', references: 'db_imports.import_jobs.id' },
  ],
  checks: [
    { table: 'product_variants', column: 'price' },
    { table: 'supplier_details', column: 'lead_time_days' },
    { table: 'supplier_details', column: 'minimum_order_amount' },
    { table: 'ean_resolutions', column: 'ean' },
    { table: 'ean_resolutions', column: 'confidence' },
  ],
  updatedAtTriggers: ['suppliers', 'products', 'product_variants', 'supplier_details'],
  functions: ['set_updated_at'],
  extensions: ['pg_trgm'],
}

const imports: DomainSpec = {
  tables: {
    // document 000
    import_configs: {
      primaryKey: ['id'],
      columns: {
        id: UUID_PK,
        supplier_code: v(50, { notNull: true }),
        import_type: v(50, { notNull: true }),
        config_name: v(255, { notNull: true }),
        is_active: BOOL_TRUE,
        connection_config: JSONB_NN,
        schedule_config: JSONB,
        file_pattern: v(255),
        file_format: v(50),
        encoding: v(50, { default: str('UTF-8') }),
        delimiter: v(10, { default: str(';') }),
        field_mapping: JSONB,
        transformation_rules: JSONB,
        validation_rules: JSONB,
        created_at: TS_NOW,
        updated_at: TS_NOW,
        // the import engine
        create_brands: BOOL_FALSE_NN,
        create_categories: BOOL_FALSE_NN,
      },
    },
    import_jobs: {
      primaryKey: ['id'],
      columns: {
        id: UUID_PK,
        config_id: UUID,
        supplier_code: v(50, { notNull: true }),
        import_type: v(50, { notNull: true }),
        status: v(50, { notNull: true, default: str('pending') }),
        started_at: TS_NULL,
        completed_at: TS_NULL,
        duration_seconds: INT,
        total_rows: INT_0,
        processed_rows: INT_0,
        successful_rows: INT_0,
        failed_rows: INT_0,
        products_created: INT_0,
        products_updated: INT_0,
        error_count: INT_0,
        last_error: TEXT,
        created_by: UUID,
        created_at: TS_NOW,
        // the import engine: counters, checkpoint, source, cancel request, the worker's lease, schedule run
        products_unchanged: INT_0_NN,
        checkpoint_row: INT_0_NN,
        source: JSONB,
        force: BOOL_FALSE_NN,
        cancel_requested_at: TS_NULL,
        runner_id: UUID,
        heartbeat_at: TS_NULL,
        bytes_total: BIGINT,
        bytes_read: BIGINT_0_NN,
        schedule_id: UUID,
        scheduled_for: TS_NULL,
      },
    },
    import_schedules: {
      primaryKey: ['id'],
      columns: {
        id: UUID_PK,
        config_id: UUID,
        cron_expression: v(100, { notNull: true }),
        is_active: BOOL_TRUE,
        last_run: TS_NULL,
        next_run: TS_NULL,
      },
    },
    mapping_templates: {
      primaryKey: ['id'],
      columns: {
        id: UUID_PK,
        name: v(255, { notNull: true }),
        supplier_code: v(50),
        field_mapping: JSONB_NN,
        is_default: BOOL_FALSE,
        created_at: TS_NOW,
      },
    },
    // document 001 (ids adapted: import_jobs.id is a UUID)
    import_logs: {
      primaryKey: ['id', 'created_at'],
      columns: {
        id: BIGINT_IDENTITY_PK,
        job_id: UUID_NN,
        log_level: v(20, { notNull: true, default: str('info') }),
        message: TEXT_NN,
        context: JSONB,
        row_number: INT,
        created_at: TS_NOW_NN,
      },
    },
    import_errors: {
      primaryKey: ['id'],
      columns: {
        id: UUID_PK,
        job_id: UUID_NN,
        row_number: INT,
        column_name: v(255),
        error_code: v(100, { notNull: true }),
        message: TEXT_NN,
        raw_value: TEXT,
        raw_row: JSONB,
        severity: v(20, { notNull: true, default: str('error') }),
        created_at: TS_NOW_NN,
      },
    },
    import_files: {
      primaryKey: ['id'],
      columns: {
        id: UUID_PK,
        job_id: UUID_NN,
        file_name: v(500, { notNull: true }),
        file_hash: v(64),
        file_size_bytes: BIGINT,
        mime_type: v(100),
        file_format: v(50),
        encoding: v(50),
        source: v(50),
        storage_type: v(50),
        bucket_name: v(100),
        object_key: TEXT,
        row_count: INT,
        uploaded_at: TS_NOW_NN,
      },
    },
    import_statistics: {
      primaryKey: ['id'],
      columns: {
        id: UUID_PK,
        job_id: UUID_NN,
        skipped_rows: INT_0_NN,
        duplicate_rows: INT_0_NN,
        products_unchanged: INT_0_NN,
        warning_count: INT_0_NN,
        errors_by_code: JSONB_EMPTY_NN,
        file_count: INT_0_NN,
        bytes_processed: BIGINT_0_NN,
        download_duration_ms: BIGINT,
        parse_duration_ms: BIGINT,
        validation_duration_ms: BIGINT,
        persist_duration_ms: BIGINT,
        total_duration_ms: BIGINT,
        rows_per_second: n(12, 2),
        created_at: TS_NOW_NN,
        updated_at: TS_NOW_NN,
      },
    },
  },
  indexes: {
    // document 000
    idx_import_configs_supplier_code: 'import_configs USING btree (supplier_code)',
    idx_import_configs_is_active: 'import_configs USING btree (is_active)',
    idx_import_jobs_status: 'import_jobs USING btree (status)',
    idx_import_jobs_created_at: 'import_jobs USING btree (created_at)',
    idx_import_jobs_supplier_code: 'import_jobs USING btree (supplier_code)',
    // document 001
    idx_import_jobs_status_created: 'import_jobs USING btree (status, created_at DESC)',
    idx_import_logs_job_created_level: 'import_logs USING btree (job_id, created_at DESC, log_level)',
    // keyset pagination, foreign keys, cross-database references
    idx_import_jobs_created_id: 'import_jobs USING btree (created_at DESC, id DESC)',
    idx_import_jobs_supplier_created_id: 'import_jobs USING btree (supplier_code, created_at DESC, id DESC)',
    idx_import_jobs_created_by: 'import_jobs USING btree (created_by)',
    idx_import_jobs_config_id: 'import_jobs USING btree (config_id)',
    idx_import_schedules_config_id: 'import_schedules USING btree (config_id)',
    idx_mapping_templates_supplier_code: 'mapping_templates USING btree (supplier_code)',
    idx_import_errors_job_row: 'import_errors USING btree (job_id, row_number, id)',
    idx_import_files_job_id: 'import_files USING btree (job_id)',
    idx_import_files_file_hash: 'import_files USING btree (file_hash)',
    // the import engine
    uq_import_jobs_schedule_run:
      'import_jobs USING btree (schedule_id, scheduled_for) WHERE (schedule_id IS NOT NULL)',
    idx_import_schedules_due: 'import_schedules USING btree (next_run) WHERE (is_active IS TRUE)',
  },
  uniques: [{ table: 'import_statistics', columns: ['job_id'] }],
  foreignKeys: [
    {
      table: 'import_jobs',
      columns: ['config_id'],
      references: 'import_configs',
      refColumns: ['id'],
      onDelete: 'NO ACTION',
    },
    {
      table: 'import_jobs',
      columns: ['schedule_id'],
      references: 'import_schedules',
      refColumns: ['id'],
      onDelete: 'NO ACTION',
    },
    {
      table: 'import_schedules',
      columns: ['config_id'],
      references: 'import_configs',
      refColumns: ['id'],
      onDelete: 'NO ACTION',
    },
    {
      table: 'import_logs',
      columns: ['job_id'],
      references: 'import_jobs',
      refColumns: ['id'],
      onDelete: 'CASCADE',
    },
    {
      table: 'import_errors',
      columns: ['job_id'],
      references: 'import_jobs',
      refColumns: ['id'],
      onDelete: 'CASCADE',
    },
    {
      table: 'import_files',
      columns: ['job_id'],
      references: 'import_jobs',
      refColumns: ['id'],
      onDelete: 'CASCADE',
    },
    {
      table: 'import_statistics',
      columns: ['job_id'],
      references: 'import_jobs',
      refColumns: ['id'],
      onDelete: 'CASCADE',
    },
  ],
  crossDatabase: [
    { table: 'import_configs', column: 'supplier_code', references: toSupplierCode },
    { table: 'import_jobs', column: 'supplier_code', references: toSupplierCode },
    { table: 'import_jobs', column: 'created_by', references: toUsers },
    { table: 'mapping_templates', column: 'supplier_code', references: toSupplierCode },
  ],
  checks: [
    { table: 'import_logs', column: 'log_level' },
    { table: 'import_errors', column: 'severity' },
    { table: 'import_files', column: 'file_hash' },
    { table: 'import_files', column: 'file_size_bytes' },
    { table: 'import_files', column: 'row_count' },
    { table: 'import_jobs', column: 'checkpoint_row' },
    { table: 'import_jobs', column: 'bytes_total' },
    { table: 'import_jobs', column: 'bytes_read' },
  ],
  updatedAtTriggers: ['import_configs', 'import_statistics'],
  functions: ['ensure_import_logs_partitions', 'set_updated_at'],
  extensions: [],
}

const exportsSpec: DomainSpec = {
  tables: {
    export_platforms: {
      primaryKey: ['id'],
      columns: {
        id: UUID_PK,
        name: v(255, { notNull: true }),
        platform_type: v(50, { notNull: true }),
        is_active: BOOL_TRUE,
        config: JSONB_NN,
        field_mappings: JSONB,
        created_at: TS_NOW,
      },
    },
    export_jobs: {
      primaryKey: ['id'],
      columns: {
        id: UUID_PK,
        platform_id: UUID,
        job_type: v(50, { notNull: true }),
        status: v(50, { notNull: true, default: str('pending') }),
        total_items: INT_0,
        success_items: INT_0,
        failed_items: INT_0,
        started_at: TS_NULL,
        completed_at: TS_NULL,
        created_at: TS_NOW,
        format: v(10),
        selection: JSONB,
        created_by: UUID,
        runner_id: UUID,
        heartbeat_at: TS_NULL,
        phase: v(20),
        page_cursor: TEXT,
        parts: INT_0_NN,
        file_key: TEXT,
        file_size: BIGINT,
        file_sha256: v(64),
        delivered_to: TEXT,
        last_error: TEXT,
      },
    },
    export_job_items: {
      primaryKey: ['id'],
      columns: {
        id: UUID_PK,
        job_id: UUID,
        product_id: UUID_NN,
        status: v(50, { notNull: true, default: str('pending') }),
        error_message: TEXT,
        exported_data: JSONB,
        response_data: JSONB,
        processed_at: TS_NULL,
        sent_at: TS_NULL,
      },
    },
  },
  indexes: {
    idx_export_jobs_platform_id: 'export_jobs USING btree (platform_id)',
    idx_export_jobs_created_id: 'export_jobs USING btree (created_at DESC, id DESC)',
    idx_export_jobs_status_created_id: 'export_jobs USING btree (status, created_at DESC, id DESC)',
    idx_export_job_items_job_id: 'export_job_items USING btree (job_id)',
    idx_export_job_items_product_id: 'export_job_items USING btree (product_id)',
    idx_export_job_items_job_status_id: 'export_job_items USING btree (job_id, status, id)',
    idx_export_jobs_platform_completed:
      "export_jobs USING btree (platform_id, completed_at DESC) WHERE ((status)::text = 'completed'::text)",
  },
  uniques: [{ table: 'export_platforms', columns: ['name'] }],
  foreignKeys: [
    {
      table: 'export_jobs',
      columns: ['platform_id'],
      references: 'export_platforms',
      refColumns: ['id'],
      onDelete: 'NO ACTION',
    },
    {
      table: 'export_job_items',
      columns: ['job_id'],
      references: 'export_jobs',
      refColumns: ['id'],
      onDelete: 'CASCADE',
    },
  ],
  crossDatabase: [{ table: 'export_job_items', column: 'product_id', references: toProducts }],
  checks: [],
  updatedAtTriggers: [],
  functions: [],
  extensions: [],
}

const media: DomainSpec = {
  tables: {
    media_files: {
      primaryKey: ['id'],
      columns: {
        id: UUID_PK,
        product_id: UUID,
        file_name: v(500, { notNull: true }),
        file_hash: v(64),
        mime_type: v(100),
        file_size_bytes: BIGINT,
        storage_type: v(50),
        bucket_name: v(100),
        object_key: TEXT,
        storage_url: TEXT,
        width: INT,
        height: INT,
        format: v(20),
        image_type: v(50),
        display_order: INT_0,
        is_primary: BOOL_FALSE,
        alt_text: TEXT,
        processing_status: v(50, { default: str('pending') }),
        is_valid: BOOL_TRUE,
        created_at: TS_NOW,
        processing_error: TEXT,
        processed_at: TS_NULL,
        source_url: TEXT,
        served_object_key: TEXT,
      },
    },
    media_thumbnails: {
      primaryKey: ['id'],
      columns: {
        id: UUID_PK,
        media_file_id: UUID,
        size_name: v(20, { notNull: true }),
        width: { type: 'integer', notNull: true },
        height: { type: 'integer', notNull: true },
        object_key: TEXT_NN,
        storage_url: TEXT,
        created_at: TS_NOW,
        format: v(20),
        file_size_bytes: BIGINT,
      },
    },
    media_source_urls: {
      primaryKey: ['product_id', 'url'],
      columns: {
        product_id: UUID_NN,
        url: TEXT_NN,
        media_file_id: UUID,
        created_at: TS_NOW_NN,
      },
    },
  },
  indexes: {
    idx_media_source_urls_media_file_id: 'media_source_urls USING btree (media_file_id)',
    idx_media_files_product_id: 'media_files USING btree (product_id)',
    idx_media_files_file_hash: 'media_files USING btree (file_hash)',
    idx_media_files_is_primary: 'media_files USING btree (is_primary)',
    idx_media_thumbnails_media_file_id: 'media_thumbnails USING btree (media_file_id)',
    idx_media_files_product_display_order: 'media_files USING btree (product_id, display_order, id)',
    uq_media_files_product_file_hash:
      'media_files USING btree (product_id, file_hash) NULLS NOT DISTINCT WHERE (file_hash IS NOT NULL)',
    uq_media_thumbnails_file_size_format: 'media_thumbnails USING btree (media_file_id, size_name, format)',
  },
  uniques: [],
  foreignKeys: [
    {
      table: 'media_thumbnails',
      columns: ['media_file_id'],
      references: 'media_files',
      refColumns: ['id'],
      onDelete: 'CASCADE',
    },
    {
      table: 'media_source_urls',
      columns: ['media_file_id'],
      references: 'media_files',
      refColumns: ['id'],
      onDelete: 'SET NULL',
    },
  ],
  crossDatabase: [
    { table: 'media_files', column: 'product_id', references: toProducts },
    { table: 'media_source_urls', column: 'product_id', references: toProducts },
  ],
  checks: [],
  updatedAtTriggers: [],
  functions: [],
  extensions: [],
}

const code2asin: DomainSpec = {
  tables: {
    code2asin_jobs: {
      primaryKey: ['id'],
      columns: {
        id: UUID_PK,
        name: v(255, { default: str('Code2ASIN Job') }),
        status: v(50, { notNull: true, default: str('pending') }),
        supplier_code: v(100),
        total_codes: INT_0,
        processed_codes: INT_0,
        successful_conversions: INT_0,
        failed_conversions: INT_0,
        progress_percentage: INT_0,
        exact_matches: INT_0,
        fuzzy_matches: INT_0,
        no_matches: INT_0,
        batch_size: { type: 'integer', default: '100' },
        retry_count: INT_0,
        max_retries: { type: 'integer', default: '5' },
        search_config: JSONB,
        started_at: TS_NULL,
        completed_at: TS_NULL,
        created_at: TS_NOW,
        // the matching engine
        target: v(20),
        provider_config: JSONB,
        auto_verify_confidence: n(5, 2),
        checkpoint: INT_0_NN,
        runner_id: UUID,
        heartbeat_at: TS_NULL,
        cancel_requested: BOOL_FALSE_NN,
        failed_lookups: INT_0_NN,
        provider_requests: INT_0_NN,
        last_error: TEXT,
        created_by: UUID,
      },
    },
    code2asin_job_products: {
      primaryKey: ['job_id', 'position'],
      columns: {
        job_id: UUID_NN,
        position: { type: 'integer', notNull: true },
        product_id: UUID_NN,
      },
    },
    code2asin_results: {
      primaryKey: ['id'],
      columns: {
        id: UUID_PK,
        job_id: UUID_NN,
        product_id: UUID_NN,
        product_ean: v(255),
        product_title: v(500),
        asin: v(20),
        amazon_title: TEXT,
        match_confidence: n(5, 2),
        match_type: v(50),
        amazon_data: JSONB,
        amazon_images: JSONB,
        amazon_price: n(10, 2),
        amazon_currency: v(3, { default: str('EUR') }),
        amazon_category: v(255),
        amazon_rating: n(3, 2),
        amazon_review_count: INT,
        processed_at: TS_NOW,
        is_verified: BOOL_FALSE,
        error_code: v(50),
        error_message: TEXT,
      },
    },
  },
  indexes: {
    idx_code2asin_jobs_status: 'code2asin_jobs USING btree (status)',
    idx_code2asin_jobs_supplier_code: 'code2asin_jobs USING btree (supplier_code)',
    idx_code2asin_results_job_id: 'code2asin_results USING btree (job_id)',
    idx_code2asin_results_product_id: 'code2asin_results USING btree (product_id)',
    idx_code2asin_results_asin: 'code2asin_results USING btree (asin)',
    idx_code2asin_jobs_created_id: 'code2asin_jobs USING btree (created_at DESC, id DESC)',
    idx_code2asin_jobs_status_created_id: 'code2asin_jobs USING btree (status, created_at DESC, id DESC)',
    idx_code2asin_results_product_confidence:
      'code2asin_results USING btree (product_id, match_confidence DESC NULLS LAST)',
    idx_code2asin_results_job_product: 'code2asin_results USING btree (job_id, product_id)',
    idx_code2asin_jobs_created_by: 'code2asin_jobs USING btree (created_by)',
    idx_code2asin_job_products_product_id: 'code2asin_job_products USING btree (product_id)',
    idx_code2asin_results_verified_product: 'code2asin_results USING btree (product_id) WHERE is_verified',
  },
  uniques: [],
  foreignKeys: [
    {
      table: 'code2asin_results',
      columns: ['job_id'],
      references: 'code2asin_jobs',
      refColumns: ['id'],
      onDelete: 'CASCADE',
    },
    {
      table: 'code2asin_job_products',
      columns: ['job_id'],
      references: 'code2asin_jobs',
      refColumns: ['id'],
      onDelete: 'CASCADE',
    },
  ],
  crossDatabase: [
    { table: 'code2asin_jobs', column: 'supplier_code', references: toSupplierCode },
    { table: 'code2asin_jobs', column: 'created_by', references: toUsers },
    { table: 'code2asin_job_products', column: 'product_id', references: toProducts },
    { table: 'code2asin_results', column: 'product_id', references: toProducts },
  ],
  checks: [
    { table: 'code2asin_jobs', column: 'target' },
    { table: 'code2asin_jobs', column: 'auto_verify_confidence' },
  ],
  updatedAtTriggers: [],
  functions: [],
  extensions: [],
}

const analytics: DomainSpec = {
  tables: {
    // document 000
    product_metrics: {
      primaryKey: ['id'],
      columns: {
        id: UUID_PK,
        product_id: UUID_NN,
        date: DATE_NN,
        view_count: INT_0,
        sales_count: INT_0,
        conversion_rate: n(5, 4),
        revenue: n(12, 2),
        created_at: TS_NOW,
      },
    },
    supplier_metrics: {
      primaryKey: ['id'],
      columns: {
        id: UUID_PK,
        supplier_id: UUID_NN,
        date: DATE_NN,
        products_count: INT_0,
        imports_count: INT_0,
        success_rate: n(5, 2),
        avg_processing_time: INT,
      },
    },
    import_metrics: {
      primaryKey: ['id'],
      columns: {
        id: UUID_PK,
        date: DATE_NN,
        total_imports: INT_0,
        successful_imports: INT_0,
        failed_imports: INT_0,
        total_products_processed: INT_0,
        avg_processing_time: INT,
      },
    },
    // document 002
    reports: {
      primaryKey: ['id'],
      columns: {
        id: UUID_PK,
        name: v(255, { notNull: true }),
        report_type: v(50, { notNull: true }),
        parameters: JSONB_EMPTY_NN,
        status: v(50, { notNull: true, default: str('pending') }),
        format: v(20),
        bucket_name: v(100),
        object_key: TEXT,
        file_size_bytes: BIGINT,
        row_count: INT,
        error_message: TEXT,
        created_by: UUID,
        started_at: TS_NULL,
        completed_at: TS_NULL,
        expires_at: TS_NULL,
        created_at: TS_NOW_NN,
        updated_at: TS_NOW_NN,
      },
    },
    audit_logs: {
      primaryKey: ['id'],
      columns: {
        id: BIGINT_IDENTITY_PK,
        user_id: UUID,
        action: v(50, { notNull: true }),
        entity_type: v(100, { notNull: true }),
        entity_id: v(255),
        changes: JSONB_EMPTY_NN,
        ip_address: { type: 'inet' },
        user_agent: TEXT,
        created_at: TS_NOW_NN,
        // 004: the outbox entry id, so a redelivered entry is stored once
        event_id: UUID,
      },
    },
    ai_usage_logs: {
      primaryKey: ['id'],
      columns: {
        id: BIGINT_IDENTITY_PK,
        user_id: UUID,
        provider: v(50, { notNull: true }),
        model: v(100, { notNull: true }),
        operation: v(100, { notNull: true }),
        prompt_tokens: INT_0_NN,
        completion_tokens: INT_0_NN,
        total_tokens: INT_0_NN,
        cost: n(12, 6),
        currency: v(3, { notNull: true, default: str('USD') }),
        latency_ms: INT,
        success: BOOL_TRUE_NN,
        error_message: TEXT,
        created_at: TS_NOW_NN,
      },
    },
  },
  indexes: {
    idx_reports_created_id: 'reports USING btree (created_at DESC, id DESC)',
    idx_reports_created_by_created_id: 'reports USING btree (created_by, created_at DESC, id DESC)',
    idx_reports_status_created_id: 'reports USING btree (status, created_at DESC, id DESC)',
    idx_audit_logs_entity: 'audit_logs USING btree (entity_type, entity_id, created_at DESC)',
    idx_audit_logs_user_created: 'audit_logs USING btree (user_id, created_at DESC)',
    idx_audit_logs_created_at_brin: 'audit_logs USING brin (created_at)',
    idx_ai_usage_logs_user_created: 'ai_usage_logs USING btree (user_id, created_at DESC)',
    idx_ai_usage_logs_created_at_brin: 'ai_usage_logs USING brin (created_at)',
  },
  uniques: [
    // Daily aggregates: one row per entity and day (their indexes also serve the cross-database columns).
    { table: 'product_metrics', columns: ['product_id', 'date'] },
    { table: 'supplier_metrics', columns: ['supplier_id', 'date'] },
    { table: 'import_metrics', columns: ['date'] },
  ],
  foreignKeys: [],
  crossDatabase: [
    { table: 'product_metrics', column: 'product_id', references: toProducts },
    { table: 'supplier_metrics', column: 'supplier_id', references: 'db_catalog.suppliers.id' },
    { table: 'reports', column: 'created_by', references: toUsers },
    { table: 'audit_logs', column: 'user_id', references: toUsers },
    { table: 'ai_usage_logs', column: 'user_id', references: toUsers },
  ],
  checks: [
    { table: 'reports', column: 'status' },
    { table: 'ai_usage_logs', column: 'prompt_tokens' },
    { table: 'ai_usage_logs', column: 'completion_tokens' },
    { table: 'ai_usage_logs', column: 'total_tokens' },
  ],
  updatedAtTriggers: ['reports'],
  functions: ['set_updated_at'],
  extensions: [],
}

/** Every database's transactional outbox for audit entries (migrations/*\/NNN_audit_outbox.sql). */
function withAuditOutbox(spec: DomainSpec): DomainSpec {
  return {
    ...spec,
    tables: {
      ...spec.tables,
      audit_outbox: {
        primaryKey: ['id'],
        columns: {
          id: UUID_PK,
          user_id: UUID,
          action: v(50, { notNull: true }),
          entity_type: v(100, { notNull: true }),
          entity_id: v(255),
          changes: JSONB_EMPTY_NN,
          created_at: TS_NOW_NN,
          attempts: INT_0_NN,
          last_error: TEXT,
        },
      },
    },
    indexes: { ...spec.indexes, idx_audit_outbox_created: 'audit_outbox USING btree (created_at, id)' },
  }
}

analytics.indexes.idx_audit_logs_event_id = 'audit_logs USING btree (event_id) WHERE (event_id IS NOT NULL)'

// 005: import metrics computed from the import jobs (one row per ended job, per supplier and day totals)
analytics.tables.import_job_facts = {
  primaryKey: ['job_id'],
  columns: {
    job_id: UUID_NN,
    supplier_code: v(50, { notNull: true }),
    supplier_id: UUID,
    status: v(20, { notNull: true }),
    date: DATE_NN,
    rows_processed: INT_0_NN,
    products_created: INT_0_NN,
    products_updated: INT_0_NN,
    rows_failed: INT_0_NN,
    duration_seconds: INT,
    ended_at: { type: TS, notNull: true },
    recorded_at: TS_NOW_NN,
  },
}
analytics.tables.supplier_import_metrics = {
  primaryKey: ['supplier_id', 'date'],
  columns: {
    supplier_id: UUID_NN,
    date: DATE_NN,
    jobs_count: INT_0_NN,
    completed_count: INT_0_NN,
    failed_count: INT_0_NN,
    cancelled_count: INT_0_NN,
    rows_processed: BIGINT_0_NN,
    products_created: BIGINT_0_NN,
    products_updated: BIGINT_0_NN,
    rows_failed: BIGINT_0_NN,
    duration_seconds: BIGINT_0_NN,
    computed_at: TS_NOW_NN,
  },
}
// 006: the daily supplier and catalogue figures
Object.assign(analytics.tables.supplier_metrics!.columns, {
  active_products_count: INT,
  avg_price: n(12, 2),
  stock_value: n(16, 2),
  image_share: n(5, 4),
  verified_asin_share: n(5, 4),
  computed_at: TS_NULL,
})
analytics.tables.catalog_metrics = {
  primaryKey: ['date'],
  columns: {
    date: DATE_NN,
    suppliers_count: INT_0_NN,
    products_count: INT_0_NN,
    active_products_count: INT_0_NN,
    avg_price: n(12, 2),
    stock_value: n(16, 2),
    image_share: n(5, 4),
    verified_asin_share: n(5, 4),
    computed_at: TS_NOW_NN,
  },
}
analytics.tables.metric_runs = {
  primaryKey: ['id'],
  columns: {
    id: UUID_PK,
    kind: v(30, { notNull: true }),
    date_from: DATE_NN,
    date_to: DATE_NN,
    status: v(20, { notNull: true, default: str('pending') }),
    processed: INT_0_NN,
    total: INT_0_NN,
    checkpoint_date: { type: 'date' },
    error_message: TEXT,
    cancel_requested_at: TS_NULL,
    started_at: TS_NULL,
    completed_at: TS_NULL,
    created_at: TS_NOW_NN,
    updated_at: TS_NOW_NN,
  },
}
analytics.indexes.idx_import_job_facts_date = 'import_job_facts USING btree (date)'
analytics.indexes.idx_import_job_facts_supplier_date = 'import_job_facts USING btree (supplier_id, date)'
analytics.indexes.idx_metric_runs_created_id = 'metric_runs USING btree (created_at DESC, id DESC)'
analytics.updatedAtTriggers.push('metric_runs')
analytics.crossDatabase.push(
  { table: 'import_job_facts', column: 'job_id', references: 'db_imports.import_jobs.id' },
  { table: 'import_job_facts', column: 'supplier_id', references: 'db_catalog.suppliers.id' },
  { table: 'supplier_import_metrics', column: 'supplier_id', references: 'db_catalog.suppliers.id' },
)
analytics.checks.push(
  { table: 'import_job_facts', column: 'status' },
  { table: 'import_job_facts', column: 'rows_processed' },
  { table: 'import_job_facts', column: 'products_created' },
  { table: 'import_job_facts', column: 'products_updated' },
  { table: 'import_job_facts', column: 'rows_failed' },
  { table: 'import_job_facts', column: 'duration_seconds' },
  { table: 'metric_runs', column: 'kind' },
  { table: 'metric_runs', column: 'status' },
  { table: 'metric_runs', column: 'date_from' },
  { table: 'metric_runs', column: 'date_to' },
)

// catalog 006: completeness rules per category and each product's stored score
catalog.tables.categories!.columns.completeness_required = { type: 'text[]' }
catalog.tables.product_completeness = {
  primaryKey: ['product_id'],
  columns: {
    product_id: UUID_NN,
    score: { type: 'smallint', notNull: true },
    missing: { type: 'text[]', notNull: true, default: `'{}'::text[]` },
    has_image: BOOL_FALSE_NN,
    computed_at: TS_NOW_NN,
  },
}
catalog.indexes.idx_product_completeness_score = 'product_completeness USING btree (score, product_id)'
catalog.foreignKeys.push({
  table: 'product_completeness',
  columns: ['product_id'],
  references: 'products',
  refColumns: ['id'],
  onDelete: 'CASCADE',
})
catalog.checks.push({ table: 'product_completeness', column: 'score' })
catalog.functions.push(
  'refresh_product_completeness',
  'trg_completeness_new_products',
  'trg_completeness_new_children',
  'trg_completeness_old_children',
  'trg_completeness_category_rules',
)
catalog.otherTriggers = [
  'products:trg_completeness_new_products',
  'products:trg_completeness_new_products',
  'product_prices:trg_completeness_new_children',
  'product_prices:trg_completeness_new_children',
  'product_prices:trg_completeness_old_children',
  'product_stocks:trg_completeness_new_children',
  'product_stocks:trg_completeness_new_children',
  'product_stocks:trg_completeness_old_children',
  'categories:trg_completeness_category_rules',
]

export const EXPECTED_SCHEMA: Readonly<Record<Domain, DomainSpec>> = {
  core: withAuditOutbox(core),
  catalog: withAuditOutbox(catalog),
  imports: withAuditOutbox(imports),
  exports: withAuditOutbox(exportsSpec),
  media: withAuditOutbox(media),
  code2asin: withAuditOutbox(code2asin),
  analytics: withAuditOutbox(analytics),
}
