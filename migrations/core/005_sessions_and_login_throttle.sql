-- migrate:up
-- db_core: sign-in (issue 5). refresh_tokens holds the refresh sessions (only SHA-256 hashes of the tokens;
-- rotated on use, a family = one sign-in), login_attempts slows repeated failures per email, and api_keys
-- gains the optional list of persisted operations a partner key may run.

CREATE TABLE refresh_tokens (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- SHA-256 (lowercase hex) of the opaque token; the token itself is given to the client once.
    token_hash CHAR(64) NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    -- Every token rotated from one sign-in shares the family; reusing a rotated token revokes it whole.
    family_id UUID NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    -- The token this one was rotated into (null while it is the family's current token).
    replaced_by UUID REFERENCES refresh_tokens(id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL DEFAULT NOW(),
    user_agent VARCHAR(255),
    ip VARCHAR(45)
);

CREATE INDEX idx_refresh_tokens_user_id ON refresh_tokens(user_id);
CREATE INDEX idx_refresh_tokens_family_id ON refresh_tokens(family_id);
-- Pruning expired sessions.
CREATE INDEX idx_refresh_tokens_expires_at ON refresh_tokens(expires_at);

-- One row per password check; emails are stored normalised (trimmed, lower-cased) whether or not a user has it.
CREATE TABLE login_attempts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email VARCHAR(255) NOT NULL,
    attempted_at TIMESTAMP NOT NULL DEFAULT NOW(),
    succeeded BOOLEAN NOT NULL DEFAULT FALSE,
    ip VARCHAR(45)
);

-- The throttle's question: this email's latest attempts.
CREATE INDEX idx_login_attempts_email_attempted ON login_attempts(email, attempted_at DESC);
-- Pruning old attempts.
CREATE INDEX idx_login_attempts_attempted_at ON login_attempts(attempted_at);

-- SHA-256 (lowercase hex) of the persisted operations the key may run; empty = any operation.
ALTER TABLE api_keys ADD COLUMN allowed_operations TEXT[] NOT NULL DEFAULT '{}';

-- migrate:down
ALTER TABLE api_keys DROP COLUMN allowed_operations;
DROP TABLE login_attempts;
DROP TABLE refresh_tokens;
