//! The statements of the `settings` table (`migrations/0011_settings.sql`): values a tool
//! writes into D1 for the Worker to read.

/// Raises the recorded cost of the costliest imported hash (`imported_hash_max_work`, in
/// PBKDF2-SHA256 iterations) to `?1` if that is higher; never
/// lowers it: an import of cheaper hashes leaves the padding of the earlier ones' accounts.
/// (`make import` writes it into its SQL files with `?1` replaced by the number, as a file
/// cannot bind parameters.)
pub const RECORD_IMPORTED_HASH_WORK: &str = "INSERT INTO settings (key, value) \
     VALUES ('imported_hash_max_work', ?1) \
     ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)";

/// The recorded cost of the costliest imported hash: one row, or none before any import. Read
/// in the login's first batch (`sql::users::RESERVE_ATTEMPT`, `BY_EMAIL`, then this), so the
/// padding never lags the table and costs no round trip of its own.
pub const IMPORTED_HASH_WORK: &str =
    "SELECT value FROM settings WHERE key = 'imported_hash_max_work'";

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
