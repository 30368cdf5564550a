-- Administration: accounts an operator disabled, when each account last opened a session, and
-- the order the admin list pages through.

-- 1 while disabled: a correct login is refused (403 account_disabled) and no refresh succeeds.
ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
-- RFC 3339, UTC; NULL until the first session is opened (written in the login's own batch).
ALTER TABLE users ADD COLUMN last_login_at TEXT;

-- Keyset paging of GET /admin/users: oldest first, the id breaking ties.
CREATE INDEX users_created_at_id ON users (created_at, id);
