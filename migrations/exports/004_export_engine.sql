-- migrate:up
-- The export engine: a job the worker runs produces a feed file (csv, xlsx, json, xml) for the products it
-- selects and delivers it (download, SFTP/FTP, a shop's API). The worker holds a job with a lease (runner,
-- heartbeat) and checkpoints after each page of products (cursor, staged part count), so a resumed job
-- continues where the last committed page ended and no product is exported twice.
ALTER TABLE export_jobs
    ADD COLUMN format VARCHAR(10),
    ADD COLUMN selection JSONB,
    ADD COLUMN created_by UUID,
    ADD COLUMN runner_id UUID,
    ADD COLUMN heartbeat_at TIMESTAMP,
    ADD COLUMN phase VARCHAR(20),
    ADD COLUMN page_cursor TEXT,
    ADD COLUMN parts INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN file_key TEXT,
    ADD COLUMN file_size BIGINT,
    ADD COLUMN file_sha256 VARCHAR(64),
    ADD COLUMN delivered_to TEXT,
    ADD COLUMN last_error TEXT;

COMMENT ON COLUMN export_jobs.created_by IS 'cross-database reference to db_core.users.id; no FK';
COMMENT ON COLUMN export_jobs.phase IS 'collect (pages of products), assemble (the feed file), deliver (push), done';

-- The worker's push phase reads a job's items still pending, in id order.
CREATE INDEX idx_export_job_items_job_status_id ON export_job_items (job_id, status, id);
-- "Changed since the last export": the platform's latest completed job.
CREATE INDEX idx_export_jobs_platform_completed ON export_jobs (platform_id, completed_at DESC)
    WHERE status = 'completed';

-- migrate:down
DROP INDEX IF EXISTS idx_export_jobs_platform_completed;
DROP INDEX IF EXISTS idx_export_job_items_job_status_id;
ALTER TABLE export_jobs
    DROP COLUMN last_error,
    DROP COLUMN delivered_to,
    DROP COLUMN file_sha256,
    DROP COLUMN file_size,
    DROP COLUMN file_key,
    DROP COLUMN parts,
    DROP COLUMN page_cursor,
    DROP COLUMN phase,
    DROP COLUMN heartbeat_at,
    DROP COLUMN runner_id,
    DROP COLUMN created_by,
    DROP COLUMN selection,
    DROP COLUMN format;
