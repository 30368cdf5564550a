//! The audit trail's statements on SQLite with every migration applied: the attempt's event
//! follows the throttle's rule and names known accounts only, pages are newest first and
//! filtered through their indexes, and the cleanup deletes only old events, at most its limit.

use rusqlite::types::Value;

use super::*;
use crate::store::sql::testing::{add_user, count, migrated_db, num, run, text, NOW};
use crate::store::sql::users::RESERVE_ATTEMPT;

const WINDOW: f64 = 900_000.0;
const MAX_FAILURES: f64 = 2.0;

/// One attempt of `email` at `at`, as `begin_login` sends it: the reservation, then the
/// event; the event's type, if one was written.
fn attempt(db: &rusqlite::Connection, email: &str, at: f64) -> Option<String> {
    run(db, RESERVE_ATTEMPT, &[text(email), num(at), num(WINDOW)]);
    let id = run(
        db,
        LOGIN_ATTEMPT,
        &[
            num(at),
            text("203.0.113.7"),
            Value::Null,
            text("req"),
            text(email),
            num(MAX_FAILURES),
            num(WINDOW),
            text("login_failed"),
        ],
    );
    id.first().map(|id| {
        let id = id.trim_start_matches("Integer(").trim_end_matches(')');
        run(
            db,
            &format!("SELECT type FROM audit_events WHERE id = {id}"),
            &[],
        )
        .remove(0)
    })
}

#[test]
fn an_attempt_on_a_known_account_is_failed_until_past_the_limit_then_throttled() {
    let db = migrated_db();
    add_user(&db, "u", 0);
    let email = "u@example.com";
    assert_eq!(attempt(&db, email, NOW).as_deref(), Some("login_failed"));
    assert_eq!(
        attempt(&db, email, NOW + 1.0).as_deref(),
        Some("login_failed")
    );
    assert_eq!(
        attempt(&db, email, NOW + 2.0).as_deref(),
        Some("login_throttled")
    );
    // A new window: the count starts over, and so does the type.
    assert_eq!(
        attempt(&db, email, NOW + WINDOW).as_deref(),
        Some("login_failed")
    );
    // An unknown address records nothing (its attempt is still counted).
    assert_eq!(attempt(&db, "nobody@example.com", NOW), None);
    assert_eq!(
        count(&db, "login_attempts", "email = 'nobody@example.com'"),
        1
    );
    assert_eq!(count(&db, "audit_events", "user_id = 'u'"), 4);
    assert_eq!(count(&db, "audit_events", "1"), 4);
}

fn add_event(db: &rusqlite::Connection, id: i64, at: f64, kind: &str, user: &str) {
    db.execute(
        "INSERT INTO audit_events (id, at, type, user_id, request_id) VALUES (?1, ?2, ?3, ?4, 'r')",
        rusqlite::params![id, at, kind, user],
    )
    .unwrap();
}

fn page(
    db: &rusqlite::Connection,
    sql: &str,
    after: (f64, f64),
    limit: f64,
    filter: &[Value],
) -> Vec<String> {
    let mut params = vec![num(after.0), num(after.1), num(limit)];
    params.extend_from_slice(filter);
    run(db, sql, &params)
}

#[test]
fn pages_are_newest_first_by_time_then_id_and_filtered_by_user_and_type() {
    let db = migrated_db();
    // Two events in one millisecond: the later id is the newer.
    add_event(&db, 1, NOW, "login_failed", "a");
    add_event(&db, 2, NOW, "login_succeeded", "a");
    add_event(&db, 3, NOW - 5.0, "login_failed", "b");
    add_event(&db, 4, NOW + 5.0, "password_changed", "a");
    let top = (9e15, 9e15);
    let ids = |v: Vec<String>| v.join(",");
    assert_eq!(
        ids(page(&db, PAGE, top, 10.0, &[])),
        "Integer(4),Integer(2),Integer(1),Integer(3)"
    );
    assert_eq!(ids(page(&db, PAGE, top, 2.0, &[])), "Integer(4),Integer(2)");
    // After (NOW, 2): the rest, none repeated.
    assert_eq!(
        ids(page(&db, PAGE, (NOW, 2.0), 10.0, &[])),
        "Integer(1),Integer(3)"
    );
    assert_eq!(
        ids(page(&db, PAGE_OF_USER, top, 10.0, &[text("a")])),
        "Integer(4),Integer(2),Integer(1)"
    );
    assert_eq!(
        ids(page(
            &db,
            PAGE_OF_TYPE,
            top,
            10.0,
            &[Value::Null, text("login_failed")]
        )),
        "Integer(1),Integer(3)"
    );
    assert_eq!(
        ids(page(
            &db,
            PAGE_OF_USER_AND_TYPE,
            top,
            10.0,
            &[text("a"), text("login_failed")]
        )),
        "Integer(1)"
    );
    assert!(page(
        &db,
        PAGE_OF_TYPE,
        top,
        10.0,
        &[Value::Null, text("no_such_type")]
    )
    .is_empty());
}

#[test]
fn filtered_pages_read_through_an_index() {
    let db = migrated_db();
    for (sql, index) in [
        (PAGE, "audit_events_at"),
        (PAGE_OF_USER, "audit_events_user"),
        (PAGE_OF_TYPE, "audit_events_type"),
        (PAGE_OF_USER_AND_TYPE, "audit_events_"),
    ] {
        let mut plan = db.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let nulls = vec![Value::Null; plan.parameter_count()];
        let detail: Vec<String> = plan
            .query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(
            detail.iter().any(|d| d.contains(index)),
            "{sql}: {detail:?}"
        );
        assert!(
            !detail.iter().any(|d| d.contains("TEMP B-TREE")),
            "{sql}: {detail:?}"
        );
    }
}

#[test]
fn the_cleanup_deletes_events_older_than_the_cutoff_at_most_its_limit() {
    let db = migrated_db();
    add_event(&db, 1, 10.0, "login_failed", "a");
    add_event(&db, 2, 20.0, "login_failed", "gone");
    add_event(&db, 3, NOW, "login_failed", "a");
    let clean = |limit: f64| {
        db.execute(BEFORE, rusqlite::params_from_iter([num(NOW), num(limit)]))
            .unwrap()
    };
    assert_eq!(clean(1.0), 1, "at most the limit");
    assert_eq!(clean(10.0), 1);
    assert_eq!(clean(10.0), 0);
    assert_eq!(run(&db, "SELECT id FROM audit_events", &[]), ["Integer(3)"]);
}
