-- migrate:up
-- db_catalog: seed 002's db_suppliers folds into the catalog: extended supplier data (one row per
-- supplier, kept out of suppliers so the hot table stays narrow) and EAN resolutions (which product an
-- EAN resolves to, according to which source).

CREATE TABLE supplier_details (
    supplier_id UUID PRIMARY KEY REFERENCES suppliers(id) ON DELETE CASCADE,
    legal_name VARCHAR(255),
    vat_number VARCHAR(50),
    website TEXT,
    default_currency VARCHAR(3) NOT NULL DEFAULT 'EUR',
    payment_terms VARCHAR(100),
    lead_time_days INTEGER CHECK (lead_time_days >= 0),
    minimum_order_amount NUMERIC(10, 2) CHECK (minimum_order_amount >= 0),
    notes TEXT,
    -- Free-form supplier-specific data (contacts, portal URLs, ...).
    extra JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMP NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMP NOT NULL DEFAULT NOW()
);

CREATE TRIGGER trg_supplier_details_set_updated_at
    BEFORE UPDATE ON supplier_details
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE ean_resolutions (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    -- EANs are strings (v4 "defense-in-depth"): digits only, leading zeros kept.
    ean VARCHAR(20) NOT NULL CHECK (ean ~ '^[0-9]{8,14}$'),
    -- NULL records a lookup that found nothing, so the source is not asked again at once.
    product_id UUID REFERENCES products(id) ON DELETE CASCADE,
    source VARCHAR(50) NOT NULL,  -- 'catalog', 'icecat', 'code2asin', 'ean_lookup', 'manual'
    confidence NUMERIC(5, 2) CHECK (confidence BETWEEN 0 AND 100),
    resolved_data JSONB,
    resolved_at TIMESTAMP NOT NULL DEFAULT NOW(),
    CONSTRAINT uq_ean_resolutions_ean_source UNIQUE (ean, source)
);

CREATE INDEX idx_ean_resolutions_product_id ON ean_resolutions(product_id);

-- migrate:down
DROP TABLE ean_resolutions;
DROP TABLE supplier_details;
