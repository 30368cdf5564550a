//! The statements of `UserStore` on D1: the `users` table, the login throttle's
//! `login_attempts`, and the account's deletion.

/// Registers user `?1` (`?2` email, `?3` hash, `?4` created and updated at, `?5` verified);
/// returns the id, or no row when the email is taken: the unique index decides, atomically, so a
/// losing concurrent insert becomes `409`, never a failure.
pub const INSERT: &str = "INSERT INTO users \
         (id, email, password_hash, created_at, updated_at, email_verified) \
     VALUES (?1, ?2, ?3, ?4, ?4, ?5) ON CONFLICT (email) DO NOTHING RETURNING id";

/// Stores rehashed `?1` at `?2` for user `?3`, only while its password's version is still `?4`
/// (the one the login checked); returns the id if it wrote.
pub const REHASH: &str = "UPDATE users SET password_hash = ?1, updated_at = ?2 \
     WHERE id = ?3 AND password_version = ?4 RETURNING id";

/// Reserves one failed attempt for email `?1` at `?2` in a window of `?3` ms (the same rule as
/// `throttle::after_failure`), before the password is checked; returns the count and the
/// window's start. D1 writes one at a time, so concurrent attempts each get their own count.
pub const RESERVE_ATTEMPT: &str = "INSERT INTO login_attempts (email, failures, window_start_ms) \
     VALUES (?1, 1, ?2) \
     ON CONFLICT (email) DO UPDATE SET \
       failures = CASE WHEN ?2 < window_start_ms + ?3 THEN failures + 1 ELSE 1 END, \
       window_start_ms = CASE WHEN ?2 < window_start_ms + ?3 THEN window_start_ms ELSE ?2 END \
     RETURNING failures, window_start_ms";

/// The account with email `?1`.
pub const BY_EMAIL: &str = "SELECT id, email, password_hash, password_version, created_at, \
         email_verified \
     FROM users WHERE email = ?1";

/// Whether the account with email `?1` is disabled (a row with `disabled` 1), in the login's
/// first batch after [`BY_EMAIL`]: a disabled account's right password is refused only once
/// it was found right.
pub const DISABLED_BY_EMAIL: &str = "SELECT disabled FROM users WHERE email = ?1";

/// Forgets the failed attempts of email `?1`: after a correct password, and in the login's
/// session batch.
pub const CLEAR_ATTEMPTS: &str = "DELETE FROM login_attempts WHERE email = ?1";

/// A password change's first statement: ends every active session of user `?1` but `?2` (`''`
/// keeps none) at `?3` for reason `?4`, while the password's version is still `?5`; returns
/// their ids. Read before [`CHANGE_PASSWORD`] writes, in the same batch, so both statements see
/// the same version.
pub const REVOKE_FOR_CHANGE: &str = "UPDATE sessions SET revoked_at = ?3, revoked_reason = ?4 \
     WHERE user_id = ?1 AND id != ?2 AND revoked_at IS NULL \
       AND EXISTS (SELECT 1 FROM users WHERE id = ?1 AND password_version = ?5) \
     RETURNING id";

/// Stores new hash `?1` at `?2` for user `?3` and moves its password's version on, while it is
/// still `?4`; returns the id if it wrote. A reset or another change that committed first makes
/// this a no-op.
pub const CHANGE_PASSWORD: &str = "UPDATE users SET password_hash = ?1, updated_at = ?2, \
       password_version = password_version + 1 \
     WHERE id = ?3 AND password_version = ?4 RETURNING id";

/// A deletion's statement (`?1` the user's id, `?2` its password's version, `?3` its email),
/// run only while the version is still the one the caller's check read.
macro_rules! as_checked {
    ($delete:literal, $returning:literal) => {
        concat!(
            $delete,
            " AND EXISTS (SELECT 1 FROM users WHERE id = ?1 AND password_version = ?2) ",
            $returning
        )
    };
}

/// The statements of an account's deletion, in the order of its one batch, each with whether
/// it binds the email: `?1` the user's id, `?2` its password's version, and `?3` its email in
/// the two that delete by email. Each runs only while the version is the one the caller's check
/// read, and the user row goes last, so that each still sees it: a reset that committed first
/// makes the whole batch a no-op. The second returns the ids of all the user's sessions (ended
/// ones too), the last the user's id when it was deleted. (The rows that reference the user
/// and are not named here, such as `email_sends`, go with it: ON DELETE CASCADE.)
pub const DELETE_ACCOUNT: [(&str, bool); 7] = [
    (
        as_checked!(
            "DELETE FROM spent_refresh_tokens \
             WHERE session_id IN (SELECT id FROM sessions WHERE user_id = ?1)",
            ""
        ),
        false,
    ),
    (
        as_checked!("DELETE FROM sessions WHERE user_id = ?1", "RETURNING id"),
        false,
    ),
    (
        as_checked!("DELETE FROM email_tokens WHERE user_id = ?1", ""),
        false,
    ),
    (
        as_checked!("DELETE FROM login_attempts WHERE email = ?3", ""),
        true,
    ),
    (
        as_checked!("DELETE FROM email_requests WHERE email = ?3", ""),
        true,
    ),
    // The id is remembered, so that an import run again does not bring it back.
    (
        "INSERT INTO deleted_users (id, deleted_at) \
         SELECT id, strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM users \
         WHERE id = ?1 AND password_version = ?2 ON CONFLICT DO NOTHING",
        false,
    ),
    (
        "DELETE FROM users WHERE id = ?1 AND password_version = ?2 RETURNING id",
        false,
    ),
];

/// Whether the schema is there: touches the users table.
pub const PING: &str = "SELECT 1 AS ok FROM users LIMIT 1";

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
