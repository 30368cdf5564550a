//! The statements of `CleanupStore` on D1: bounded deletions for the scheduled cleanup. Each
//! deletes at most `?2` rows, picked through an indexed sub-select.

/// Spent refresh tokens whose session is gone, ended or expired at `?1`.
pub const SPENT_OF_ENDED_SESSIONS: &str = "DELETE FROM spent_refresh_tokens WHERE token_hash IN ( \
       SELECT t.token_hash FROM spent_refresh_tokens t \
       LEFT JOIN sessions s ON s.id = t.session_id \
       WHERE s.id IS NULL OR s.revoked_at IS NOT NULL OR s.expires_at <= ?1 \
       LIMIT ?2)";

/// Login throttle rows whose window started before `?1`.
pub const ATTEMPTS_BEFORE: &str = "DELETE FROM login_attempts WHERE email IN ( \
       SELECT email FROM login_attempts WHERE window_start_ms < ?1 LIMIT ?2)";

/// Sessions that expired or ended before `?1` (their spent tokens go with them, ON DELETE
/// CASCADE).
pub const SESSIONS_ENDED_BEFORE: &str = "DELETE FROM sessions WHERE id IN ( \
       SELECT id FROM sessions WHERE expires_at < ?1 \
       UNION SELECT id FROM sessions WHERE revoked_at < ?1 LIMIT ?2)";

/// Email request counters whose window started before `?1`.
pub const EMAIL_REQUESTS_BEFORE: &str = "DELETE FROM email_requests WHERE rowid IN ( \
       SELECT rowid FROM email_requests WHERE window_start_ms < ?1 LIMIT ?2)";

/// Email tokens expired at `?1` or used.
pub const DEAD_EMAIL_TOKENS: &str = "DELETE FROM email_tokens WHERE token_hash IN ( \
       SELECT token_hash FROM email_tokens WHERE expires_at <= ?1 OR used_at IS NOT NULL \
       LIMIT ?2)";

/// `mfa_tokens` rows expired at `?1` (used ones included: each works once, within its TTL).
pub const EXPIRED_MFA_TOKENS: &str = "DELETE FROM mfa_tokens WHERE token_hash IN ( \
       SELECT token_hash FROM mfa_tokens WHERE expires_at <= ?1 LIMIT ?2)";

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
