//! The statements of `AdminStore` on D1: the admin API's reads and changes of accounts.

/// The columns of the admin user view, of `users u`, and the password's version (which a
/// deletion is made at, and the view does not show).
macro_rules! view_columns {
    () => {
        "u.id, u.email, u.created_at, u.email_verified, u.disabled, u.last_login_at, \
         u.password_version, \
         EXISTS (SELECT 1 FROM mfa_totp m \
                 WHERE m.user_id = u.id AND m.enabled_at IS NOT NULL) AS mfa_enabled, \
         (SELECT COUNT(*) FROM passkeys p WHERE p.user_id = u.id) AS passkeys"
    };
}

/// The admin view of user `?1`.
pub const VIEW: &str = concat!("SELECT ", view_columns!(), " FROM users u WHERE u.id = ?1");

/// A page of users whose email starts with `?1` (a literal prefix: `substr`, so `%` and `_`
/// are plain characters; `''` matches every email), after position (`?2` created at, `?3` id),
/// oldest first, at most `?4` rows. Keyset paging on `users_created_at_id`: a user inserted
/// between two pages is never a reason to skip or repeat one.
pub const PAGE: &str = concat!(
    "SELECT ",
    view_columns!(),
    " FROM users u \
     WHERE substr(u.email, 1, length(?1)) = ?1 AND (u.created_at, u.id) > (?2, ?3) \
     ORDER BY u.created_at, u.id LIMIT ?4"
);

/// Sets user `?1`'s flags: disabled to `?2` and verified to `?3`, each `NULL` to keep it, at
/// `?4`; returns the id if the user exists. The first statement of a PATCH's batch.
pub const UPDATE_FLAGS: &str = "UPDATE users SET \
       disabled = coalesce(?2, disabled), \
       email_verified = coalesce(?3, email_verified), \
       updated_at = CASE WHEN ?2 IS NULL AND ?3 IS NULL THEN updated_at ELSE ?4 END \
     WHERE id = ?1 RETURNING id";

/// Ends, at `?2`, every session of user `?1` not already revoked, if the user is disabled;
/// returns their ids. After [`UPDATE_FLAGS`] in its batch: disabling revokes every session in
/// the transaction that disables, so a refresh either ran before (and its session ends here) or
/// runs after (and finds it ended).
pub const REVOKE_IF_DISABLED: &str = "UPDATE sessions \
     SET revoked_at = ?2, revoked_reason = 'account_disabled' \
     WHERE user_id = ?1 AND revoked_at IS NULL \
       AND EXISTS (SELECT 1 FROM users WHERE id = ?1 AND disabled = 1) \
     RETURNING id";

/// Kills user `?1`'s pending second-factor logins, if the user is disabled: a password checked
/// before the account was disabled must not finish its login after.
pub const KILL_MFA_TOKENS_IF_DISABLED: &str = "DELETE FROM mfa_tokens WHERE user_id = ?1 \
       AND EXISTS (SELECT 1 FROM users WHERE id = ?1 AND disabled = 1)";

/// Ends, at `?2` for reason `?3`, every session of user `?1` not already revoked; returns
/// their ids.
pub const REVOKE_ALL: &str = "UPDATE sessions SET revoked_at = ?2, revoked_reason = ?3 \
     WHERE user_id = ?1 AND revoked_at IS NULL RETURNING id";

/// Whether user `?1`'s two-step verification is on: a row when it is. The first statement of
/// the removal's batch, read before the deletions.
pub const MFA_ON: &str = "SELECT user_id AS id FROM mfa_totp \
     WHERE user_id = ?1 AND enabled_at IS NOT NULL";

/// The removal of user `?1`'s two-step verification (a lost phone), after [`MFA_ON`] in its
/// batch: the recovery codes, the pending second-factor logins, and TOTP, on or being set up.
pub const REMOVE_MFA: [&str; 3] = [
    "DELETE FROM mfa_recovery_codes WHERE user_id = ?1",
    "DELETE FROM mfa_tokens WHERE user_id = ?1",
    "DELETE FROM mfa_totp WHERE user_id = ?1",
];
