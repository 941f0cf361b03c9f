-- migrate:up
-- db_core: seed 002 additions. app_settings holds runtime configuration; the module switches of v4.5
-- are rows with category = 'modules' (DB value wins over MODULE_<ID>_ENABLED, which wins over the default).
-- api_keys holds partner credentials for the GraphQL gateway.

CREATE TABLE app_settings (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    key VARCHAR(255) NOT NULL UNIQUE,
    value JSONB NOT NULL,
    category VARCHAR(50) NOT NULL DEFAULT 'general',
    description TEXT,
    -- Secret values are never returned by the API, only whether they are set.
    is_secret BOOLEAN NOT NULL DEFAULT FALSE,
    updated_by UUID REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMP NOT NULL DEFAULT NOW()
);

CREATE INDEX idx_app_settings_category ON app_settings(category);

CREATE TRIGGER trg_app_settings_set_updated_at
    BEFORE UPDATE ON app_settings
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE api_keys (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name VARCHAR(255) NOT NULL,
    -- Public, non-secret start of the key (e.g. 'pm_3f9a1c7e'), shown in UIs and logs to identify a key.
    key_prefix VARCHAR(16) NOT NULL UNIQUE,
    -- SHA-256 (lowercase hex) of the full key; the key itself is shown once at creation and never stored.
    key_hash VARCHAR(64) NOT NULL UNIQUE CHECK (key_hash ~ '^[0-9a-f]{64}$'),
    scopes TEXT[] NOT NULL DEFAULT '{}',
    rate_limit_per_minute INTEGER NOT NULL DEFAULT 60 CHECK (rate_limit_per_minute > 0),
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    last_used_at TIMESTAMP,
    expires_at TIMESTAMP,
    revoked_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL DEFAULT NOW()
);

CREATE INDEX idx_api_keys_user_id ON api_keys(user_id);

-- migrate:down
-- Dropping a table also drops its indexes and triggers.
DROP TABLE api_keys;
DROP TABLE app_settings;
