-- migrate:up
-- db_analytics: seed 000 tables (product_metrics, supplier_metrics, import_metrics), daily aggregates.

CREATE TABLE product_metrics (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    product_id UUID NOT NULL,  -- Reference cross-DB
    date DATE NOT NULL,
    view_count INTEGER DEFAULT 0,
    sales_count INTEGER DEFAULT 0,
    conversion_rate NUMERIC(5, 4),
    revenue NUMERIC(12, 2),
    created_at TIMESTAMP DEFAULT NOW()
);

COMMENT ON COLUMN product_metrics.product_id IS 'cross-database reference to db_catalog.products.id; no FK';

CREATE TABLE supplier_metrics (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    supplier_id UUID NOT NULL,
    date DATE NOT NULL,
    products_count INTEGER DEFAULT 0,
    imports_count INTEGER DEFAULT 0,
    success_rate NUMERIC(5, 2),
    avg_processing_time INTEGER
);

COMMENT ON COLUMN supplier_metrics.supplier_id IS 'cross-database reference to db_catalog.suppliers.id; no FK';

CREATE TABLE import_metrics (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    date DATE NOT NULL,
    total_imports INTEGER DEFAULT 0,
    successful_imports INTEGER DEFAULT 0,
    failed_imports INTEGER DEFAULT 0,
    total_products_processed INTEGER DEFAULT 0,
    avg_processing_time INTEGER
);

-- migrate:down
DROP TABLE import_metrics;
DROP TABLE supplier_metrics;
DROP TABLE product_metrics;
