-- migrate:up
-- db_core: rows of another database kept although the row they refer to is gone (references whose integrity
-- policy is "keep and flag": import history, audit trail, …), flagged by `pm integrity fix` so that an admin
-- can list and fix them; a later check or fix that finds the reference valid again (or the row gone) clears
-- the flag.
CREATE TABLE flagged_references (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    -- The reference, as CROSS_DATABASE_REFERENCES names it: domain.table.column.
    reference VARCHAR(200) NOT NULL,
    -- The referencing row's primary key, as text (composite keys comma-separated).
    row_key TEXT NOT NULL,
    -- The value it refers to, which no longer exists.
    missing_value TEXT NOT NULL,
    flagged_at TIMESTAMP NOT NULL DEFAULT NOW(),
    last_seen_at TIMESTAMP NOT NULL DEFAULT NOW(),
    -- The integrity pass that last found it orphaned: a pass clears the flags it did not see.
    seen_by UUID NOT NULL,
    CONSTRAINT flagged_references_row_unique UNIQUE (reference, row_key)
);

-- The admin list, newest first.
CREATE INDEX idx_flagged_references_flagged ON flagged_references (flagged_at DESC, id DESC);

-- migrate:down
DROP TABLE flagged_references;
