-- migrate:up
-- db_catalog: seed 000 tables and indexes (suppliers, brands, categories, products, product_prices,
-- product_stocks), plus the updated_at trigger function. Tables are created in dependency order
-- (the seed lists products first, but it references suppliers and brands).

CREATE TABLE suppliers (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    code VARCHAR(50) NOT NULL UNIQUE,
    name VARCHAR(255) NOT NULL,
    is_active BOOLEAN DEFAULT TRUE,
    contact_email VARCHAR(255),
    contact_phone VARCHAR(50),
    address TEXT,
    country VARCHAR(2) DEFAULT 'FR',
    created_at TIMESTAMP DEFAULT NOW(),
    updated_at TIMESTAMP DEFAULT NOW()
);

-- Seed index; redundant with the UNIQUE index on code but named by the seed, so kept.
CREATE INDEX idx_suppliers_code ON suppliers(code);
CREATE INDEX idx_suppliers_is_active ON suppliers(is_active);

CREATE TABLE brands (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    code VARCHAR(50) UNIQUE,
    name VARCHAR(255) NOT NULL,
    logo_url TEXT,
    is_active BOOLEAN DEFAULT TRUE
);

CREATE TABLE categories (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(255) NOT NULL,
    slug VARCHAR(255) UNIQUE,
    parent_id UUID REFERENCES categories(id),
    is_active BOOLEAN DEFAULT TRUE
);

CREATE TABLE products (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),

    -- Identifiants
    ean VARCHAR(20),
    asin VARCHAR(20),
    sku VARCHAR(100),
    upc VARCHAR(12),
    gtin VARCHAR(14),
    manufacturer_reference VARCHAR(100),
    external_id VARCHAR(255),

    -- Info de base
    title VARCHAR(500) NOT NULL,
    description TEXT,
    short_description VARCHAR(500),

    -- Relations (the seed gives category_id no foreign key; kept as written)
    supplier_id UUID REFERENCES suppliers(id),
    category_id UUID,
    brand_id UUID REFERENCES brands(id),

    -- Statut
    status VARCHAR(50) DEFAULT 'active',
    is_active BOOLEAN DEFAULT TRUE,

    -- Dimensions & Poids
    weight NUMERIC(10, 3),
    width NUMERIC(10, 2),
    height NUMERIC(10, 2),
    depth NUMERIC(10, 2),

    -- Specs techniques (JSONB flexible)
    technical_specs JSONB,

    -- Timestamps
    created_at TIMESTAMP DEFAULT NOW(),
    updated_at TIMESTAMP DEFAULT NOW()
);

CREATE INDEX idx_products_ean ON products(ean);
CREATE INDEX idx_products_asin ON products(asin);
CREATE INDEX idx_products_sku ON products(sku);
CREATE INDEX idx_products_supplier_id ON products(supplier_id);
CREATE INDEX idx_products_is_active ON products(is_active);
CREATE INDEX idx_products_created_at ON products(created_at);

CREATE TABLE product_prices (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    product_id UUID NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    supplier_id UUID REFERENCES suppliers(id),
    price_type VARCHAR(50) NOT NULL DEFAULT 'retail',
    price NUMERIC(10, 2) NOT NULL,
    cost NUMERIC(10, 2),
    margin NUMERIC(5, 2),
    currency VARCHAR(3) DEFAULT 'EUR',
    min_quantity INTEGER DEFAULT 1,
    valid_from TIMESTAMP DEFAULT NOW(),
    valid_until TIMESTAMP,
    is_active BOOLEAN DEFAULT TRUE,
    created_at TIMESTAMP DEFAULT NOW()
);

CREATE INDEX idx_product_prices_product_id ON product_prices(product_id);
CREATE INDEX idx_product_prices_is_active ON product_prices(is_active);

CREATE TABLE product_stocks (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    product_id UUID REFERENCES products(id) ON DELETE CASCADE,
    warehouse_id UUID,
    quantity INTEGER NOT NULL DEFAULT 0,
    reserved_quantity INTEGER DEFAULT 0,
    available_quantity INTEGER GENERATED ALWAYS AS (quantity - reserved_quantity) STORED,
    min_stock INTEGER DEFAULT 0,
    last_update TIMESTAMP DEFAULT NOW()
);

CREATE INDEX idx_product_stocks_product_id ON product_stocks(product_id);

-- Keeps updated_at honest whatever client writes the row (one copy per database: functions are per-database).
CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := NOW();
    RETURN NEW;
END;
$$;

CREATE TRIGGER trg_suppliers_set_updated_at
    BEFORE UPDATE ON suppliers
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TRIGGER trg_products_set_updated_at
    BEFORE UPDATE ON products
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- migrate:down
DROP TRIGGER trg_products_set_updated_at ON products;
DROP TRIGGER trg_suppliers_set_updated_at ON suppliers;
DROP FUNCTION set_updated_at();
DROP TABLE product_stocks;
DROP TABLE product_prices;
DROP TABLE products;
DROP TABLE categories;
DROP TABLE brands;
DROP TABLE suppliers;
