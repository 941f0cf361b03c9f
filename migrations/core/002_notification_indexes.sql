-- migrate:up
-- db_core: seed 001 index additions for notifications, plus the keyset-pagination index the GraphQL API needs.
-- Plain CREATE INDEX (not CONCURRENTLY as in the seed): each migration runs in one transaction, where
-- CONCURRENTLY is not allowed.

-- Unread badge / unread list per user (seed 001 lists it under analytics, but notifications live in db_core).
CREATE INDEX idx_notifications_user_unread
    ON notifications(user_id, created_at DESC)
    WHERE read = false;

-- Keyset pagination of a user's notifications: ORDER BY created_at DESC, id DESC.
CREATE INDEX idx_notifications_user_created_id
    ON notifications(user_id, created_at DESC, id DESC);

-- migrate:down
DROP INDEX idx_notifications_user_created_id;
DROP INDEX idx_notifications_user_unread;
