//! The D1 and Workers KV implementations of the storage traits. All SQL is bound, never
//! formatted; rows are `…Row` structs kept apart from the domain types, and decoded through the
//! same [`UserRow::decode`](crate::store::UserRow::decode) as the in-memory twin's.
//!
//! One [`D1Store`] implements every D1-backed trait, one file per trait: `users`, `sessions`,
//! `email`, `cleanup`; `kv` holds the breaker's state.

mod cleanup;
mod email;
mod kv;
mod sessions;
mod users;

use serde::Deserialize;
use worker::{D1Database, D1PreparedStatement, D1Result};

use crate::store::StoreError;

pub use kv::KvBreaker;

/// The Worker's D1 database.
pub struct D1Store(pub D1Database);

/// A failed D1 or KV call: an outage as far as the breaker is concerned.
fn store_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// A row the query promised but that does not deserialize: bad data, not an outage.
fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

#[derive(Deserialize)]
struct IdRow {
    id: String,
}

/// Runs a bound statement and returns its first row, if any.
async fn first_row<T: serde::de::DeserializeOwned>(
    stmt: worker::Result<D1PreparedStatement>,
) -> Result<Option<T>, StoreError> {
    stmt.map_err(store_err)?
        .first(None)
        .await
        .map_err(store_err)
}

/// Runs a bound statement and returns its result (rows and meta).
async fn execute(stmt: worker::Result<D1PreparedStatement>) -> Result<D1Result, StoreError> {
    stmt.map_err(store_err)?.all().await.map_err(store_err)
}

/// Runs a bound statement and returns every row.
async fn all_rows<T: serde::de::DeserializeOwned>(
    stmt: worker::Result<D1PreparedStatement>,
) -> Result<Vec<T>, StoreError> {
    execute(stmt).await?.results().map_err(corrupt)
}

/// Runs a bound statement and returns how many rows it changed.
async fn changes(stmt: worker::Result<D1PreparedStatement>) -> Result<u32, StoreError> {
    let result = stmt.map_err(store_err)?.run().await.map_err(store_err)?;
    Ok(changed(&result))
}

fn changed(result: &D1Result) -> u32 {
    result
        .meta()
        .ok()
        .flatten()
        .and_then(|m| m.changes)
        .unwrap_or(0) as u32
}

/// Runs statements as one D1 batch (one transaction, one round trip).
async fn batch(
    db: &D1Database,
    statements: Vec<worker::Result<D1PreparedStatement>>,
) -> Result<Vec<D1Result>, StoreError> {
    let statements = statements
        .into_iter()
        .collect::<worker::Result<Vec<_>>>()
        .map_err(store_err)?;
    db.batch(statements).await.map_err(store_err)
}

/// The `i`th result of a batch.
fn result_of(results: &[D1Result], i: usize) -> Result<&D1Result, StoreError> {
    results
        .get(i)
        .ok_or_else(|| store_err("batch returned too few results"))
}

/// The rows of the `i`th result of a batch.
fn rows_of<T: serde::de::DeserializeOwned>(
    results: &[D1Result],
    i: usize,
) -> Result<Vec<T>, StoreError> {
    result_of(results, i)?.results().map_err(corrupt)
}

/// The ids that statement `ids` of a batch returned, if statement `written` (the one every
/// other statement's condition mirrors) returned a row; `None` when it wrote nothing.
fn ids_if_written(
    results: &[D1Result],
    written: usize,
    ids: usize,
) -> Result<Option<Vec<String>>, StoreError> {
    if rows_of::<IdRow>(results, written)?.is_empty() {
        return Ok(None);
    }
    let rows = rows_of::<IdRow>(results, ids)?;
    Ok(Some(rows.into_iter().map(|r| r.id).collect()))
}

/// The first row of a result read as two views of its columns, such as a session's own
/// columns and its user's [`UserRow`](crate::store::UserRow). Each view ignores the other's
/// columns; `#[serde(flatten)]` would do the same in one pass but buffers every field first,
/// and its code was 17 KB of the wasm.
fn pair_of<A, B>(result: &D1Result) -> Result<Option<(A, B)>, StoreError>
where
    A: serde::de::DeserializeOwned,
    B: serde::de::DeserializeOwned,
{
    let a = result.results::<A>().map_err(corrupt)?.into_iter().next();
    let b = result.results::<B>().map_err(corrupt)?.into_iter().next();
    Ok(a.zip(b))
}
