//! The statements of `EmailTokenStore` on D1: `email_requests`, `email_sends` and
//! `email_tokens`.

/// Counts a request for email `?1` and purpose `?2` at `?3`, in a window of `?4` ms; returns
/// the window's count, this request included. D1 writes one at a time, so concurrent requests
/// each get their own count.
pub const RECORD_REQUEST: &str = "INSERT INTO email_requests \
         (email, purpose, requests, window_start_ms) \
     VALUES (?1, ?2, 1, ?3) \
     ON CONFLICT (email, purpose) DO UPDATE SET \
       requests = CASE WHEN ?3 < window_start_ms + ?4 THEN requests + 1 ELSE 1 END, \
       window_start_ms = CASE WHEN ?3 < window_start_ms + ?4 THEN window_start_ms ELSE ?3 END \
     RETURNING requests";

/// The first statement of issuing a token: counts an email of purpose `?2` at `?3` (window `?4`
/// ms) for the account with email `?1`, as queue message `?5`: a message that is the one counted
/// last (a retry of the same job) is not counted again, and a new window counts 1. Returns the
/// user's id, or no row when there is no such account.
pub const COUNT_SEND: &str = "INSERT INTO email_sends \
         (user_id, purpose, sent, window_start_ms, last_message_id) \
     SELECT id, ?2, 1, ?3, ?5 FROM users WHERE email = ?1 \
     ON CONFLICT (user_id, purpose) DO UPDATE SET \
       sent = CASE WHEN ?3 >= window_start_ms + ?4 THEN 1 \
                   WHEN last_message_id IS ?5 THEN sent ELSE sent + 1 END, \
       window_start_ms = CASE WHEN ?3 < window_start_ms + ?4 THEN window_start_ms ELSE ?3 END, \
       last_message_id = ?5 \
     RETURNING user_id";

/// The second: voids the unused tokens of purpose `?2` of the account with email `?1`, when its
/// count is within the cap `?3` (a new token is on its way).
pub const VOID_OLDER: &str = "DELETE FROM email_tokens \
     WHERE purpose = ?2 AND used_at IS NULL AND user_id = ( \
       SELECT s.user_id FROM email_sends s JOIN users u ON u.id = s.user_id \
       WHERE u.email = ?1 AND s.purpose = ?2 AND s.sent <= ?3)";

/// The third: stores token hash `?3` of purpose `?2` (created `?4`, expires `?5`) for the
/// account with email `?1`, when its count is within the cap `?6`; returns the user's id if it
/// did.
pub const INSERT_TOKEN: &str = "INSERT INTO email_tokens \
         (token_hash, user_id, purpose, created_at, expires_at) \
     SELECT ?3, s.user_id, ?2, ?4, ?5 FROM email_sends s JOIN users u ON u.id = s.user_id \
     WHERE u.email = ?1 AND s.purpose = ?2 AND s.sent <= ?6 \
     RETURNING user_id";

/// The user an unused token hash `?1` of purpose `?2` belongs to, if unexpired at `?3`.
pub const LIVE_TOKEN_USER: &str = "SELECT u.id, u.email, u.password_hash, u.password_version, \
         u.created_at, u.email_verified \
     FROM email_tokens t JOIN users u ON u.id = t.user_id \
     WHERE t.token_hash = ?1 AND t.purpose = ?2 AND t.used_at IS NULL AND t.expires_at > ?3";

/// A reset's claim, before its new password is hashed: spends usable reset token hash `?1` of
/// user `?2` (purpose `?3`) at `?5`, while the user's password is still at version `?4` (the one
/// the token's lookup read); returns the user's id. No row: not claimed. One statement, so of
/// concurrent resets with one token exactly one claims it, and only that one hashes.
pub const CLAIM_RESET_TOKEN: &str = "UPDATE email_tokens SET used_at = ?5 \
     WHERE token_hash = ?1 AND user_id = ?2 AND purpose = ?3 AND used_at IS NULL \
       AND expires_at > ?5 \
       AND EXISTS (SELECT 1 FROM users WHERE id = ?2 AND password_version = ?4) \
     RETURNING user_id";

/// A statement of a batch that sets the password of user `?1`, run only while the password is
/// still at version `?2` (the one the batch's caller read): each one reads the version before
/// the batch's last statement moves it on, so the batch happens whole or not at all.
macro_rules! at_version {
    ($statement:literal, $returning:literal) => {
        concat!(
            $statement,
            " AND EXISTS (SELECT 1 FROM users WHERE id = ?1 AND password_version = ?2) ",
            $returning
        )
    };
}

/// Voids every pending (unused) reset token of user `?1`, while its password is at version
/// `?2`: in the batch of whatever makes a mailed reset link stale (a password change, a reset,
/// a new second factor), before the statement that moves the version on.
pub const VOID_RESET_TOKENS: &str = at_version!(
    "DELETE FROM email_tokens \
     WHERE user_id = ?1 AND purpose = 'password_reset' AND used_at IS NULL",
    ""
);

/// The batch of a claimed reset, after the hash; `?1` the user's id and `?2` the password's
/// version the claim saw. First: every active session but `?5` ended at `?3` for reason `?4`;
/// returns their ids.
pub const RESET_REVOKE: &str = at_version!(
    "UPDATE sessions SET revoked_at = ?3, revoked_reason = ?4 \
     WHERE user_id = ?1 AND revoked_at IS NULL AND id != ?5",
    "RETURNING id"
);

/// Then: the failed attempts of email `?3` forgotten.
pub const RESET_CLEAR_ATTEMPTS: &str =
    at_version!("DELETE FROM login_attempts WHERE email = ?3", "");

/// Then [`VOID_RESET_TOKENS`], and last: new hash `?3` at `?4`, the email verified (the link
/// proved it), the password's version moved on; returns the user's id. No row: no reset (a
/// change or another reset committed since the claim, or the account is gone).
pub const RESET_PASSWORD: &str = "UPDATE users SET password_hash = ?3, updated_at = ?4, \
       email_verified = 1, password_version = password_version + 1 \
     WHERE id = ?1 AND password_version = ?2 RETURNING id";

/// An email verification's first statement: the user of unused token hash `?1` of purpose `?2`,
/// unexpired at `?3`, marked verified.
pub const MARK_VERIFIED: &str = "UPDATE users SET email_verified = 1 \
     WHERE id = (SELECT user_id FROM email_tokens \
       WHERE token_hash = ?1 AND purpose = ?2 AND used_at IS NULL AND expires_at > ?3)";

/// The second: the token spent at `?3`, under the same condition; returns the user's id. No row:
/// nothing verified.
pub const SPEND_VERIFICATION_TOKEN: &str = "UPDATE email_tokens SET used_at = ?3 \
     WHERE token_hash = ?1 AND purpose = ?2 AND used_at IS NULL AND expires_at > ?3 \
     RETURNING user_id";

/// The last: the user of token hash `?1`, read back (whatever the token's state: the second
/// statement's row says whether this verification happened).
pub const VERIFIED_USER: &str = "SELECT u.id, u.email, u.password_hash, u.password_version, \
         u.created_at, u.email_verified \
     FROM users u JOIN email_tokens t ON t.user_id = u.id WHERE t.token_hash = ?1";

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
