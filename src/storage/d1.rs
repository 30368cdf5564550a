//! The D1 binding's calls without serde: arguments are bound as plain JS values ([`Param`],
//! [`query!`]) and rows are read column by column ([`Row`], [`FromRow`]).
//!
//! `worker`'s own `query!`, `D1Result::results` and `first` go through serde-wasm-bindgen, whose
//! deserializer (one copy per row type) and serializer were 8 KB of the gzipped wasm; a row
//! here is read with one property lookup per column.

use worker::js_sys::futures::JsFuture;
use worker::js_sys::{Array, Promise, Reflect};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::worker_sys::types::D1Database as D1DatabaseSys;
use worker::{D1Database, D1PreparedStatement};

use super::store_err;
use crate::store::StoreError;

/// A value bound to one `?` of a statement: text, a number (integers as JS numbers, which hold
/// every timestamp and count exactly), or `NULL` for `None`.
pub(crate) trait Param {
    fn js(&self) -> JsValue;
}

impl Param for str {
    fn js(&self) -> JsValue {
        JsValue::from_str(self)
    }
}

impl Param for String {
    fn js(&self) -> JsValue {
        JsValue::from_str(self)
    }
}

impl Param for i64 {
    fn js(&self) -> JsValue {
        JsValue::from_f64(*self as f64)
    }
}

impl Param for i32 {
    fn js(&self) -> JsValue {
        JsValue::from_f64(f64::from(*self))
    }
}

impl Param for u32 {
    fn js(&self) -> JsValue {
        JsValue::from_f64(f64::from(*self))
    }
}

impl<T: Param + ?Sized> Param for &T {
    fn js(&self) -> JsValue {
        (**self).js()
    }
}

impl<T: Param> Param for Option<T> {
    fn js(&self) -> JsValue {
        self.as_ref().map_or(JsValue::NULL, Param::js)
    }
}

/// `query!(db, sql, args…)`: the statement with its arguments bound, each a [`Param`]; a
/// `worker::Result`, as from `worker`'s macro of the same name.
macro_rules! query {
    ($db:expr, $sql:expr) => {
        ::worker::Result::Ok(::worker::D1Database::prepare($db, $sql))
    };
    ($db:expr, $sql:expr, $($arg:expr),+ $(,)?) => {
        ::worker::D1Database::prepare($db, $sql)
            .bind(&[$($crate::storage::d1::Param::js(&$arg)),+])
    };
}
pub(crate) use query;

/// A failed D1 call: an outage, with the JS error's text for the logs.
pub(super) fn js_error(e: JsValue) -> StoreError {
    StoreError::Unavailable(crate::platform::js::error_text(&e))
}

async fn settle(promise: Result<Promise, JsValue>) -> Result<JsValue, StoreError> {
    JsFuture::from(promise.map_err(js_error)?)
        .await
        .map_err(js_error)
}

/// Runs a statement; its rows and meta. (A statement that failed to build, a bad binding,
/// is an outage as far as the breaker is concerned, as any failed call.)
pub(super) async fn execute(
    stmt: worker::Result<D1PreparedStatement>,
) -> Result<Outcome, StoreError> {
    let stmt = stmt.map_err(store_err)?;
    settle(stmt.inner().all()).await.map(Outcome)
}

/// Runs a statement; its first row, if any.
pub(super) async fn first(
    stmt: worker::Result<D1PreparedStatement>,
) -> Result<Option<JsValue>, StoreError> {
    let stmt = stmt.map_err(store_err)?;
    let row = settle(stmt.inner().first(None)).await?;
    Ok((!row.is_null() && !row.is_undefined()).then_some(row))
}

/// Runs statements as one D1 batch (one transaction, one round trip); their outcomes in order.
pub(super) async fn batch(
    db: &D1Database,
    statements: Vec<worker::Result<D1PreparedStatement>>,
) -> Result<Vec<Outcome>, StoreError> {
    let array = Array::new();
    for stmt in statements {
        array.push(stmt.map_err(store_err)?.inner());
    }
    let db: &D1DatabaseSys = db.as_ref().unchecked_ref();
    let results = settle(db.batch(array)).await?;
    let results: Array = results
        .dyn_into()
        .map_err(|_| StoreError::Unavailable("D1 batch returned no array".to_owned()))?;
    Ok(results.iter().map(Outcome).collect())
}

