-- Users: one row per account. The email is stored normalized (trimmed, lower-cased) and is
-- unique, so concurrent registrations of one email can create only one row.
CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,           -- UUID v4, lower-case hyphenated
    email         TEXT NOT NULL,                       -- normalized
    password_hash TEXT NOT NULL,                       -- PHC string, $pbkdf2-sha256$i=…,l=32$salt$hash
    created_at    TEXT NOT NULL,                       -- RFC 3339, UTC
    updated_at    TEXT NOT NULL
);

CREATE UNIQUE INDEX users_email_unique ON users (email);
