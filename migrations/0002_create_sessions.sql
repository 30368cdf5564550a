-- Sessions: one row per login. The refresh token itself is never stored, only the SHA-256 of the
-- current one; rotation replaces it atomically. Spent tokens are remembered (by hash) so that a
-- replay is recognised as reuse and revokes the whole session.
CREATE TABLE sessions (
    id             TEXT PRIMARY KEY NOT NULL,            -- the `sid` claim of its access tokens
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    refresh_hash   TEXT NOT NULL,                        -- hex SHA-256 of the current refresh token
    rotations      INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL,                        -- RFC 3339, UTC
    expires_at     INTEGER NOT NULL,                     -- Unix ms, absolute (REFRESH_TOKEN_TTL after login)
    last_used_at   INTEGER,                              -- Unix ms of the last rotation
    revoked_at     INTEGER,                              -- Unix ms; NULL while active
    revoked_reason TEXT                                  -- logout | reuse_detected
);

CREATE UNIQUE INDEX sessions_refresh_hash ON sessions (refresh_hash);
CREATE INDEX sessions_user_id ON sessions (user_id);

CREATE TABLE spent_refresh_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,                -- hex SHA-256 of a rotated-away token
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    spent_at   INTEGER NOT NULL                          -- Unix ms
);

CREATE INDEX spent_refresh_tokens_session_id ON spent_refresh_tokens (session_id);
