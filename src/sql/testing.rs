//! Running the statements on SQLite in native tests. Numbers are bound as the D1 store binds
//! them (as JS numbers): as doubles.

use rusqlite::types::Value;
use rusqlite::Connection;

/// An in-memory SQLite database with every migration of `migrations/` applied, in order (as
/// `wrangler d1 migrations apply` does), and foreign keys enforced, as D1 enforces them.
pub(crate) fn migrated_db() -> Connection {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    let db = Connection::open_in_memory().unwrap();
    db.execute_batch("PRAGMA foreign_keys = ON").unwrap();
    for f in files {
        db.execute_batch(&std::fs::read_to_string(f).unwrap())
            .unwrap();
    }
    db
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
