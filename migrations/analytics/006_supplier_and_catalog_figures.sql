-- migrate:up
-- The daily supplier and catalogue figures computed by the analytics worker from catalog and media: one row
-- per supplier and day (supplier_metrics, extended) and one per day for the whole catalogue, so trends can
-- be read. Shares are fractions from 0 to 1.

ALTER TABLE supplier_metrics
    ADD COLUMN active_products_count INTEGER,
    ADD COLUMN avg_price NUMERIC(12, 2),
    ADD COLUMN stock_value NUMERIC(16, 2),
    ADD COLUMN image_share NUMERIC(5, 4),
    ADD COLUMN verified_asin_share NUMERIC(5, 4),
    ADD COLUMN computed_at TIMESTAMP;

CREATE TABLE catalog_metrics (
    date DATE PRIMARY KEY,
    suppliers_count INTEGER NOT NULL DEFAULT 0,
    products_count INTEGER NOT NULL DEFAULT 0,
    active_products_count INTEGER NOT NULL DEFAULT 0,
    avg_price NUMERIC(12, 2),
    stock_value NUMERIC(16, 2),
    image_share NUMERIC(5, 4),
    verified_asin_share NUMERIC(5, 4),
    computed_at TIMESTAMP NOT NULL DEFAULT NOW()
);

-- migrate:down
DROP TABLE catalog_metrics;
ALTER TABLE supplier_metrics
    DROP COLUMN computed_at,
    DROP COLUMN verified_asin_share,
    DROP COLUMN image_share,
    DROP COLUMN stock_value,
    DROP COLUMN avg_price,
    DROP COLUMN active_products_count;
