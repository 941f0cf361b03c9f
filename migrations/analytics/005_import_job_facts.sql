-- migrate:up
-- Import metrics computed from the import jobs themselves: the imports worker reports each job as it ends
-- (one row per job, replaced when reported again, so a retried report counts once), and the per supplier
-- and day figures are recomputed from those rows in the same transaction.

CREATE TABLE import_job_facts (
    job_id UUID PRIMARY KEY,
    supplier_code VARCHAR(50) NOT NULL,
    -- Null while catalog does not know the code (the figures stay in the daily totals).
    supplier_id UUID,
    status VARCHAR(20) NOT NULL CHECK (status IN ('completed', 'failed', 'cancelled')),
    -- The UTC day the job ended: the day its figures count for.
    date DATE NOT NULL,
    rows_processed INTEGER NOT NULL DEFAULT 0 CHECK (rows_processed >= 0),
    products_created INTEGER NOT NULL DEFAULT 0 CHECK (products_created >= 0),
    products_updated INTEGER NOT NULL DEFAULT 0 CHECK (products_updated >= 0),
    rows_failed INTEGER NOT NULL DEFAULT 0 CHECK (rows_failed >= 0),
    duration_seconds INTEGER CHECK (duration_seconds >= 0),
    ended_at TIMESTAMP NOT NULL,
    recorded_at TIMESTAMP NOT NULL DEFAULT NOW()
);

COMMENT ON COLUMN import_job_facts.job_id IS 'cross-database reference to db_imports.import_jobs.id; no FK';
COMMENT ON COLUMN import_job_facts.supplier_id IS 'cross-database reference to db_catalog.suppliers.id; no FK';

-- Recomputing a day (or a date range) reads its jobs by date.
CREATE INDEX idx_import_job_facts_date ON import_job_facts (date);
-- The reference to catalog's suppliers, and a supplier's jobs by day.
CREATE INDEX idx_import_job_facts_supplier_date ON import_job_facts (supplier_id, date);

CREATE TABLE supplier_import_metrics (
    supplier_id UUID NOT NULL,
    date DATE NOT NULL,
    jobs_count INTEGER NOT NULL DEFAULT 0,
    completed_count INTEGER NOT NULL DEFAULT 0,
    failed_count INTEGER NOT NULL DEFAULT 0,
    cancelled_count INTEGER NOT NULL DEFAULT 0,
    rows_processed BIGINT NOT NULL DEFAULT 0,
    products_created BIGINT NOT NULL DEFAULT 0,
    products_updated BIGINT NOT NULL DEFAULT 0,
    rows_failed BIGINT NOT NULL DEFAULT 0,
    -- Seconds, summed over the day's jobs that reported one.
    duration_seconds BIGINT NOT NULL DEFAULT 0,
    computed_at TIMESTAMP NOT NULL DEFAULT NOW(),
    PRIMARY KEY (supplier_id, date)
);

COMMENT ON COLUMN supplier_import_metrics.supplier_id IS 'cross-database reference to db_catalog.suppliers.id; no FK';

-- A background computation of figures (import metrics over a date range, the daily supplier figures): its
-- status, progress and checkpoint, so it can be watched, cancelled and resumed where it stopped.
CREATE TABLE metric_runs (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    kind VARCHAR(30) NOT NULL CHECK (kind IN ('import_metrics', 'supplier_metrics')),
    date_from DATE NOT NULL,
    date_to DATE NOT NULL,
    status VARCHAR(20) NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
    -- Steps done and to do (days for import metrics).
    processed INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL DEFAULT 0,
    -- The last day fully written: a resumed run starts the day after.
    checkpoint_date DATE,
    error_message TEXT,
    cancel_requested_at TIMESTAMP,
    started_at TIMESTAMP,
    completed_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMP NOT NULL DEFAULT NOW(),
    CHECK (date_from <= date_to)
);

CREATE INDEX idx_metric_runs_created_id ON metric_runs (created_at DESC, id DESC);

CREATE TRIGGER trg_metric_runs_set_updated_at
    BEFORE UPDATE ON metric_runs
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- migrate:down
DROP TABLE metric_runs;
DROP TABLE supplier_import_metrics;
DROP TABLE import_job_facts;
