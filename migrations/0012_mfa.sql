-- v3, two-step verification (docs/mfa.md). The statements are in src/sql/mfa.rs.

-- A user's TOTP: set up (a sealed secret, `enabled_at` NULL) until a code of it is confirmed,
-- then enabled. Turning it off clears the secret and the recovery set but keeps the row, for
-- its last accepted step: a step once accepted for a user is never accepted again, across
-- re-enrolment too (RFC 6238 §5.2).
CREATE TABLE mfa_totp (
    user_id        TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sealed_secret  TEXT,                                 -- v1.<key id>.<base64url nonce, ciphertext, tag>; NULL while off
    enabled_at     INTEGER,                              -- Unix ms; NULL while set up or off
    last_step      INTEGER NOT NULL DEFAULT -1,          -- the last accepted 30 s step; -1 before any
    recovery_batch TEXT,                                 -- the id of the valid recovery code set; NULL while not enabled
    updated_at     INTEGER NOT NULL,                     -- Unix ms
    CHECK (enabled_at IS NULL OR (sealed_secret IS NOT NULL AND recovery_batch IS NOT NULL))
);

-- Recovery codes: only a hash of each, single use. A code counts only while its batch is the
-- user's current one, so a new set (or turning TOTP off) voids every older code at once.
CREATE TABLE mfa_recovery_codes (
    code_hash  TEXT PRIMARY KEY NOT NULL,                -- hex SHA-256 over the user id and the normalized code
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    batch      TEXT NOT NULL,                            -- mfa_totp.recovery_batch when it was made
    used_at    INTEGER,                                  -- Unix ms; NULL while unused
    used_by    TEXT                                      -- the hash of the mfa_token whose login spent it
);

CREATE INDEX mfa_recovery_codes_user_id ON mfa_recovery_codes (user_id);

-- The mfa_token of a login's first half (the 403 mfa_required): only its SHA-256. It works once,
-- until `expires_at`, while the password is still at the version of that login, and dies at
-- the fifth wrong code.
CREATE TABLE mfa_tokens (
    token_hash       TEXT PRIMARY KEY NOT NULL,          -- hex SHA-256 of the token
    user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    password_version INTEGER NOT NULL,                   -- users.password_version the password check read
    created_at       INTEGER NOT NULL,                   -- Unix ms
    expires_at       INTEGER NOT NULL,                   -- Unix ms (MFA_TOKEN_TTL after the login)
    wrong_codes      INTEGER NOT NULL DEFAULT 0,
    used_at          INTEGER                             -- Unix ms; NULL while unused
);

CREATE INDEX mfa_tokens_user_id ON mfa_tokens (user_id);
CREATE INDEX mfa_tokens_expires_at ON mfa_tokens (expires_at);

-- How each session was opened (RFC 8176 `amr`, a JSON array), so refreshed tokens keep it.
-- Sessions opened before two-step verification existed were opened by a password.
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT '["pwd"]';
