//! The statements of the audit trail: each event is one `INSERT … SELECT` placed in the batch
//! of the change it records, under the condition that the change happens (the condition of the
//! batch's deciding statement, read before that statement writes, or its effect, read after).
//! An event's first parameters are always `?1` at (Unix ms), `?2` type, `?3` ip, `?4` user
//! agent, `?5` request id; the user's id and the condition follow.

/// One event's `INSERT … SELECT`: `$user_and_condition` is the user id's expression followed by
/// the rest of the `SELECT` (its `FROM` and `WHERE`), numbered from `?6`.
macro_rules! insert_event {
    ($user_and_condition:literal) => {
        concat!(
            "INSERT INTO audit_events (at, type, ip, user_agent, request_id, user_id) \
             SELECT ?1, ?2, ?3, ?4, ?5, ",
            $user_and_condition
        )
    };
}

/// An event about user `?6`, written if the user exists: after a registration's insert (a
/// taken email inserts no user with the new id).
pub const IF_USER: &str = insert_event!("?6 WHERE EXISTS (SELECT 1 FROM users WHERE id = ?6)");

/// An event about user `?6`, written while its password is at version `?7`: placed before the
/// statement of a password change, a reset or a deletion that moves the version on (or deletes
/// the user), so it holds exactly when that statement writes.
pub const IF_PASSWORD_AT: &str =
    insert_event!("?6 WHERE EXISTS (SELECT 1 FROM users WHERE id = ?6 AND password_version = ?7)");

/// An event about the user of session `?6`, written while the session is not revoked: before
/// the statement that revokes it (`sessions::REVOKE`).
pub const IF_SESSION_NOT_REVOKED: &str =
    insert_event!("user_id FROM sessions WHERE id = ?6 AND revoked_at IS NULL");

/// An event about user `?7`, written while `?6` is one of its active sessions at `?8`: before
/// `sessions::REVOKE_OF_USER`, under its condition.
pub const IF_ACTIVE_SESSION_OF: &str = insert_event!(
    "user_id FROM sessions \
     WHERE id = ?6 AND user_id = ?7 AND revoked_at IS NULL AND expires_at > ?8"
);

/// An event about user `?6`, written while it has a session other than `?7` not revoked: before
/// `sessions::REVOKE_OTHERS`, under its condition (it writes only when that revokes one).
pub const IF_OTHER_SESSIONS: &str = insert_event!(
    "?6 WHERE EXISTS (SELECT 1 FROM sessions \
       WHERE user_id = ?6 AND id != ?7 AND revoked_at IS NULL)"
);

/// An event about user `?6`, written if session `?7` exists: after a login's insert of it (a
/// login that raced a password change inserts none).
pub const IF_SESSION: &str =
    insert_event!("?6 WHERE EXISTS (SELECT 1 FROM sessions WHERE id = ?7)");

/// An event about the user of the usable email token `?6` of purpose `?7` at `?8`: before the
/// statement that spends it (`email::SPEND_VERIFICATION_TOKEN`), under its condition.
pub const IF_USABLE_TOKEN: &str = insert_event!(
    "user_id FROM email_tokens \
     WHERE token_hash = ?6 AND purpose = ?7 AND used_at IS NULL AND expires_at > ?8"
);

/// An event about user `?6`, written while its passkey `?7` exists: after a registration's
/// insert of it, or before the deletion of it (`passkeys::DELETE`, under its condition).
pub const IF_PASSKEY: &str =
    insert_event!("?6 WHERE EXISTS (SELECT 1 FROM passkeys WHERE id = ?7 AND user_id = ?6)");

/// An event about user `?6`, written while its two-step verification is on: before the
/// statement that turns it off (`mfa::DISABLE`, the admin's removal).
pub const IF_MFA_ON: &str = insert_event!(
    "?6 WHERE EXISTS (SELECT 1 FROM mfa_totp WHERE user_id = ?6 AND enabled_at IS NOT NULL)"
);

/// An event about user `?6`, written if its two-step verification is on with recovery set
/// `?7` (new with this confirmation): after `mfa::CONFIRM`, which is what sets it.
pub const IF_MFA_SET: &str = insert_event!(
    "?6 WHERE EXISTS (SELECT 1 FROM mfa_totp \
       WHERE user_id = ?6 AND recovery_batch = ?7 AND enabled_at IS NOT NULL)"
);

