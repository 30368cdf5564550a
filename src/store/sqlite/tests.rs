//! The SQLite executor runs statements as D1 does: a batch all or nothing, numbers as doubles,
//! a read's changes 0; and the faults of `Faulty` over it.

use futures::executor::block_on;

use super::Sqlite;
use crate::store::exec::{query, Columns, Sql, Value};
use crate::store::fakes::Faulty;
use crate::store::{Read, StoreError, UserStore};

const ADD_ATTEMPT: &str =
    "INSERT INTO login_attempts (email, failures, window_start_ms) VALUES (?1, ?2, ?3)";
/// Fails on its NOT NULL constraint.
const ADD_ATTEMPT_WITHOUT_WINDOW: &str =
    "INSERT INTO login_attempts (email, failures, window_start_ms) VALUES (?1, 1, NULL)";

#[test]
fn a_batch_that_fails_part_way_writes_nothing() {
    let db = Sqlite::default();
    let result = block_on(db.batch(vec![
        query!(ADD_ATTEMPT, "a@example.com", &1_i64, &5_i64),
        query!(ADD_ATTEMPT_WITHOUT_WINDOW, "b@example.com"),
    ]));
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );
    assert_eq!(db.attempts_of("a@example.com"), None);
    assert_eq!(db.counts()[1], 0);
}

#[test]
fn a_batch_returns_each_statements_rows_and_changes_in_order() {
    let db = Sqlite::default();
    let results = block_on(db.batch(vec![
        query!(ADD_ATTEMPT, "a@example.com", &1_i64, &5_i64),
        query!(ADD_ATTEMPT, "b@example.com", &2_i64, &6_i64),
        query!("SELECT email, failures FROM login_attempts ORDER BY email"),
        query!("DELETE FROM login_attempts"),
    ]))
    .unwrap();
    let changes: Vec<u32> = results.iter().map(|o| o.changes).collect();
    assert_eq!(changes, [1, 1, 0, 2]);
    let emails: Vec<String> = results[2]
        .rows
        .iter()
        .map(|r| r.text("email").unwrap())
        .collect();
    assert_eq!(emails, ["a@example.com", "b@example.com"]);
}

#[test]
fn columns_read_as_d1_returns_them() {
    let db = Sqlite::default();
    let row = block_on(db.first(query!(
        "SELECT 7 AS int, 2.5 AS real, 'x' AS text, NULL AS empty"
    )))
    .unwrap()
    .unwrap();
    // Integers come back as doubles, as D1's JS numbers.
    assert_eq!(row.column("int"), Some(Value::Number(7.0)));
    assert_eq!(row.column("real"), Some(Value::Number(2.5)));
    assert_eq!(row.column("text"), Some(Value::Text("x".into())));
    assert_eq!(row.column("empty"), Some(Value::Null));
    assert_eq!(row.column("absent"), None);
    assert_eq!(row.number_or_zero("absent"), Ok(0.0));
    assert_eq!(row.optional_text("empty"), Ok(None));
    assert!(matches!(row.text("int"), Err(StoreError::Corrupt(_))));
    assert!(matches!(row.number("text"), Err(StoreError::Corrupt(_))));
}

#[test]
fn arguments_are_bound_as_doubles_and_match_integer_columns() {
    let db = Sqlite::default();
    block_on(db.all(query!(
        ADD_ATTEMPT,
        "a@example.com",
        &3_i64,
        &1_800_000_000_000_i64
    )))
    .unwrap();
    let found = block_on(db.all(query!(
        "SELECT typeof(?1) AS bound, failures FROM login_attempts WHERE window_start_ms = ?1",
        &1_800_000_000_000_i64
    )))
    .unwrap();
    assert_eq!(found.rows.len(), 1);
    assert_eq!(found.rows[0].text("bound"), Ok("real".into()));
    assert_eq!(found.rows[0].number("failures"), Ok(3.0));
}

#[test]
fn a_failing_database_fails_every_call_and_counts_it() {
    let db = Faulty::new(Sqlite::default());
    block_on(db.ping()).unwrap();
    db.fail.set(true);
    assert_eq!(
        block_on(db.ping()),
        Err(StoreError::Unavailable("injected failure".into()))
    );
    assert!(
        block_on(db.batch(vec![query!(ADD_ATTEMPT, "a@example.com", &1_i64, &5_i64)])).is_err()
    );
    assert_eq!(db.calls.get(), 3);
    assert_eq!(db.attempts_of("a@example.com"), None, "nothing written");
}

#[test]
fn a_lagging_replica_finds_nothing_that_the_primary_has() {
    let db = Faulty::new(Sqlite::default());
    block_on(db.all(query!(ADD_ATTEMPT, "a@example.com", &1_i64, &5_i64))).unwrap();
    db.replica_lags.set(true);
    let select = query!("SELECT email FROM login_attempts");
    let nearest = block_on(db.read(select, Read::Nearest)).unwrap();
    let primary = block_on(db.read(select, Read::Primary)).unwrap();
    assert!(nearest.rows.is_empty());
    assert_eq!(primary.rows.len(), 1);
    assert_eq!(db.session_reads.take(), [Read::Nearest, Read::Primary]);
}
