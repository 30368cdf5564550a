//! The statements of two-step verification on D1: `mfa_totp`, `mfa_recovery_codes` and
//! `mfa_tokens`. Every rule that two requests could race on (a step accepted once, a recovery
//! code or an `mfa_token` used once, the fifth wrong code) is a condition of one statement, so
//! D1, which writes one statement at a time, lets exactly one of them through.

/// Sets up TOTP for user `?1`: stores sealed secret `?2` at `?3` as pending, replacing a
/// pending one, unless TOTP is enabled. Returns the user's id if it did (no row:
/// `mfa_already_enabled`). The last accepted step is kept.
pub const SETUP: &str = "INSERT INTO mfa_totp (user_id, sealed_secret, updated_at) \
     VALUES (?1, ?2, ?3) \
     ON CONFLICT (user_id) DO UPDATE SET \
       sealed_secret = excluded.sealed_secret, updated_at = excluded.updated_at \
     WHERE mfa_totp.enabled_at IS NULL \
     RETURNING user_id";

/// User `?1`'s TOTP: `sealed_secret` (NULL while off), `enabled_at` (NULL while pending or
/// off) and `last_step` (-1 before any). No row: never set up.
pub const STATE: &str = "SELECT sealed_secret, enabled_at, last_step \
     FROM mfa_totp WHERE user_id = ?1";

/// Enables the pending TOTP of user `?1` at `?4`, with recovery set `?5`, if its secret is
/// still `?2` (the one the code was checked against) and step `?3` is after the last accepted
/// one; records `?3` as accepted. Returns the user's id if it did. The first statement of the
/// confirmation's batch, before [`DROP_STALE_RECOVERY_CODES`] and [`INSERT_RECOVERY_CODES`].
pub const CONFIRM: &str = "UPDATE mfa_totp \
     SET enabled_at = ?4, last_step = ?3, recovery_batch = ?5, updated_at = ?4 \
     WHERE user_id = ?1 AND sealed_secret = ?2 AND enabled_at IS NULL AND last_step < ?3 \
     RETURNING user_id";

/// Accepts step `?3` of user `?1`'s enabled TOTP at `?4`, if its secret is still `?2` and the
/// step is after the last accepted one (replay: the same or an earlier step is refused);
/// returns the user's id if it did. With `?5` not NULL, recovery set `?5` replaces the current
/// one in the same write (regenerating the codes, which asks for a TOTP code), before
/// [`DROP_STALE_RECOVERY_CODES`] and [`INSERT_RECOVERY_CODES`] in the same batch.
pub const ACCEPT_STEP: &str = "UPDATE mfa_totp \
     SET last_step = ?3, recovery_batch = coalesce(?5, recovery_batch), updated_at = ?4 \
     WHERE user_id = ?1 AND sealed_secret = ?2 AND enabled_at IS NOT NULL AND last_step < ?3 \
     RETURNING user_id";

/// Re-seals user `?1`'s secret under the current key: replaces stored form `?2` (sealed under
/// an old key, just opened) with `?3` at `?4`, only if the row still holds `?2`, so a setup or
/// disable in between is never undone. Returns the user's id if it did.
pub const RESEAL: &str = "UPDATE mfa_totp SET sealed_secret = ?3, updated_at = ?4 \
     WHERE user_id = ?1 AND sealed_secret = ?2 \
     RETURNING user_id";

/// Turns user `?1`'s TOTP off at `?2` (its secret and recovery set go; the last step stays);
/// returns the user's id if it was on. Followed by [`DROP_STALE_RECOVERY_CODES`].
pub const DISABLE: &str = "UPDATE mfa_totp \
     SET sealed_secret = NULL, enabled_at = NULL, recovery_batch = NULL, updated_at = ?2 \
     WHERE user_id = ?1 AND enabled_at IS NOT NULL \
     RETURNING user_id";

/// Deletes user `?1`'s recovery codes that are not of its current set (all of them when TOTP
/// is off).
pub const DROP_STALE_RECOVERY_CODES: &str = "DELETE FROM mfa_recovery_codes \
     WHERE user_id = ?1 \
       AND batch IS NOT (SELECT recovery_batch FROM mfa_totp WHERE user_id = ?1)";

/// Stores the code hashes of JSON array `?3` as user `?1`'s set `?2`, if `?2` is the user's
/// current set (so a batch whose [`CONFIRM`] or [`ACCEPT_STEP`] did not happen stores nothing);
/// returns the stored hashes.
pub const INSERT_RECOVERY_CODES: &str = "INSERT INTO mfa_recovery_codes \
         (code_hash, user_id, batch) \
     SELECT value, ?1, ?2 FROM json_each(?3) \
     WHERE EXISTS (SELECT 1 FROM mfa_totp \
       WHERE user_id = ?1 AND recovery_batch = ?2 AND enabled_at IS NOT NULL) \
     RETURNING code_hash";

