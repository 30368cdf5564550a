-- v2, account deletion is final: the id of every deleted account, so that running `make import`
-- again on the same source does not bring the account back (its row is gone from `users`, and
-- the import inserts every id it does not find there). Only the id and when: no email, no hash.
CREATE TABLE deleted_users (
    id TEXT PRIMARY KEY,
    deleted_at TEXT NOT NULL
);
