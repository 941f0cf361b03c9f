-- migrate:up
-- What each committed batch of an import wrote, keyed by (import job, first source row): a batch sent again
-- (a worker that died between catalog's commit and its own checkpoint) gets the stored verdicts back instead
-- of being applied twice, so the job's counters stay exact. Receipts older than a week are pruned by the
-- writes themselves.
CREATE TABLE import_batch_receipts (
    job_id UUID NOT NULL,
    first_row INTEGER NOT NULL,
    -- {"statuses": "CCUNF…" (one letter per row: Created, Updated, uNchanged, Failed), "errors": {"<index>": {code, field, message}}}
    result JSONB NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT NOW(),
    PRIMARY KEY (job_id, first_row)
);
COMMENT ON COLUMN import_batch_receipts.job_id IS 'cross-database reference to db_imports.import_jobs.id; no FK';

CREATE INDEX idx_import_batch_receipts_created ON import_batch_receipts (created_at);

-- migrate:down
DROP TABLE IF EXISTS import_batch_receipts;
