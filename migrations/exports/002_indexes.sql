-- migrate:up
-- db_exports: indexes the seed leaves out: foreign keys, the cross-database product reference, and the
-- keyset-pagination indexes (ORDER BY created_at DESC, id DESC) of the GraphQL API.

CREATE INDEX idx_export_jobs_platform_id ON export_jobs(platform_id);
CREATE INDEX idx_export_jobs_created_id ON export_jobs(created_at DESC, id DESC);
CREATE INDEX idx_export_jobs_status_created_id ON export_jobs(status, created_at DESC, id DESC);
CREATE INDEX idx_export_job_items_job_id ON export_job_items(job_id);
-- Product.exportItems batches on product_id = ANY($1).
CREATE INDEX idx_export_job_items_product_id ON export_job_items(product_id);

-- migrate:down
DROP INDEX idx_export_job_items_product_id;
DROP INDEX idx_export_job_items_job_id;
DROP INDEX idx_export_jobs_status_created_id;
DROP INDEX idx_export_jobs_created_id;
DROP INDEX idx_export_jobs_platform_id;
