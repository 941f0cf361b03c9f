-- migrate:up
-- db_catalog: seed 001 additions (product_variants, price_history, stock_history, composite/partial
-- product indexes) and the indexes the GraphQL API needs (keyset pagination on created_at DESC, id DESC,
-- trigram title search). seed 001's product_images is not created: media files live in db_media.
-- Plain CREATE INDEX (not CONCURRENTLY as in the seed): each migration runs in one transaction, where
-- CONCURRENTLY is not allowed.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE product_variants (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    product_id UUID NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    sku VARCHAR(100) NOT NULL UNIQUE,
    ean VARCHAR(20),
    title VARCHAR(500),
    -- Axis values of this variant, e.g. {"color": "red", "size": "XL"}.
    attributes JSONB NOT NULL DEFAULT '{}',
    -- NULL means the variant sells at its product's price.
    price NUMERIC(10, 2) CHECK (price >= 0),
    weight NUMERIC(10, 3),
    position INTEGER NOT NULL DEFAULT 0,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMP NOT NULL DEFAULT NOW()
);

CREATE INDEX idx_product_variants_product_position ON product_variants(product_id, position);
CREATE INDEX idx_product_variants_ean ON product_variants(ean);

CREATE TRIGGER trg_product_variants_set_updated_at
    BEFORE UPDATE ON product_variants
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Append-only history: bigint identity keys are smaller and faster than UUIDs here, and nothing
-- outside this database refers to a history row.
CREATE TABLE price_history (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id UUID NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    supplier_id UUID REFERENCES suppliers(id),
    price_type VARCHAR(50) NOT NULL DEFAULT 'retail',
    -- NULL on the first price ever recorded for this product/price type.
    old_price NUMERIC(10, 2),
    new_price NUMERIC(10, 2) NOT NULL,
    currency VARCHAR(3) NOT NULL DEFAULT 'EUR',
    source VARCHAR(50) NOT NULL DEFAULT 'manual',  -- 'manual', 'import', 'api', 'sync'
    reason TEXT,
    changed_by UUID,
    changed_at TIMESTAMP NOT NULL DEFAULT NOW()
);

COMMENT ON COLUMN price_history.changed_by IS 'cross-database reference to db_core.users.id; no FK';

CREATE INDEX idx_price_history_product_changed ON price_history(product_id, changed_at DESC, id DESC);
-- Most changes come from imports with no user; only index the rows that have one.
CREATE INDEX idx_price_history_changed_by ON price_history(changed_by) WHERE changed_by IS NOT NULL;

CREATE TABLE stock_history (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id UUID NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    warehouse_id UUID,
    -- NULL on the first stock level ever recorded for this product/warehouse.
    old_quantity INTEGER,
    new_quantity INTEGER NOT NULL,
    -- Derived so it can never disagree with the two quantities.
    delta INTEGER GENERATED ALWAYS AS (new_quantity - COALESCE(old_quantity, 0)) STORED,
    reason VARCHAR(50) NOT NULL DEFAULT 'adjustment',  -- 'import', 'sale', 'return', 'adjustment', 'reservation'
    note TEXT,
    changed_by UUID,
    changed_at TIMESTAMP NOT NULL DEFAULT NOW()
);

COMMENT ON COLUMN stock_history.warehouse_id IS 'warehouse identifier as in product_stocks.warehouse_id (no warehouse table)';
COMMENT ON COLUMN stock_history.changed_by IS 'cross-database reference to db_core.users.id; no FK';

CREATE INDEX idx_stock_history_product_changed ON stock_history(product_id, changed_at DESC, id DESC);
CREATE INDEX idx_stock_history_changed_by ON stock_history(changed_by) WHERE changed_by IS NOT NULL;

-- seed 001: active product lists, newest first.
CREATE INDEX idx_products_active_created_desc
    ON products(is_active, created_at DESC)
    WHERE is_active = true;

-- seed 001: SKU search among active products (index-only with the title).
CREATE INDEX idx_products_sku_active_title
    ON products(sku, is_active, title)
    WHERE is_active = true;

-- Keyset pagination (ORDER BY created_at DESC, id DESC), unfiltered and per supplier/brand/category.
CREATE INDEX idx_products_created_id ON products(created_at DESC, id DESC);
CREATE INDEX idx_products_supplier_created_id ON products(supplier_id, created_at DESC, id DESC);
CREATE INDEX idx_products_brand_created_id ON products(brand_id, created_at DESC, id DESC);
CREATE INDEX idx_products_category_created_id ON products(category_id, created_at DESC, id DESC);

-- Title search (ILIKE '%...%', similarity) for the GraphQL products(search:) filter.
CREATE INDEX idx_products_title_trgm ON products USING gin (title gin_trgm_ops);

-- Category tree walks (children of a category) and the self-referencing FK.
CREATE INDEX idx_categories_parent_id ON categories(parent_id);

-- migrate:down
DROP INDEX idx_categories_parent_id;
DROP INDEX idx_products_title_trgm;
DROP INDEX idx_products_category_created_id;
DROP INDEX idx_products_brand_created_id;
DROP INDEX idx_products_supplier_created_id;
DROP INDEX idx_products_created_id;
DROP INDEX idx_products_sku_active_title;
DROP INDEX idx_products_active_created_desc;
DROP TABLE stock_history;
DROP TABLE price_history;
DROP TABLE product_variants;
DROP EXTENSION IF EXISTS pg_trgm;
