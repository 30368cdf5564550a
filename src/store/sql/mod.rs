//! The SQL text of the stores (`store`, run by D1 in the Worker and by SQLite natively), tested
//! here statement by statement on SQLite, the engine under D1, with every migration of
//! `migrations/` applied, including guards that no end-to-end test can reach (a race that HTTP
//! cannot time).
//!
//! One file per store, as in `store`, each with its tests beside it; parameters are numbered
//! (`?1`) and bound in that order by the store. A batch's statements are documented in the
//! batch's order: D1 runs a batch as one transaction, and the tests run them so too.

pub mod admin;
pub mod audit;
pub mod cleanup;
pub mod email;
pub mod mfa;
pub mod passkeys;
pub mod sessions;
pub mod settings;
pub mod users;

#[cfg(all(test, not(target_arch = "wasm32")))]
pub(crate) mod testing;
