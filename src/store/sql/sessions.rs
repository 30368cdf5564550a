//! The statements of `SessionStore` on D1: `sessions` and `spent_refresh_tokens`.

/// Opens a session (`?1` id, `?2` user, `?3` refresh hash, `?4` created at, `?5` expires at,
/// `?6` user agent, `?8` how it was opened: the `amr` JSON array), only while the password's
/// version is still `?7`, the one the login's check read, and the account is not disabled: a
/// login that raced a password change, a reset, an account deletion or the account's disabling
/// opens nothing. Returns the id if it opened one.
pub const INSERT: &str = "INSERT INTO sessions \
         (id, user_id, refresh_hash, created_at, expires_at, user_agent, amr) \
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?8 \
     WHERE EXISTS (SELECT 1 FROM users \
                   WHERE id = ?2 AND password_version = ?7 AND disabled = 0) \
     RETURNING id";

/// Records that user `?1` opened a session at `?2` (RFC 3339), if session `?3` (the login's
/// new one) exists: the last statement of the login's batch, so it costs no round trip.
pub const TOUCH_LAST_LOGIN: &str = "UPDATE users SET last_login_at = ?2 \
     WHERE id = ?1 AND EXISTS (SELECT 1 FROM sessions WHERE id = ?3)";

/// Ends, at `?2`, the active sessions of user `?1` past the newest `?3` (by rowid, the order of
/// insertion), once session `?4` (the login's new one) exists; returns their ids. Run in the
/// login's batch after [`INSERT`]: D1 runs a batch as one transaction and writes one at a time,
/// so concurrent logins cannot both count below the limit.
pub const REVOKE_BEYOND_LIMIT: &str = "UPDATE sessions \
     SET revoked_at = ?2, revoked_reason = 'session_limit' \
     WHERE user_id = ?1 AND revoked_at IS NULL AND expires_at > ?2 \
     AND EXISTS (SELECT 1 FROM sessions WHERE id = ?4) \
     AND id NOT IN (SELECT id FROM sessions \
         WHERE user_id = ?1 AND revoked_at IS NULL AND expires_at > ?2 \
         ORDER BY rowid DESC LIMIT ?3) \
     RETURNING id";

/// Deletes the ended (revoked, or expired at `?2`) sessions of user `?1` past the newest `?3`
/// (by rowid), with their spent tokens (ON DELETE CASCADE). The last statement of the login's
/// batch: a user keeps at most `?3` ended sessions for "where was I signed in", so logins in a
/// loop on one account add no rows past that, whatever the retention; the scheduled cleanup
/// removes the rest after `SESSION_RETENTION`.
pub const DROP_ENDED_BEYOND_LIMIT: &str = "DELETE FROM sessions WHERE id IN ( \
       SELECT id FROM sessions \
       WHERE user_id = ?1 AND (revoked_at IS NOT NULL OR expires_at <= ?2) \
       ORDER BY rowid DESC LIMIT -1 OFFSET ?3)";

/// Records refresh token hash `?1` as spent at `?2`, if it is the current token of an active
/// session of an account that is not disabled. The first statement of a rotation's batch.
pub const RECORD_SPEND: &str = "INSERT INTO spent_refresh_tokens \
         (token_hash, session_id, spent_at) \
     SELECT refresh_hash, id, ?2 FROM sessions \
     WHERE refresh_hash = ?1 AND revoked_at IS NULL AND expires_at > ?2 \
       AND NOT EXISTS (SELECT 1 FROM users \
                       WHERE users.id = sessions.user_id AND users.disabled = 1)";

/// Replaces current token hash `?1` by `?2` at `?3`, under the same condition as
/// [`RECORD_SPEND`]. The second statement of a rotation's batch. (Disabling revokes every
/// session in its own transaction; the condition on the account keeps a disabled account's
/// refresh refused whatever revoked or did not revoke its sessions.)
pub const SWAP_REFRESH: &str = "UPDATE sessions \
     SET refresh_hash = ?2, rotations = rotations + 1, last_used_at = ?3 \
     WHERE refresh_hash = ?1 AND revoked_at IS NULL AND expires_at > ?3 \
       AND NOT EXISTS (SELECT 1 FROM users \
                       WHERE users.id = sessions.user_id AND users.disabled = 1)";

/// The session whose current token hash is `?1` (the rotation's new one) and how it was opened,
/// with its user's columns. The last statement of a rotation's batch: a row means this rotation
/// happened.
pub const ROTATED: &str = "SELECT s.id AS session_id, s.amr AS session_amr, u.id, u.email, \
         u.password_hash, \
         u.password_version, u.created_at, u.email_verified \
     FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.refresh_hash = ?1";

/// The session refresh token hash `?1` belongs to: as its current token (`spent_at` NULL) or as
/// a spent one.
pub const TOKEN_STATE: &str = "SELECT id AS session_id, NULL AS spent_at \
     FROM sessions WHERE refresh_hash = ?1 \
     UNION ALL \
     SELECT session_id, spent_at FROM spent_refresh_tokens WHERE token_hash = ?1 \
     LIMIT 1";

/// Ends session `?1` at `?2` for reason `?3`, unless already revoked (an expired one is revoked
/// too); returns its id if it did.
pub const REVOKE: &str = "UPDATE sessions SET revoked_at = ?2, revoked_reason = ?3 \
     WHERE id = ?1 AND revoked_at IS NULL RETURNING id";

/// Ends, at `?2` for reason `?3`, the session whose current or spent token hash is `?1`, unless
/// already revoked (an expired one is revoked too); returns its id if it did.
pub const REVOKE_BY_TOKEN: &str = "UPDATE sessions SET revoked_at = ?2, revoked_reason = ?3 \
     WHERE revoked_at IS NULL AND id IN ( \
       SELECT id FROM sessions WHERE refresh_hash = ?1 \
       UNION SELECT session_id FROM spent_refresh_tokens WHERE token_hash = ?1) \
     RETURNING id";

/// Session `?1` of user `?2` if active at `?3`, with its user's columns.
pub const ACTIVE: &str = "SELECT s.expires_at AS session_expires_at, \
         u.id, u.email, u.password_hash, u.password_version, u.created_at, u.email_verified \
     FROM sessions s JOIN users u ON u.id = s.user_id \
     WHERE s.id = ?1 AND s.user_id = ?2 AND s.revoked_at IS NULL AND s.expires_at > ?3";

/// The active sessions of user `?1` at `?2`, newest first.
pub const LIST: &str = "SELECT id, created_at, last_used_at, expires_at, user_agent \
     FROM sessions \
     WHERE user_id = ?1 AND revoked_at IS NULL AND expires_at > ?2 \
     ORDER BY created_at DESC, id DESC";

/// Ends session `?1` of user `?2` at `?3` for reason `?4`, if active; returns its id if it did.
pub const REVOKE_OF_USER: &str = "UPDATE sessions SET revoked_at = ?3, revoked_reason = ?4 \
     WHERE id = ?1 AND user_id = ?2 AND revoked_at IS NULL AND expires_at > ?3 \
     RETURNING id";

/// Ends every session of user `?1` not already revoked (expired ones too), except `?2` (`''`
/// keeps none), at `?3` for reason `?4`; returns their ids. The list of devices' "all others".
pub const REVOKE_OTHERS: &str = "UPDATE sessions SET revoked_at = ?3, revoked_reason = ?4 \
     WHERE user_id = ?1 AND id != ?2 AND revoked_at IS NULL RETURNING id";

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
