-- migrate:up
-- db_core: sign-in throttling by source address as well as by account, and where a user last signed in from.

-- The throttle's questions per address: this address's latest failures, and this address's for one email.
CREATE INDEX idx_login_attempts_ip_attempted ON login_attempts(ip, attempted_at DESC);

-- The client address (as the gateway saw it) of the user's last successful sign-in.
ALTER TABLE users ADD COLUMN last_login_ip VARCHAR(45);

-- migrate:down
ALTER TABLE users DROP COLUMN last_login_ip;
DROP INDEX idx_login_attempts_ip_attempted;
