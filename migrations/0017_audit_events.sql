-- v3, the audit trail: one row per security event (a login, a failed one, a password change…),
-- written in the same batch as the change it records, so that no change goes unrecorded and no
-- event outlives a change that did not commit. Rows hold the account's id only (never its email,
-- a password, a token, a code or a secret) and outlive the account: no foreign key. The
-- scheduled cleanup deletes them `AUDIT_RETENTION_DAYS` after `at` (docs/audit.md).
CREATE TABLE audit_events (
    id         INTEGER PRIMARY KEY,                      -- rowid: grows with every insert
    at         INTEGER NOT NULL,                         -- Unix ms of the request
    type       TEXT NOT NULL,                            -- a contract type, e.g. login_failed
    user_id    TEXT NOT NULL,                            -- the account the event is about
    ip         TEXT,                                     -- the client's address, NULL if unknown
    user_agent TEXT CHECK (length(user_agent) <= 256),   -- at most 256 characters, or NULL
    request_id TEXT NOT NULL                             -- the response's X-Request-Id
);

-- Newest first, all events (and the cleanup's oldest first, by `at`).
CREATE INDEX audit_events_at ON audit_events (at, id);
-- Newest first, one account's, and one type's.
CREATE INDEX audit_events_user ON audit_events (user_id, at, id);
CREATE INDEX audit_events_type ON audit_events (type, at, id);
