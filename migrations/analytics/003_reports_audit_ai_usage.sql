-- migrate:up
-- db_analytics: seed 002 additions (reports, audit_logs, ai_usage_logs).

-- Keeps updated_at honest whatever client writes the row (one copy per database: functions are per-database).
CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := NOW();
    RETURN NEW;
END;
$$;

CREATE TABLE reports (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(255) NOT NULL,
    report_type VARCHAR(50) NOT NULL,  -- 'catalog_completeness', 'import_summary', 'supplier_performance', ...
    parameters JSONB NOT NULL DEFAULT '{}',
    status VARCHAR(50) NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
    format VARCHAR(20),  -- 'csv', 'xlsx', 'pdf', 'json'
    -- Generated file in object storage (MinIO/S3).
    bucket_name VARCHAR(100),
    object_key TEXT,
    file_size_bytes BIGINT,
    row_count INTEGER,
    error_message TEXT,
    created_by UUID,
    started_at TIMESTAMP,
    completed_at TIMESTAMP,
    expires_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMP NOT NULL DEFAULT NOW()
);

COMMENT ON COLUMN reports.created_by IS 'cross-database reference to db_core.users.id; no FK';

CREATE INDEX idx_reports_created_id ON reports(created_at DESC, id DESC);
CREATE INDEX idx_reports_created_by_created_id ON reports(created_by, created_at DESC, id DESC);
-- Workers pick pending reports oldest first; the API filters lists by status.
CREATE INDEX idx_reports_status_created_id ON reports(status, created_at DESC, id DESC);

CREATE TRIGGER trg_reports_set_updated_at
    BEFORE UPDATE ON reports
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Append-only logs: bigint identity keys are smaller and faster than UUIDs, and nothing refers to a row.
CREATE TABLE audit_logs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- NULL for actions of the system itself (scheduled jobs, migrations).
    user_id UUID,
    action VARCHAR(50) NOT NULL,  -- 'create', 'update', 'delete', 'login', 'export', ...
    entity_type VARCHAR(100) NOT NULL,
    -- Text, because audited ids are UUIDs, integers (roles, permissions) or keys (app_settings).
    entity_id VARCHAR(255),
    -- e.g. {"price": {"old": 10.5, "new": 12}}
    changes JSONB NOT NULL DEFAULT '{}',
    ip_address INET,
    user_agent TEXT,
    created_at TIMESTAMP NOT NULL DEFAULT NOW()
);

COMMENT ON COLUMN audit_logs.user_id IS 'cross-database reference to db_core.users.id; no FK';

CREATE INDEX idx_audit_logs_entity ON audit_logs(entity_type, entity_id, created_at DESC);
CREATE INDEX idx_audit_logs_user_created ON audit_logs(user_id, created_at DESC);
-- Rows arrive in created_at order: a tiny BRIN index serves time-range scans and retention deletes.
CREATE INDEX idx_audit_logs_created_at_brin ON audit_logs USING brin (created_at);

CREATE TABLE ai_usage_logs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id UUID,
    provider VARCHAR(50) NOT NULL,    -- 'openai', 'anthropic', 'mistral', ...
    model VARCHAR(100) NOT NULL,
    operation VARCHAR(100) NOT NULL,  -- 'enrichment', 'translation', 'categorization', ...
    prompt_tokens INTEGER NOT NULL DEFAULT 0 CHECK (prompt_tokens >= 0),
    completion_tokens INTEGER NOT NULL DEFAULT 0 CHECK (completion_tokens >= 0),
    -- As reported by the provider (may count more than prompt + completion, e.g. cached or reasoning tokens).
    total_tokens INTEGER NOT NULL DEFAULT 0 CHECK (total_tokens >= 0),
    cost NUMERIC(12, 6),
    currency VARCHAR(3) NOT NULL DEFAULT 'USD',
    latency_ms INTEGER,
    success BOOLEAN NOT NULL DEFAULT TRUE,
    error_message TEXT,
    created_at TIMESTAMP NOT NULL DEFAULT NOW()
);

COMMENT ON COLUMN ai_usage_logs.user_id IS 'cross-database reference to db_core.users.id; no FK';

CREATE INDEX idx_ai_usage_logs_user_created ON ai_usage_logs(user_id, created_at DESC);
-- Cost dashboards aggregate by period (then provider/model); rows arrive in created_at order.
CREATE INDEX idx_ai_usage_logs_created_at_brin ON ai_usage_logs USING brin (created_at);

-- migrate:down
DROP TABLE ai_usage_logs;
DROP TABLE audit_logs;
DROP TABLE reports;
DROP FUNCTION set_updated_at();
