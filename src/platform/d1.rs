//! The D1 binding: [`D1Store`], the executor that runs the statements of [`crate::store`]'s SQL
//! implementation of every storage trait, through [`Sql`], without serde: arguments are bound as plain JS values and rows
//! are read column by column (one property lookup each).
//!
//! `worker`'s own `query!`, `D1Result::results` and `first` go through serde-wasm-bindgen, whose
//! deserializer (one copy per row type) and serializer were 8 KB of the gzipped wasm.

use worker::js_sys::futures::JsFuture;
use worker::js_sys::{Array, Promise, Reflect};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::worker_sys::types::{D1Database as D1DatabaseSys, D1PreparedStatement as Prepared};
use worker::D1Database;

use crate::store::exec::{Arg, Columns, Outcome, Sql, Statement, Value};
use crate::store::{Read, StoreError};

/// The Worker's D1 database: every D1-backed storage trait, through [`Sql`].
pub struct D1Store(pub D1Database);

/// A failed D1 call: an outage, with the JS error's text for the logs.
fn js_error(e: JsValue) -> StoreError {
    StoreError::Unavailable(super::js::error_text(&e))
}

async fn settle(promise: Result<Promise, JsValue>) -> Result<JsValue, StoreError> {
    JsFuture::from(promise.map_err(js_error)?)
        .await
        .map_err(js_error)
}

/// A bound argument as a JS value: text a string, a number a JS number, NULL `null`.
fn js(arg: &Arg) -> JsValue {
    match *arg {
        Arg::Null => JsValue::NULL,
        Arg::Number(n) => JsValue::from_f64(n),
        Arg::Text(s) => JsValue::from_str(s),
    }
}

/// The statement with its arguments bound (a bad binding is an outage as far as the breaker is
/// concerned, as any failed call).
fn bind(prepared: Result<Prepared, JsValue>, stmt: &Statement<'_>) -> Result<Prepared, StoreError> {
    let prepared = prepared.map_err(js_error)?;
    if stmt.params.is_empty() {
        return Ok(prepared);
    }
    let args: Array = stmt.params.iter().map(js).collect();
    prepared.bind(args).map_err(js_error)
}

/// A row as D1 returns it: an object with one property per column. TEXT columns are strings,
/// INTEGER and REAL columns numbers, NULL is `null`.
pub struct D1Row(JsValue);

impl Columns for D1Row {
    fn column(&self, name: &str) -> Option<Value> {
        let value = Reflect::get(&self.0, &JsValue::from_str(name)).unwrap_or_default();
        if value.is_null() {
            Some(Value::Null)
        } else if let Some(s) = value.as_string() {
            Some(Value::Text(s))
        } else {
            // Absent (undefined) or of a type no column of ours has: neither text nor a number.
            value.as_f64().map(Value::Number)
        }
    }
}

/// One statement's result object (`results`, `meta`).
fn outcome(result: &JsValue) -> Result<Outcome<D1Row>, StoreError> {
    let rows = Reflect::get(result, &JsValue::from_str("results")).unwrap_or_default();
    let rows = if rows.is_null() || rows.is_undefined() {
        Vec::new()
    } else {
        let rows: Array = rows
            .dyn_into()
            .map_err(|_| StoreError::Corrupt("D1 results are not an array".to_owned()))?;
        rows.iter().map(D1Row).collect()
    };
    // `meta.changes`; 0 when D1 does not say.
    let changes = Reflect::get(result, &JsValue::from_str("meta"))
        .and_then(|meta| Reflect::get(&meta, &JsValue::from_str("changes")))
        .ok()
        .and_then(|n| n.as_f64())
        .unwrap_or(0.0) as u32;
    Ok(Outcome { rows, changes })
}

impl D1Store {
    fn db(&self) -> &D1DatabaseSys {
        self.0.as_ref().unchecked_ref()
    }

    fn prepare(&self, stmt: &Statement<'_>) -> Result<Prepared, StoreError> {
        bind(self.db().prepare(stmt.sql), stmt)
    }
}

impl Sql for D1Store {
    type Row = D1Row;

    async fn all(&self, stmt: Statement<'_>) -> Result<Outcome<D1Row>, StoreError> {
        self.read(stmt, Read::Primary).await
    }

    async fn first(&self, stmt: Statement<'_>) -> Result<Option<D1Row>, StoreError> {
        let prepared = self.prepare(&stmt)?;
        let found = settle(prepared.first(None)).await?;
        Ok((!found.is_null() && !found.is_undefined()).then_some(D1Row(found)))
    }

    async fn batch(&self, stmts: Vec<Statement<'_>>) -> Result<Vec<Outcome<D1Row>>, StoreError> {
        let array = Array::new();
        for stmt in &stmts {
            array.push(self.prepare(stmt)?.as_ref());
        }
        let results = settle(self.db().batch(array)).await?;
        let results: Array = results
            .dyn_into()
            .map_err(|_| StoreError::Unavailable("D1 batch returned no array".to_owned()))?;
        results.iter().map(|r| outcome(&r)).collect()
    }

    async fn read(&self, stmt: Statement<'_>, read: Read) -> Result<Outcome<D1Row>, StoreError> {
        let prepared = match read {
            Read::Primary => self.prepare(&stmt)?,
            // A Sessions API session that starts anywhere: a read replica near this location
            // may answer (on a database without replicas, the primary does).
            Read::Nearest => {
                let session = self
                    .db()
                    .with_session(Some("first-unconstrained"))
                    .map_err(js_error)?;
                bind(session.session_prepare(stmt.sql), &stmt)?
            }
        };
        outcome(&settle(prepared.all()).await?)
    }
}
