-- v3, passkeys (WebAuthn): each user's random handle, the registered credentials, and the
-- single-use challenges of both ceremonies. An account's deletion takes all three with it
-- (ON DELETE CASCADE), after which its credential ids may be registered again.

-- The WebAuthn `user.id` of a user: 32 random bytes made on the first registration options
-- and the same ever after, never derived from the email (authenticators store it, and send it
-- back as `userHandle` at every login).
CREATE TABLE passkey_user_handles (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    handle  TEXT NOT NULL UNIQUE                         -- base64url of the 32 bytes
);

CREATE TABLE passkeys (
    id            TEXT PRIMARY KEY NOT NULL,             -- UUID v4, the API's id of the passkey
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id TEXT NOT NULL,                         -- base64url; unique across all users
    public_key    TEXT NOT NULL,                         -- base64url of the COSE_Key as registered
    algorithm     INTEGER NOT NULL CHECK (algorithm IN (-8, -7, -257)),  -- COSE: EdDSA, ES256, RS256
    sign_count    INTEGER NOT NULL CHECK (sign_count BETWEEN 0 AND 4294967295),
    transports    TEXT NOT NULL,                         -- JSON array, as reported at registration
    name          TEXT NOT NULL,                         -- 1 to 64 code points
    created_at    TEXT NOT NULL,                         -- RFC 3339, UTC
    last_used_at  TEXT                                   -- RFC 3339, UTC; NULL until a login
);

CREATE UNIQUE INDEX passkeys_credential_id ON passkeys (credential_id);
CREATE INDEX passkeys_user_id ON passkeys (user_id);

-- A challenge lives until the first ceremony that presents it (which deletes it, whatever the
-- outcome) or its expiry (the scheduled cleanup deletes it then). A registration's is bound to
-- its user; a login's to no one, as the user is known only from the credential.
CREATE TABLE passkey_challenges (
    challenge  TEXT PRIMARY KEY NOT NULL,                -- base64url of the 32 random bytes
    ceremony   TEXT NOT NULL CHECK (ceremony IN ('registration', 'authentication')),
    user_id    TEXT REFERENCES users (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL,                         -- Unix ms
    CHECK ((ceremony = 'registration') = (user_id IS NOT NULL))
);

CREATE INDEX passkey_challenges_expires_at ON passkey_challenges (expires_at);
