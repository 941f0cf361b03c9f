-- migrate:up
-- db_exports: seed 000 tables (export_platforms, export_jobs, export_job_items).

CREATE TABLE export_platforms (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(255) UNIQUE NOT NULL,
    platform_type VARCHAR(50) NOT NULL,  -- 'shopify', 'woocommerce', 'minio'
    is_active BOOLEAN DEFAULT TRUE,
    config JSONB NOT NULL,
    field_mappings JSONB,
    created_at TIMESTAMP DEFAULT NOW()
);

CREATE TABLE export_jobs (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    platform_id UUID REFERENCES export_platforms(id),
    job_type VARCHAR(50) NOT NULL,
    status VARCHAR(50) NOT NULL DEFAULT 'pending',
    total_items INTEGER DEFAULT 0,
    success_items INTEGER DEFAULT 0,
    failed_items INTEGER DEFAULT 0,
    started_at TIMESTAMP,
    completed_at TIMESTAMP,
    created_at TIMESTAMP DEFAULT NOW()
);

CREATE TABLE export_job_items (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    job_id UUID REFERENCES export_jobs(id) ON DELETE CASCADE,
    product_id UUID NOT NULL,  -- Reference cross-DB
    status VARCHAR(50) NOT NULL DEFAULT 'pending',
    error_message TEXT,
    exported_data JSONB,
    response_data JSONB,
    processed_at TIMESTAMP
);

COMMENT ON COLUMN export_job_items.product_id IS 'cross-database reference to db_catalog.products.id; no FK';

-- migrate:down
DROP TABLE export_job_items;
DROP TABLE export_jobs;
DROP TABLE export_platforms;
