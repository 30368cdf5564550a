-- Login throttling: failed attempts per normalized email (existing account or not, so that a
-- 429 reveals nothing), in a fixed window from the first failure. A success deletes the row.
CREATE TABLE login_attempts (
    email           TEXT PRIMARY KEY NOT NULL,           -- normalized
    failures        INTEGER NOT NULL,
    window_start_ms INTEGER NOT NULL                     -- Unix ms of the window's first failure
);
