-- migrate:up
-- db_core: the platform's operations (database health reports, VACUUM/ANALYZE/REINDEX, backups and restore
-- drills, cross-database integrity checks and fixes, partition and expiry upkeep), one row per run: what was
-- asked, by whom, its progress and its recorded outcome. The operations worker (core's jobs) runs them.
CREATE TABLE operation_runs (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    kind VARCHAR(30) NOT NULL CONSTRAINT operation_runs_kind_check CHECK (kind IN (
        'report', 'vacuum', 'analyze', 'reindex', 'backup', 'backup_verify',
        'integrity_check', 'integrity_fix', 'upkeep')),
    -- NULL: every database.
    domain VARCHAR(20) CONSTRAINT operation_runs_domain_check CHECK (domain IN (
        'core', 'catalog', 'imports', 'exports', 'media', 'code2asin', 'analytics')),
    target_table VARCHAR(63),
    dry_run BOOLEAN NOT NULL DEFAULT FALSE,
    status VARCHAR(20) NOT NULL DEFAULT 'pending' CONSTRAINT operation_runs_status_check CHECK (status IN (
        'pending', 'running', 'completed', 'failed', 'cancelled')),
    progress INTEGER NOT NULL DEFAULT 0 CONSTRAINT operation_runs_progress_check CHECK (progress BETWEEN 0 AND 100),
    -- The outcome so far: also the checkpoint a resumed run continues from.
    result JSONB NOT NULL DEFAULT '{}',
    error TEXT,
    source VARCHAR(20) NOT NULL DEFAULT 'api' CONSTRAINT operation_runs_source_check CHECK (source IN (
        'api', 'cli', 'schedule')),
    requested_by UUID,
    created_at TIMESTAMP NOT NULL DEFAULT NOW(),
    started_at TIMESTAMP,
    finished_at TIMESTAMP
);
COMMENT ON COLUMN operation_runs.requested_by IS 'reference to db_core.users.id; no FK (runs outlive users)';

-- The latest run of a kind (the last integrity report, the latest health report).
CREATE INDEX idx_operation_runs_kind_created ON operation_runs (kind, created_at DESC);

-- migrate:down
DROP TABLE operation_runs;
