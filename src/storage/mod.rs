//! The Worker's databases behind the storage traits: D1 runs the statements of
//! [`crate::store`]'s SQL implementation (`d1`: [`D1Store`] is its executor), and Workers KV
//! holds the breaker's state (`kv`).

pub(crate) mod d1;
mod kv;

use worker::D1Database;

use crate::store::StoreError;

pub use kv::KvBreaker;

/// The Worker's D1 database: every D1-backed storage trait, through [`crate::store::exec::Sql`].
pub struct D1Store(pub D1Database);

/// A failed storage call: an outage as far as the breaker is concerned.
fn store_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}
