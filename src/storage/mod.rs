//! The D1 implementation of the storage traits. The SQL text lives in
//! [`crate::sql`] (tested there on SQLite) and is bound, never formatted (`d1::query!`); rows are `…Row` structs kept apart from the domain types, read
//! column by column (`d1::FromRow`) and decoded through the same
//! [`UserRow::decode`](crate::store::UserRow::decode) as the in-memory twin's.
//!
//! One [`D1Store`] implements every D1-backed trait, one file per trait: `users`, `sessions`,
//! `email`, `cleanup`.

mod cleanup;
pub(crate) mod d1;
mod email;
mod sessions;
mod users;

use worker::{D1Database, D1PreparedStatement};

use crate::store::StoreError;
use d1::{batch, execute, FromRow, Outcome, Row};

/// The Worker's D1 database.
pub struct D1Store(pub D1Database);

/// A failed storage call: an outage as far as the breaker is concerned.
fn store_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

struct IdRow {
    id: String,
}

impl FromRow for IdRow {
    fn from_row(row: &Row) -> Result<Self, StoreError> {
        Ok(IdRow {
            id: row.text("id")?,
        })
    }
}

/// Runs a bound statement and returns its first row, if any.
async fn first_row<T: FromRow>(
    stmt: worker::Result<D1PreparedStatement>,
) -> Result<Option<T>, StoreError> {
    d1::first(stmt)
        .await?
        .map(|row| T::from_row(&Row(&row)))
        .transpose()
}

/// Runs a bound statement and returns every row.
async fn all_rows<T: FromRow>(
    stmt: worker::Result<D1PreparedStatement>,
) -> Result<Vec<T>, StoreError> {
    execute(stmt).await?.rows()
}

/// Runs a bound statement and returns how many rows it changed.
async fn changes(stmt: worker::Result<D1PreparedStatement>) -> Result<u32, StoreError> {
    Ok(execute(stmt).await?.changes())
}

/// The `i`th result of a batch.
fn result_of(results: &[Outcome], i: usize) -> Result<&Outcome, StoreError> {
    results
        .get(i)
        .ok_or_else(|| StoreError::Unavailable("batch returned too few results".to_owned()))
}

/// The rows of the `i`th result of a batch.
fn rows_of<T: FromRow>(results: &[Outcome], i: usize) -> Result<Vec<T>, StoreError> {
    result_of(results, i)?.rows()
}

/// The ids that statement `ids` of a batch returned, if statement `written` (the one every
/// other statement's condition mirrors) returned a row; `None` when it wrote nothing.
fn ids_if_written(
    results: &[Outcome],
    written: usize,
    ids: usize,
) -> Result<Option<Vec<String>>, StoreError> {
    if rows_of::<IdRow>(results, written)?.is_empty() {
        return Ok(None);
    }
    let rows = rows_of::<IdRow>(results, ids)?;
    Ok(Some(rows.into_iter().map(|r| r.id).collect()))
}

impl FromRow for crate::store::UserRow {
    fn from_row(row: &Row) -> Result<Self, StoreError> {
        Ok(crate::store::UserRow {
            id: row.text("id")?,
            email: row.text("email")?,
            password_hash: row.text("password_hash")?,
            password_version: row.number_or_zero("password_version")?,
            created_at: row.text("created_at")?,
            email_verified: row.number_or_zero("email_verified")?,
        })
    }
}
