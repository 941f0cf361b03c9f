-- migrate:up
-- Transactional outbox: a mutation writes its audit entry here in its own transaction, and the
-- service's relay delivers it to db_analytics.audit_logs (idempotent on id), so an entry is never
-- lost while analytics is down and never makes the mutation fail.
CREATE TABLE audit_outbox (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id UUID,
    action VARCHAR(50) NOT NULL,
    entity_type VARCHAR(100) NOT NULL,
    entity_id VARCHAR(255),
    changes JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMP NOT NULL DEFAULT NOW(),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
COMMENT ON COLUMN audit_outbox.user_id IS 'cross-database reference to db_core.users.id; no FK';

CREATE INDEX idx_audit_outbox_created ON audit_outbox (created_at, id);

-- migrate:down
DROP TABLE IF EXISTS audit_outbox;