/// An event about user `?6`, written while its recovery code hash `?7` is usable at `?8`
/// (with `?9`, an `mfa_token` hash, not NULL: while that token is live too): before
/// `mfa::USE_RECOVERY_CODE`, under its condition, so of concurrent uses exactly the one that
/// spends the code writes it.
pub const IF_RECOVERY_CODE_USABLE: &str = insert_event!(
    "?6 WHERE EXISTS (SELECT 1 FROM mfa_recovery_codes \
       WHERE code_hash = ?7 AND user_id = ?6 AND used_at IS NULL \
         AND batch = (SELECT recovery_batch FROM mfa_totp \
           WHERE user_id = ?6 AND enabled_at IS NOT NULL) \
         AND (?9 IS NULL OR EXISTS (SELECT 1 FROM mfa_tokens t JOIN users u ON u.id = t.user_id \
           WHERE t.token_hash = ?9 AND t.user_id = ?6 AND t.used_at IS NULL \
             AND t.expires_at > ?8 AND t.wrong_codes < 5 \
             AND u.password_version = t.password_version)))"
);

/// An event about user `?6`, written if `mfa_token` hash `?7` exists: after a login's insert
/// of it (`mfa::INSERT_TOKEN`; a login that raced a password change inserts none).
pub const IF_MFA_TOKEN: &str =
    insert_event!("?6 WHERE EXISTS (SELECT 1 FROM mfa_tokens WHERE token_hash = ?7)");

/// An event about user `?6`, written while its `disabled` flag is not `?7`: before
/// `admin::UPDATE_FLAGS` sets it to `?7`, so it holds exactly when the flag changes.
pub const IF_DISABLED_CHANGES: &str =
    insert_event!("?6 WHERE EXISTS (SELECT 1 FROM users WHERE id = ?6 AND disabled != ?7)");

/// A password or code check's provisional event, after the throttle's reservation of the
/// attempt for email `?5` (`users::RESERVE_ATTEMPT`) in its batch, for a known account only:
/// `login_throttled` when the reserved count is past `?6` in the window of `?7` ms still
/// running at `?1` (the rule of `throttle::admit`), otherwise `?8` (`login_failed` for a
/// password, `mfa_failed` for a second factor), which a check that then succeeds withdraws
/// ([`WITHDRAW`], [`WITHDRAW_IF_SESSION`], [`WITHDRAW_IF_MFA_TOKEN`]) in the batch that clears
/// the count or moves the login on. `?2` ip, `?3` user agent, `?4` request id. Returns the
/// event's id.
pub const LOGIN_ATTEMPT: &str = "INSERT INTO audit_events \
         (at, type, ip, user_agent, request_id, user_id) \
     SELECT ?1, CASE WHEN a.failures > ?6 AND ?1 < a.window_start_ms + ?7 \
         THEN 'login_throttled' ELSE ?8 END, ?2, ?3, ?4, u.id \
     FROM users u JOIN login_attempts a ON a.email = u.email WHERE u.email = ?5 \
     RETURNING id";

/// Withdraws provisional event `?1` (its password check succeeded).
pub const WITHDRAW: &str = "DELETE FROM audit_events WHERE id = ?1";

/// Withdraws provisional event `?1` if session `?2` exists: after the insert of a login's
/// session (a login that opens none stays failed).
pub const WITHDRAW_IF_SESSION: &str = "DELETE FROM audit_events \
     WHERE id = ?1 AND EXISTS (SELECT 1 FROM sessions WHERE id = ?2)";

/// Withdraws provisional event `?1` if `mfa_token` hash `?2` exists: after the insert of a
/// login's `mfa_token` (the password was right; the second factor records its own outcome).
pub const WITHDRAW_IF_MFA_TOKEN: &str = "DELETE FROM audit_events \
     WHERE id = ?1 AND EXISTS (SELECT 1 FROM mfa_tokens WHERE token_hash = ?2)";

/// A page of events, newest first (`at`, then `id`), strictly after the cursor `(?1, ?2)`
/// (`at`, `id`), at most `?3`; `$filter` narrows it to user `?4` and/or type `?5`, each through
/// its index.
macro_rules! page {
    ($filter:literal) => {
        concat!(
            "SELECT id, at, type, user_id, ip, user_agent, request_id FROM audit_events \
             WHERE ",
            $filter,
            "(at, id) < (?1, ?2) ORDER BY at DESC, id DESC LIMIT ?3"
        )
    };
}

pub const PAGE: &str = page!("");
pub const PAGE_OF_USER: &str = page!("user_id = ?4 AND ");
pub const PAGE_OF_TYPE: &str = page!("type = ?5 AND ");
pub const PAGE_OF_USER_AND_TYPE: &str = page!("user_id = ?4 AND type = ?5 AND ");

/// The scheduled cleanup: events older than `?1`, at most `?2`, oldest first by the `at`
/// index.
pub const BEFORE: &str = "DELETE FROM audit_events WHERE id IN ( \
       SELECT id FROM audit_events WHERE at < ?1 ORDER BY at LIMIT ?2)";

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
