-- migrate:up
-- db_imports: seed 001 additions: import_logs partitioned by month, import_errors, import_files,
-- import_statistics, the seed 001 composite indexes, the indexes for cross-database reference columns and
-- foreign keys, and the keyset-pagination indexes (ORDER BY created_at DESC, id DESC) of the GraphQL API.
-- Plain CREATE INDEX (not CONCURRENTLY as in the seed): each migration runs in one transaction, where
-- CONCURRENTLY is not allowed.
-- seed 001's import_mappings is not created: column mappings already live in import_configs.field_mapping
-- and mapping_templates.field_mapping, and a third copy would have no single source of truth.

-- seed 001: the dashboard's most frequent query (jobs by status, newest first).
CREATE INDEX idx_import_jobs_status_created ON import_jobs(status, created_at DESC);
CREATE INDEX idx_import_jobs_created_id ON import_jobs(created_at DESC, id DESC);
CREATE INDEX idx_import_jobs_supplier_created_id ON import_jobs(supplier_code, created_at DESC, id DESC);
CREATE INDEX idx_import_jobs_created_by ON import_jobs(created_by);
CREATE INDEX idx_import_jobs_config_id ON import_jobs(config_id);
CREATE INDEX idx_import_schedules_config_id ON import_schedules(config_id);
CREATE INDEX idx_mapping_templates_supplier_code ON mapping_templates(supplier_code);

-- The seed's "id SERIAL, job_id INTEGER" do not fit this schema (import_jobs.id is a UUID).
-- A partitioned table's primary key must include the partition key, hence (id, created_at).
CREATE TABLE import_logs (
    id BIGINT GENERATED ALWAYS AS IDENTITY,
    job_id UUID NOT NULL REFERENCES import_jobs(id) ON DELETE CASCADE,
    log_level VARCHAR(20) NOT NULL DEFAULT 'info'
        CONSTRAINT import_logs_log_level_check
        CHECK (log_level IN ('debug', 'info', 'warning', 'error', 'critical')),
    message TEXT NOT NULL,
    context JSONB,
    row_number INTEGER,
    created_at TIMESTAMP NOT NULL DEFAULT NOW(),
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);

-- seed 001: a job's logs, newest first, filtered by level. Created on the parent, so every partition gets it.
CREATE INDEX idx_import_logs_job_created_level ON import_logs(job_id, created_at DESC, log_level);

-- Catches every row no monthly partition covers, so an insert never fails for lack of a partition.
CREATE TABLE import_logs_default PARTITION OF import_logs DEFAULT;

-- Creates the monthly partitions import_logs_yYYYYmMM for the month of p_from and the p_months_ahead
-- following months; returns how many it created. Idempotent, and safe to call from several processes at
-- once. Rows of a new month already sitting in the default partition are moved into the new partition
-- (ATTACH PARTITION refuses while the default partition holds rows of the new range).
-- Call it periodically (e.g. daily, ensure_import_logs_partitions(1)) so next month exists in time.
CREATE FUNCTION ensure_import_logs_partitions(
    p_months_ahead integer DEFAULT 1,
    p_from date DEFAULT CURRENT_DATE
) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_parent   regclass := 'import_logs'::regclass;
    v_schema   name;
    v_default  regclass;
    v_first    date;
    v_lo       date;
    v_hi       date;
    v_name     text;
    v_existing oid;
    v_created  integer := 0;
