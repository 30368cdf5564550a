//! Two-step verification's core, plain Rust over [`crypto::MfaCrypto`] (WebCrypto in the
//! Worker, RustCrypto natively): TOTP codes (`totp`), recovery codes (`recovery_codes`), the
//! TOTP secret sealed at rest (`secret_box`) and the login's `mfa_token` (`mfa_token`). The SQL
//! is in `crate::store::sql::mfa`; docs/mfa.md has the design notes. The endpoints are in
//! `endpoints` (setup, confirm, verify, recovery codes, disable) over `factor` (what they share
//! with login and account deletion).

pub mod crypto;
mod endpoints;
pub(crate) use endpoints::non_empty;
mod factor;
pub mod known_answers;
pub mod mfa_token;
pub mod recovery_codes;
pub mod secret_box;
pub mod totp;
