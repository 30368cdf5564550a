//! The SQL text of the D1 store (`storage`, built for the Worker only), kept here where
//! it also compiles natively, so that native tests run the statements on SQLite, the engine
//! under D1, with every migration of `migrations/` applied. The in-memory twins prove the
//! stores' rules; these tests prove that the SQL keeps the same ones, including guards that no
//! end-to-end test can reach (a race that HTTP cannot time).
//!
//! One file per store, as in `storage`, each with its tests beside it; parameters are numbered
//! (`?1`) and bound in that order by the D1 store. A batch's statements are documented in the
//! batch's order: D1 runs a batch as one transaction, and the tests run them so too.

pub mod cleanup;
pub mod email;
pub mod mfa;
pub mod passkeys;
pub mod sessions;
pub mod settings;
pub mod users;

#[cfg(all(test, not(target_arch = "wasm32")))]
pub(crate) mod testing;