BEGIN
    IF p_months_ahead IS NULL OR p_months_ahead < 0 THEN
        RAISE EXCEPTION 'p_months_ahead must be a non-negative integer, got %', p_months_ahead;
    END IF;
    IF p_from IS NULL THEN
        RAISE EXCEPTION 'p_from must not be NULL';
    END IF;

    SELECT c.relnamespace::regnamespace::name INTO v_schema FROM pg_class c WHERE c.oid = v_parent;

    -- Serialise concurrent callers; released at commit.
    PERFORM pg_advisory_xact_lock(hashtext('ensure_import_logs_partitions'));

    v_first := date_trunc('month', p_from)::date;

    FOR i IN 0..p_months_ahead LOOP
        v_lo := (v_first + make_interval(months => i))::date;
        v_hi := (v_lo + interval '1 month')::date;
        v_name := 'import_logs_' || to_char(v_lo, '"y"YYYY"m"MM');

        SELECT c.oid INTO v_existing
        FROM pg_class c
        WHERE c.relname = v_name AND c.relnamespace = v_schema::regnamespace;

        IF FOUND THEN
            IF NOT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = v_existing AND inhparent = v_parent) THEN
                RAISE EXCEPTION 'table %.% exists but is not a partition of %', v_schema, v_name, v_parent;
            END IF;
            CONTINUE;
        END IF;

        SELECT NULLIF(pt.partdefid, 0)::regclass INTO v_default
        FROM pg_partitioned_table pt
        WHERE pt.partrelid = v_parent;

        EXECUTE format('CREATE TABLE %I.%I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                       v_schema, v_name, v_parent);

        IF v_default IS NOT NULL THEN
            -- Block inserts into the default partition until the new partition is attached (ATTACH takes
            -- this lock anyway), so no row of the new month can slip in between the move and the attach.
            EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', v_default);
            EXECUTE format(
                'WITH moved AS (DELETE FROM %s WHERE created_at >= $1 AND created_at < $2 RETURNING *) '
                'INSERT INTO %I.%I OVERRIDING SYSTEM VALUE SELECT * FROM moved',
                v_default, v_schema, v_name)
            USING v_lo::timestamp, v_hi::timestamp;
        END IF;

        EXECUTE format('ALTER TABLE %s ATTACH PARTITION %I.%I FOR VALUES FROM (%L) TO (%L)',
                       v_parent, v_schema, v_name,
                       to_char(v_lo, 'YYYY-MM-DD'), to_char(v_hi, 'YYYY-MM-DD'));
        v_created := v_created + 1;
    END LOOP;

    RETURN v_created;
END;
$$;

-- Current and next month.
SELECT ensure_import_logs_partitions(1);

CREATE TABLE import_errors (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    job_id UUID NOT NULL REFERENCES import_jobs(id) ON DELETE CASCADE,
    -- 1-based data row of the source file; NULL for file-level errors.
    row_number INTEGER,
    column_name VARCHAR(255),
    error_code VARCHAR(100) NOT NULL,
    message TEXT NOT NULL,
    raw_value TEXT,
    raw_row JSONB,
    severity VARCHAR(20) NOT NULL DEFAULT 'error' CHECK (severity IN ('error', 'warning')),
    created_at TIMESTAMP NOT NULL DEFAULT NOW()
);

-- A job's errors in file order (keyset on row_number, id).
CREATE INDEX idx_import_errors_job_row ON import_errors(job_id, row_number, id);

CREATE TABLE import_files (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    job_id UUID NOT NULL REFERENCES import_jobs(id) ON DELETE CASCADE,
    file_name VARCHAR(500) NOT NULL,
    -- SHA-256 of the content, lowercase hex.
    file_hash VARCHAR(64) CHECK (file_hash ~ '^[0-9a-f]{64}$'),
    file_size_bytes BIGINT CHECK (file_size_bytes >= 0),
    mime_type VARCHAR(100),
    file_format VARCHAR(50),  -- 'csv', 'xlsx', 'xml', 'json'
    encoding VARCHAR(50),
    source VARCHAR(50),       -- 'upload', 'ftp', 'sftp', 'email', 'http'
    storage_type VARCHAR(50), -- 'minio', 's3', 'local'
    bucket_name VARCHAR(100),
    object_key TEXT,
    row_count INTEGER CHECK (row_count >= 0),
    uploaded_at TIMESTAMP NOT NULL DEFAULT NOW()
);

CREATE INDEX idx_import_files_job_id ON import_files(job_id);
-- Detects a file that was already imported (same content, any job).
CREATE INDEX idx_import_files_file_hash ON import_files(file_hash);

-- Final figures of a finished job that import_jobs does not carry (its live counters stay there).
CREATE TABLE import_statistics (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    job_id UUID NOT NULL UNIQUE REFERENCES import_jobs(id) ON DELETE CASCADE,
    skipped_rows INTEGER NOT NULL DEFAULT 0,
    duplicate_rows INTEGER NOT NULL DEFAULT 0,
    products_unchanged INTEGER NOT NULL DEFAULT 0,
    warning_count INTEGER NOT NULL DEFAULT 0,
    -- e.g. {"INVALID_EAN": 12, "MISSING_PRICE": 3}
    errors_by_code JSONB NOT NULL DEFAULT '{}',
    file_count INTEGER NOT NULL DEFAULT 0,
    bytes_processed BIGINT NOT NULL DEFAULT 0,
    download_duration_ms BIGINT,
    parse_duration_ms BIGINT,
    validation_duration_ms BIGINT,
    persist_duration_ms BIGINT,
    total_duration_ms BIGINT,
    rows_per_second NUMERIC(12, 2),
    created_at TIMESTAMP NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMP NOT NULL DEFAULT NOW()
);

CREATE TRIGGER trg_import_statistics_set_updated_at
    BEFORE UPDATE ON import_statistics
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- migrate:down
DROP TABLE import_statistics;
DROP TABLE import_files;
DROP TABLE import_errors;
DROP FUNCTION ensure_import_logs_partitions(integer, date);
-- Dropping the partitioned table drops all its partitions, the default one included.
DROP TABLE import_logs;
DROP INDEX idx_mapping_templates_supplier_code;
DROP INDEX idx_import_schedules_config_id;
DROP INDEX idx_import_jobs_config_id;
DROP INDEX idx_import_jobs_created_by;
DROP INDEX idx_import_jobs_supplier_created_id;
DROP INDEX idx_import_jobs_created_id;
DROP INDEX idx_import_jobs_status_created;