/// Spends recovery code hash `?2` of user `?1` at `?3`, if unused and of the current set of an
/// enabled TOTP; returns the user's id if it did. With `?4` (an `mfa_token` hash) not NULL,
/// only while that token is live at `?3`, and the code remembers it: the first statement of a
/// verify's batch, before [`CLAIM_TOKEN_WITH_RECOVERY_CODE`]. Of concurrent uses of one code,
/// exactly one spends it.
pub const USE_RECOVERY_CODE: &str = "UPDATE mfa_recovery_codes SET used_at = ?3, used_by = ?4 \
     WHERE code_hash = ?2 AND user_id = ?1 AND used_at IS NULL \
       AND batch = (SELECT recovery_batch FROM mfa_totp \
         WHERE user_id = ?1 AND enabled_at IS NOT NULL) \
       AND (?4 IS NULL OR EXISTS (SELECT 1 FROM mfa_tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.token_hash = ?4 AND t.user_id = ?1 AND t.used_at IS NULL \
           AND t.expires_at > ?3 AND t.wrong_codes < 5 \
           AND u.password_version = t.password_version)) \
     RETURNING user_id";

/// User `?1`'s unused recovery codes of the current set (the "N left" of the mail).
pub const RECOVERY_CODES_LEFT: &str = "SELECT count(*) FROM mfa_recovery_codes \
     WHERE user_id = ?1 AND used_at IS NULL \
       AND batch = (SELECT recovery_batch FROM mfa_totp WHERE user_id = ?1)";

/// A token of `mfa_tokens` that still works at `?2`: unused, unexpired, fewer than five wrong
/// codes, and its user's password still at the version of its login (a change or a reset
/// kills it).
macro_rules! live_token {
    ($statement:literal, $returning:literal) => {
        concat!(
            $statement,
            " AND used_at IS NULL AND expires_at > ?2 AND wrong_codes < 5 \
             AND EXISTS (SELECT 1 FROM users \
               WHERE users.id = mfa_tokens.user_id \
                 AND users.password_version = mfa_tokens.password_version) ",
            $returning
        )
    };
}

/// Stores `mfa_token` hash `?1` of user `?2` (created `?4`, expires `?5`), while the user's
/// password is still at version `?3`, the one the login's check read; returns the hash if it
/// did.
pub const INSERT_TOKEN: &str = "INSERT INTO mfa_tokens \
         (token_hash, user_id, password_version, created_at, expires_at) \
     SELECT ?1, ?2, ?3, ?4, ?5 \
     WHERE EXISTS (SELECT 1 FROM users WHERE id = ?2 AND password_version = ?3) \
     RETURNING token_hash";

/// The user whose `mfa_token` hash `?1` is live at `?2`, with the user's columns.
pub const LIVE_TOKEN_USER: &str = "SELECT u.id, u.email, u.password_hash, \
         u.password_version, u.created_at, u.email_verified \
     FROM mfa_tokens t JOIN users u ON u.id = t.user_id \
     WHERE t.token_hash = ?1 AND t.used_at IS NULL AND t.expires_at > ?2 \
       AND t.wrong_codes < 5 AND u.password_version = t.password_version";

/// Uses `mfa_token` hash `?1` at `?2`, if live: after a TOTP code's [`ACCEPT_STEP`]. Returns
/// the user's id if it did; of concurrent claims of one token exactly one does. (A step
/// accepted for a claim that then fails is spent for nothing: the next code works.)
pub const CLAIM_TOKEN: &str = live_token!(
    "UPDATE mfa_tokens SET used_at = ?2 WHERE token_hash = ?1",
    "RETURNING user_id"
);

/// Uses `mfa_token` hash `?1` at `?2`, if live and recovery code hash `?3` was spent by it:
/// the second statement of a verify's batch after [`USE_RECOVERY_CODE`], so the token and the
/// code are used together or not at all.
pub const CLAIM_TOKEN_WITH_RECOVERY_CODE: &str = live_token!(
    "UPDATE mfa_tokens SET used_at = ?2 WHERE token_hash = ?1 \
     AND EXISTS (SELECT 1 FROM mfa_recovery_codes WHERE code_hash = ?3 AND used_by = ?1)",
    "RETURNING user_id"
);

/// Counts a wrong code against `mfa_token` hash `?1` at `?2`, if live; returns the count, this
/// one included (at 5 the token is dead). No row: the token was not live.
pub const RECORD_WRONG_CODE: &str = live_token!(
    "UPDATE mfa_tokens SET wrong_codes = wrong_codes + 1 WHERE token_hash = ?1",
    "RETURNING wrong_codes"
);

/// Deletes the `mfa_tokens` rows that expired at or before `?1` (the scheduled cleanup).
pub const DELETE_EXPIRED_TOKENS: &str = "DELETE FROM mfa_tokens WHERE expires_at <= ?1";

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
