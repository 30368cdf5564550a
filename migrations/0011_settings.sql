-- v2, settings that a tool writes and the Worker reads from D1 (not from its vars, which only
-- a deployment changes). One today: `imported_hash_max_work`, what verifying the costliest
-- password hash `make import` moved in costs, in PBKDF2-SHA256 iterations of the Worker. Every
-- failed login is padded up to it, so that a wrong password on a migrated account is not told
-- apart from an unknown email by its time, with no operator step. Each import raises it to the
-- costliest hash of its rows and never lowers it. Whole non-negative numbers only: a value the
-- Worker could not read as one is refused here.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL CHECK (typeof(value) = 'integer' AND value >= 0)
);
