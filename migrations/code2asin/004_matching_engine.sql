-- migrate:up
-- The matching engine: what a job runs on (its target, its catalogue provider), where it stands (the products
-- it covers in order, its checkpoint, the runner holding it), and lookups that failed.

ALTER TABLE code2asin_jobs
    -- 'products', 'supplier' or 'unverified'; NULL for a job whose results callers record themselves.
    ADD COLUMN target VARCHAR(20),
    -- The catalogue provider (kind, endpoints, credentials, rate); NULL: results are recorded by callers.
    ADD COLUMN provider_config JSONB,
    -- Matches at or above this confidence are verified (and written to the catalog) by the worker.
    ADD COLUMN auto_verify_confidence NUMERIC(5, 2),
    -- Positions of code2asin_job_products done, every one before it answered.
    ADD COLUMN checkpoint INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN runner_id UUID,
    ADD COLUMN heartbeat_at TIMESTAMP,
    ADD COLUMN cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN failed_lookups INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN provider_requests INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN last_error TEXT,
    ADD COLUMN created_by UUID,
    ADD CONSTRAINT chk_code2asin_jobs_target CHECK (target IN ('products', 'supplier', 'unverified')),
    ADD CONSTRAINT chk_code2asin_jobs_auto_verify CHECK (auto_verify_confidence BETWEEN 0 AND 100);

COMMENT ON COLUMN code2asin_jobs.created_by IS 'cross-database reference to db_core.users.id; no FK';
CREATE INDEX idx_code2asin_jobs_created_by ON code2asin_jobs(created_by);

-- The products a worker-run job covers, in the order it asks about them (taken once, when it first runs).
CREATE TABLE code2asin_job_products (
    job_id UUID NOT NULL REFERENCES code2asin_jobs(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    product_id UUID NOT NULL,
    PRIMARY KEY (job_id, position)
);

COMMENT ON COLUMN code2asin_job_products.product_id IS 'cross-database reference to db_catalog.products.id; no FK';
CREATE INDEX idx_code2asin_job_products_product_id ON code2asin_job_products(product_id);

-- A lookup the provider could not answer (bad answer, refused item): a result without an asin carrying why.
ALTER TABLE code2asin_results
    ADD COLUMN error_code VARCHAR(50),
    ADD COLUMN error_message TEXT;

CREATE INDEX idx_code2asin_results_job_product ON code2asin_results(job_id, product_id);
CREATE INDEX idx_code2asin_results_verified_product ON code2asin_results(product_id) WHERE is_verified;

-- migrate:down
DROP INDEX idx_code2asin_results_verified_product;
DROP INDEX idx_code2asin_results_job_product;
ALTER TABLE code2asin_results DROP COLUMN error_message, DROP COLUMN error_code;
DROP TABLE code2asin_job_products;
DROP INDEX idx_code2asin_jobs_created_by;
ALTER TABLE code2asin_jobs
    DROP CONSTRAINT chk_code2asin_jobs_auto_verify,
    DROP CONSTRAINT chk_code2asin_jobs_target,
    DROP COLUMN created_by,
    DROP COLUMN last_error,
    DROP COLUMN provider_requests,
    DROP COLUMN failed_lookups,
    DROP COLUMN cancel_requested,
    DROP COLUMN heartbeat_at,
    DROP COLUMN runner_id,
    DROP COLUMN checkpoint,
    DROP COLUMN auto_verify_confidence,
    DROP COLUMN provider_config,
    DROP COLUMN target;
