-- migrate:up
-- db_code2asin: keyset-pagination indexes (ORDER BY created_at DESC, id DESC) of the GraphQL API and the
-- best-match lookup per product.

CREATE INDEX idx_code2asin_jobs_created_id ON code2asin_jobs(created_at DESC, id DESC);
CREATE INDEX idx_code2asin_jobs_status_created_id ON code2asin_jobs(status, created_at DESC, id DESC);

-- Product.asinMatches / bestAsinMatch: a product's matches, best first. NULLS LAST so an unscored
-- result never ranks first; queries must say ORDER BY match_confidence DESC NULLS LAST to use it.
CREATE INDEX idx_code2asin_results_product_confidence
    ON code2asin_results(product_id, match_confidence DESC NULLS LAST);

-- migrate:down
DROP INDEX idx_code2asin_results_product_confidence;
DROP INDEX idx_code2asin_jobs_status_created_id;
DROP INDEX idx_code2asin_jobs_created_id;
