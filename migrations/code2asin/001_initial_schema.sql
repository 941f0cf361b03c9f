-- migrate:up
-- db_code2asin: seed 000 tables and indexes (code2asin_jobs, code2asin_results).

CREATE TABLE code2asin_jobs (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(255) DEFAULT 'Code2ASIN Job',
    status VARCHAR(50) NOT NULL DEFAULT 'pending',
    supplier_code VARCHAR(100),

    -- Statistiques
    total_codes INTEGER DEFAULT 0,
    processed_codes INTEGER DEFAULT 0,
    successful_conversions INTEGER DEFAULT 0,
    failed_conversions INTEGER DEFAULT 0,
    progress_percentage INTEGER DEFAULT 0,

    -- Match Quality
    exact_matches INTEGER DEFAULT 0,
    fuzzy_matches INTEGER DEFAULT 0,
    no_matches INTEGER DEFAULT 0,

    -- Configuration
    batch_size INTEGER DEFAULT 100,
    retry_count INTEGER DEFAULT 0,
    max_retries INTEGER DEFAULT 5,
    search_config JSONB,

    started_at TIMESTAMP,
    completed_at TIMESTAMP,
    created_at TIMESTAMP DEFAULT NOW()
);

COMMENT ON COLUMN code2asin_jobs.supplier_code IS 'cross-database reference to db_catalog.suppliers.code; no FK';

CREATE INDEX idx_code2asin_jobs_status ON code2asin_jobs(status);
CREATE INDEX idx_code2asin_jobs_supplier_code ON code2asin_jobs(supplier_code);

CREATE TABLE code2asin_results (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    job_id UUID NOT NULL REFERENCES code2asin_jobs(id) ON DELETE CASCADE,
    product_id UUID NOT NULL,  -- Reference cross-DB
    product_ean VARCHAR(255),
    product_title VARCHAR(500),

    -- Amazon Match
    asin VARCHAR(20),
    amazon_title TEXT,
    match_confidence NUMERIC(5, 2),
    match_type VARCHAR(50),  -- 'exact', 'partial', 'fuzzy', 'manual'

    -- Amazon Data (JSONB)
    amazon_data JSONB,
    amazon_images JSONB,
    amazon_price NUMERIC(10, 2),
    amazon_currency VARCHAR(3) DEFAULT 'EUR',

    -- Category & Ratings
    amazon_category VARCHAR(255),
    amazon_rating NUMERIC(3, 2),
    amazon_review_count INTEGER,

    processed_at TIMESTAMP DEFAULT NOW(),
    is_verified BOOLEAN DEFAULT FALSE
);

COMMENT ON COLUMN code2asin_results.product_id IS 'cross-database reference to db_catalog.products.id; no FK';

CREATE INDEX idx_code2asin_results_job_id ON code2asin_results(job_id);
CREATE INDEX idx_code2asin_results_product_id ON code2asin_results(product_id);
CREATE INDEX idx_code2asin_results_asin ON code2asin_results(asin);

-- migrate:down
DROP TABLE code2asin_results;
DROP TABLE code2asin_jobs;
