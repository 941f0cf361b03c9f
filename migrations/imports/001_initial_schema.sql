-- migrate:up
-- db_imports: seed 000 tables and indexes (import_configs, import_jobs, import_schedules,
-- mapping_templates), plus the updated_at trigger function.

CREATE TABLE import_configs (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    supplier_code VARCHAR(50) NOT NULL,
    import_type VARCHAR(50) NOT NULL,
    config_name VARCHAR(255) NOT NULL,
    is_active BOOLEAN DEFAULT TRUE,

    -- Configuration (JSONB)
    connection_config JSONB NOT NULL,  -- FTP, SFTP, Email, HTTP
    schedule_config JSONB,

    -- File handling
    file_pattern VARCHAR(255),
    file_format VARCHAR(50),  -- 'csv', 'xlsx', 'xml', 'json'
    encoding VARCHAR(50) DEFAULT 'UTF-8',
    delimiter VARCHAR(10) DEFAULT ';',

    -- Mapping & Rules (JSONB)
    field_mapping JSONB,
    transformation_rules JSONB,
    validation_rules JSONB,

    created_at TIMESTAMP DEFAULT NOW(),
    updated_at TIMESTAMP DEFAULT NOW()
);

COMMENT ON COLUMN import_configs.supplier_code IS 'cross-database reference to db_catalog.suppliers.code; no FK';

CREATE INDEX idx_import_configs_supplier_code ON import_configs(supplier_code);
CREATE INDEX idx_import_configs_is_active ON import_configs(is_active);

CREATE TABLE import_jobs (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    config_id UUID REFERENCES import_configs(id),
    supplier_code VARCHAR(50) NOT NULL,
    import_type VARCHAR(50) NOT NULL,

    -- Statut
    status VARCHAR(50) NOT NULL DEFAULT 'pending',
    started_at TIMESTAMP,
    completed_at TIMESTAMP,
    duration_seconds INTEGER,

    -- Statistiques
    total_rows INTEGER DEFAULT 0,
    processed_rows INTEGER DEFAULT 0,
    successful_rows INTEGER DEFAULT 0,
    failed_rows INTEGER DEFAULT 0,
    products_created INTEGER DEFAULT 0,
    products_updated INTEGER DEFAULT 0,

    -- Erreurs
    error_count INTEGER DEFAULT 0,
    last_error TEXT,

    created_by UUID,  -- Reference cross-DB vers users
    created_at TIMESTAMP DEFAULT NOW()
);

COMMENT ON COLUMN import_jobs.supplier_code IS 'cross-database reference to db_catalog.suppliers.code; no FK';
COMMENT ON COLUMN import_jobs.created_by IS 'cross-database reference to db_core.users.id; no FK';

CREATE INDEX idx_import_jobs_status ON import_jobs(status);
CREATE INDEX idx_import_jobs_created_at ON import_jobs(created_at);
CREATE INDEX idx_import_jobs_supplier_code ON import_jobs(supplier_code);

CREATE TABLE import_schedules (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    config_id UUID REFERENCES import_configs(id),
    cron_expression VARCHAR(100) NOT NULL,
    is_active BOOLEAN DEFAULT TRUE,
    last_run TIMESTAMP,
    next_run TIMESTAMP
);

CREATE TABLE mapping_templates (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(255) NOT NULL,
    supplier_code VARCHAR(50),
    field_mapping JSONB NOT NULL,
    is_default BOOLEAN DEFAULT FALSE,
    created_at TIMESTAMP DEFAULT NOW()
);

COMMENT ON COLUMN mapping_templates.supplier_code IS 'cross-database reference to db_catalog.suppliers.code; no FK';

-- Keeps updated_at honest whatever client writes the row (one copy per database: functions are per-database).
CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := NOW();
    RETURN NEW;
END;
$$;

CREATE TRIGGER trg_import_configs_set_updated_at
    BEFORE UPDATE ON import_configs
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- migrate:down
DROP TRIGGER trg_import_configs_set_updated_at ON import_configs;
DROP FUNCTION set_updated_at();
DROP TABLE mapping_templates;
DROP TABLE import_schedules;
DROP TABLE import_jobs;
DROP TABLE import_configs;
