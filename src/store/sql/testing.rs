//! Running the statements on SQLite in native tests. Numbers are bound as doubles, the type of
//! the JS numbers the D1 store binds: SQLite compares them with INTEGER columns by value, and a
//! whole double is a valid `LIMIT`, so a statement that works here with doubles works with
//! integers too.

use rusqlite::types::Value;
use rusqlite::Connection;

/// An in-memory SQLite database with every migration of `migrations/` applied, in order (as
/// `wrangler d1 migrations apply` does), and foreign keys enforced, as D1 enforces them: the
/// native store's own ([`crate::store::sqlite::migrated_connection`]).
pub(crate) fn migrated_db() -> Connection {
    crate::store::sqlite::migrated_connection().unwrap()
}

pub(crate) fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

pub(crate) fn num(n: f64) -> Value {
    Value::Real(n)
}

/// Runs one statement; the first column of each row it returns, as text (a number as its
/// `Value`'s debug form, such as `Integer(1)`).
pub(crate) fn run(db: &Connection, sql: &str, params: &[Value]) -> Vec<String> {
    let mut stmt = db.prepare(sql).unwrap();
    let rows = stmt
        .query_map(rusqlite::params_from_iter(params), |r| r.get::<_, Value>(0))
        .unwrap();
    rows.map(|v| match v.unwrap() {
        Value::Text(s) => s,
        other => format!("{other:?}"),
    })
    .collect()
}

/// Runs statements as one transaction, as a D1 batch does; each one's rows.
pub(crate) fn batch(db: &mut Connection, statements: &[(&str, Vec<Value>)]) -> Vec<Vec<String>> {
    let tx = db.transaction().unwrap();
    let out = statements
        .iter()
        .map(|(sql, params)| run(&tx, sql, params))
        .collect();
    tx.commit().unwrap();
    out
}

/// User `id`, email `{id}@example.com`, at password version `password_version`.
pub(crate) fn add_user(db: &Connection, id: &str, password_version: i64) {
    db.execute(
        "INSERT INTO users (id, email, password_hash, created_at, updated_at, password_version) \
         VALUES (?1, ?2, 'hash', '2026-11-27T00:00:00Z', '2026-11-27T00:00:00Z', ?3)",
        rusqlite::params![id, format!("{id}@example.com"), password_version],
    )
    .unwrap();
}

/// The number of rows of `table` that match `condition`.
pub(crate) fn count(db: &Connection, table: &str, condition: &str) -> i64 {
    db.query_row(
        &format!("SELECT count(*) FROM {table} WHERE {condition}"),
        [],
        |r| r.get(0),
    )
    .unwrap()
}

/// The statements' "now" in the tests (Unix ms).
pub(crate) const NOW: f64 = 1_800_000_000_000.0;

/// Session `sid` of `user`, with refresh token hash `refresh-{sid}`, expiring at `expires_at`,
/// ended at `revoked_at` if given: a row as a login writes it, or as it is later.
pub(crate) fn add_session(
    db: &Connection,
    user: &str,
    sid: &str,
    expires_at: f64,
    revoked_at: Option<f64>,
) {
    db.execute(
        "INSERT INTO sessions (id, user_id, refresh_hash, created_at, expires_at, revoked_at) \
         VALUES (?1, ?2, 'refresh-' || ?1, '2026-11-27T00:00:00Z', ?3, ?4)",
        rusqlite::params![sid, user, expires_at, revoked_at],
    )
    .unwrap();
}

/// Email token `hash` of `user` for `purpose`, expiring at `expires_at`, used at `used_at` if
/// given.
pub(crate) fn add_token(
    db: &Connection,
    hash: &str,
    user: &str,
    purpose: &str,
    expires_at: f64,
    used_at: Option<f64>,
) {
    db.execute(
        "INSERT INTO email_tokens (token_hash, user_id, purpose, created_at, expires_at, used_at) \
         VALUES (?1, ?2, ?3, 0, ?4, ?5)",
        rusqlite::params![hash, user, purpose, expires_at, used_at],
    )
    .unwrap();
}

/// The names of the columns `sql` returns, in order.
pub(crate) fn columns(db: &Connection, sql: &str) -> Vec<String> {
    let stmt = db.prepare(sql).unwrap();
    stmt.column_names().into_iter().map(str::to_owned).collect()
}

/// The columns a user row is read from (`UserRow` in the D1 store).
pub(crate) const USER_COLUMNS: [&str; 6] = [
    "id",
    "email",
    "password_hash",
    "password_version",
    "created_at",
    "email_verified",
];