/// One statement's result object (`results`, `meta`).
pub(super) struct Outcome(JsValue);

impl Outcome {
    /// Its row objects (none when D1 gives no `results`).
    fn results(&self) -> Result<Array, StoreError> {
        let rows = Reflect::get(&self.0, &JsValue::from_str("results")).unwrap_or_default();
        if rows.is_null() || rows.is_undefined() {
            return Ok(Array::new());
        }
        rows.dyn_into()
            .map_err(|_| StoreError::Corrupt("D1 results are not an array".to_owned()))
    }

    /// Its rows, each read as a `T`.
    pub(super) fn rows<T: FromRow>(&self) -> Result<Vec<T>, StoreError> {
        self.results()?
            .iter()
            .map(|row| T::from_row(&Row(&row)))
            .collect()
    }

    /// Its first row, read as two views of its columns (a session's own and its user's).
    pub(super) fn pair<A: FromRow, B: FromRow>(&self) -> Result<Option<(A, B)>, StoreError> {
        match self.results()?.iter().next() {
            Some(row) => {
                let row = Row(&row);
                Ok(Some((A::from_row(&row)?, B::from_row(&row)?)))
            }
            None => Ok(None),
        }
    }

    /// How many rows it changed (`meta.changes`; 0 when D1 does not say).
    pub(super) fn changes(&self) -> u32 {
        Reflect::get(&self.0, &JsValue::from_str("meta"))
            .and_then(|meta| Reflect::get(&meta, &JsValue::from_str("changes")))
            .ok()
            .and_then(|n| n.as_f64())
            .unwrap_or(0.0) as u32
    }
}

/// A row as D1 returns it: an object with one property per column. TEXT columns are strings,
/// INTEGER and REAL columns numbers, NULL is `null`.
pub struct Row<'a>(pub &'a JsValue);

impl Row<'_> {
    fn column(&self, name: &str) -> JsValue {
        Reflect::get(self.0, &JsValue::from_str(name)).unwrap_or_default()
    }

    fn wrong(name: &str, expected: &str) -> StoreError {
        StoreError::Corrupt(format!("column {name}: expected {expected}"))
    }

    /// A TEXT column that is never NULL.
    pub fn text(&self, name: &str) -> Result<String, StoreError> {
        self.column(name)
            .as_string()
            .ok_or_else(|| Self::wrong(name, "text"))
    }

    /// A column that may be NULL, read by `read` when it is not.
    fn optional<T>(
        &self,
        name: &str,
        read: fn(&JsValue) -> Option<T>,
        expected: &str,
    ) -> Result<Option<T>, StoreError> {
        let value = self.column(name);
        if value.is_null() {
            return Ok(None);
        }
        read(&value)
            .map(Some)
            .ok_or_else(|| Self::wrong(name, expected))
    }

    /// A TEXT column that may be NULL.
    pub fn optional_text(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.optional(name, JsValue::as_string, "text or NULL")
    }

    /// A numeric column that is never NULL.
    pub fn number(&self, name: &str) -> Result<f64, StoreError> {
        self.column(name)
            .as_f64()
            .ok_or_else(|| Self::wrong(name, "a number"))
    }

    /// A numeric column that may be NULL.
    pub fn optional_number(&self, name: &str) -> Result<Option<f64>, StoreError> {
        self.optional(name, JsValue::as_f64, "a number or NULL")
    }

    /// A numeric column a query may leave out: 0 when absent.
    pub fn number_or_zero(&self, name: &str) -> Result<f64, StoreError> {
        let value = self.column(name);
        if value.is_undefined() {
            return Ok(0.0);
        }
        value.as_f64().ok_or_else(|| Self::wrong(name, "a number"))
    }
}

/// A row type read from a [`Row`]: a column it needs that is missing or of the wrong type is
/// [`StoreError::Corrupt`], never a panic.
pub trait FromRow: Sized {
    fn from_row(row: &Row) -> Result<Self, StoreError>;
}
