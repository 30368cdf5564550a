-- v2, the account's life after registration.
-- Whether the address was proved reachable (verification link, or a password reset through it).
-- Existing rows start unverified.
ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0;
-- The login request's User-Agent (at most 256 characters), shown in the list of devices.
ALTER TABLE sessions ADD COLUMN user_agent TEXT;

-- Single-use tokens sent by email (password reset, address verification). Only the SHA-256 of
-- the token is stored; a newer token of one purpose voids the account's older unused ones.
CREATE TABLE email_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,                -- hex SHA-256 of the emailed token
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL,                            -- password_reset | email_verification
    created_at INTEGER NOT NULL,                         -- Unix ms
    expires_at INTEGER NOT NULL,                         -- Unix ms
    used_at    INTEGER                                   -- Unix ms; NULL while unused
);

CREATE INDEX email_tokens_user_purpose ON email_tokens (user_id, purpose);
CREATE INDEX email_tokens_expires_at ON email_tokens (expires_at);
