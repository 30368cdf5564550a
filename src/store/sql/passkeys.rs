//! The statements of passkeys (`migrations/0013_passkeys.sql`): user handles, credentials and
//! the challenges of both ceremonies. The checks of a ceremony are `app::passkeys`'; these keep
//! the rules that need the database: a challenge works once, a credential id belongs to one
//! account, and a counter never moves backwards.

/// User `?1`'s handle: made from `?2` (base64url of 32 random bytes) on the first call, the
/// stored one on every later call, whatever `?2` is. One statement, so concurrent first calls
/// agree on one handle. No row: no such user.
pub const USER_HANDLE: &str = "INSERT INTO passkey_user_handles (user_id, handle) \
     SELECT ?1, ?2 WHERE EXISTS (SELECT 1 FROM users WHERE id = ?1) \
     ON CONFLICT (user_id) DO UPDATE SET handle = handle \
     RETURNING handle";

/// Stores challenge `?1` (base64url) of ceremony `?2` (`registration` with its user `?3`, or
/// `authentication` with `?3` NULL), expiring at `?4` (Unix ms).
pub const INSERT_CHALLENGE: &str = "INSERT INTO passkey_challenges \
         (challenge, ceremony, user_id, expires_at) \
     VALUES (?1, ?2, ?3, ?4)";

/// Spends challenge `?1`, presented to ceremony `?2` by user `?3` (NULL at login) at `?4`:
/// deletes it, whatever else holds, and returns whether it was usable (1: issued to this
/// ceremony and user, unexpired; 0: spent but not usable). No row: unknown or already spent.
/// One statement, so of two ceremonies presenting one challenge exactly one gets a row.
pub const CLAIM_CHALLENGE: &str = "DELETE FROM passkey_challenges WHERE challenge = ?1 \
     RETURNING ceremony = ?2 AND user_id IS ?3 AND expires_at > ?4 AS usable";

/// Deletes at most `?2` of the challenges expired at `?1` that no ceremony presented (the
/// scheduled cleanup's bounded batch).
pub const DELETE_EXPIRED_CHALLENGES: &str = "DELETE FROM passkey_challenges WHERE challenge IN ( \
     SELECT challenge FROM passkey_challenges WHERE expires_at <= ?1 LIMIT ?2)";

/// Registers passkey `?1` of user `?2`: credential id `?3`, COSE key `?4` (both base64url),
/// algorithm `?5`, counter `?6`, transports `?7` (a JSON array), name `?8`, created at `?9`.
/// Returns the id; no row when the credential id is registered already (by anyone) or the user
/// is gone.
pub const INSERT_PASSKEY: &str = "INSERT INTO passkeys \
         (id, user_id, credential_id, public_key, algorithm, sign_count, transports, name, \
          created_at) \
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 \
     WHERE EXISTS (SELECT 1 FROM users WHERE id = ?2) \
     ON CONFLICT (credential_id) DO NOTHING \
     RETURNING id";

/// Whether credential id `?1` is registered: in the batch of [`INSERT_PASSKEY`], tells
/// `409 passkey_exists` apart from an account deleted meanwhile when the insert returned no row.
pub const CREDENTIAL_EXISTS: &str = "SELECT 1 FROM passkeys WHERE credential_id = ?1";

/// The passkeys of user `?1`, newest first (the order of registration).
pub const LIST: &str = "SELECT id, name, created_at, last_used_at FROM passkeys \
     WHERE user_id = ?1 ORDER BY rowid DESC";

/// The credential ids and transports of user `?1`: the registration options'
/// `excludeCredentials`.
pub const EXCLUDE: &str =
    "SELECT credential_id, transports FROM passkeys WHERE user_id = ?1 ORDER BY rowid";

/// Deletes passkey `?1` of user `?2`; returns its id if it did (none for an unknown id or
/// another user's).
pub const DELETE: &str = "DELETE FROM passkeys WHERE id = ?1 AND user_id = ?2 RETURNING id";

/// The credential with id `?1` (base64url), with its user's handle: what an assertion is
/// checked against.
pub const FOR_LOGIN: &str = "SELECT p.id, p.user_id, p.public_key, p.algorithm, p.sign_count, \
         h.handle AS user_handle \
     FROM passkeys p JOIN passkey_user_handles h ON h.user_id = p.user_id \
     WHERE p.credential_id = ?1";

/// Records passkey `?1`'s use at `?3` (RFC 3339) with the assertion's counter `?2`, only while
/// the counter rule still holds against the stored one: a login that raced another of the same
/// credential never moves the counter backwards. Returns the user's id if it recorded.
pub const RECORD_USE: &str = "UPDATE passkeys SET sign_count = ?2, last_used_at = ?3 \
     WHERE id = ?1 AND (sign_count < ?2 OR (sign_count = 0 AND ?2 = 0)) \
     RETURNING user_id";

/// The user of passkey `?1`, read in the batch of [`RECORD_USE`]: the account a passkey login
/// opens a session for, and whether it is disabled (refused only once every check held).
pub const USER_OF_PASSKEY: &str = "SELECT u.id, u.email, u.password_hash, u.password_version, \
         u.created_at, u.email_verified, u.disabled \
     FROM users u JOIN passkeys p ON p.user_id = u.id WHERE p.id = ?1";

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
