//! The cleanup's statements on SQLite with every migration applied: each deletes only what is
//! dead, and at most its limit.

use super::*;
use crate::sql::testing::{add_user, count, migrated_db, num, run, NOW};

fn exec(db: &rusqlite::Connection, sql: &str) {
    db.execute_batch(sql).unwrap();
}

/// Runs a cleanup statement at `at` with `limit`; the rows it deleted itself (not those the
/// foreign keys' cascades deleted).
fn clean(db: &rusqlite::Connection, sql: &str, at: f64, limit: f64) -> usize {
    db.execute(sql, rusqlite::params_from_iter([num(at), num(limit)]))
        .unwrap()
}

#[test]
fn sessions_that_expired_or_ended_before_the_cutoff_go_with_their_spent_tokens() {
    let db = migrated_db();
    add_user(&db, "u", 0);
    // expires_at, revoked_at for: live, expired long ago, ended long ago, ended just now,
    // expired just now.
    exec(
        &db,
        "INSERT INTO sessions (id, user_id, refresh_hash, created_at, expires_at, revoked_at) VALUES
           ('live', 'u', 'h1', '', 1800000000001, NULL),
           ('old-expired', 'u', 'h2', '', 1000, NULL),
           ('old-ended', 'u', 'h3', '', 1800000000001, 1000),
           ('just-ended', 'u', 'h4', '', 1800000000001, 1800000000000),
           ('just-expired', 'u', 'h5', '', 1800000000000, NULL);
         INSERT INTO spent_refresh_tokens (token_hash, session_id, spent_at) VALUES
           ('s1', 'live', 0), ('s2', 'old-ended', 0), ('s3', 'just-ended', 0),
           ('s4', 'just-expired', 0);",
    );
    assert_eq!(
        clean(&db, SESSIONS_ENDED_BEFORE, NOW - 1.0, 1.0),
        1,
        "at most the limit"
    );
    assert_eq!(clean(&db, SESSIONS_ENDED_BEFORE, NOW - 1.0, 10.0), 1);
    assert_eq!(
        run(&db, "SELECT id FROM sessions ORDER BY id", &[]),
        ["just-ended", "just-expired", "live"]
    );
    // The ended session's spent token went with it (a foreign key action, not counted); a
    // session ended or expired since the cutoff keeps its row, but not its spent tokens.
    assert_eq!(count(&db, "spent_refresh_tokens", "token_hash = 's2'"), 0);
    assert_eq!(
        clean(&db, SPENT_OF_ENDED_SESSIONS, NOW, 1.0),
        1,
        "at most the limit"
    );
    assert_eq!(clean(&db, SPENT_OF_ENDED_SESSIONS, NOW, 10.0), 1);
    assert_eq!(
        run(&db, "SELECT token_hash FROM spent_refresh_tokens", &[]),
        ["s1"]
    );
}

#[test]
fn throttle_rows_requests_and_dead_email_tokens_go_by_their_own_clock() {
    let db = migrated_db();
    add_user(&db, "u", 0);
    exec(
        &db,
        "INSERT INTO login_attempts (email, failures, window_start_ms) VALUES
           ('old1', 1, 10), ('old2', 1, 20), ('new', 1, 1800000000000);
         INSERT INTO email_requests (email, purpose, requests, window_start_ms) VALUES
           ('old', 'password_reset', 1, 10), ('old', 'email_verification', 1, 10),
           ('new', 'password_reset', 1, 1800000000000);
         INSERT INTO email_tokens (token_hash, user_id, purpose, created_at, expires_at, used_at) VALUES
           ('live', 'u', 'password_reset', 0, 1800000000001, NULL),
           ('expired', 'u', 'password_reset', 0, 1800000000000, NULL),
           ('used', 'u', 'password_reset', 0, 1800000000001, 5);",
    );
    assert_eq!(clean(&db, ATTEMPTS_BEFORE, NOW, 1.0), 1);
    assert_eq!(clean(&db, ATTEMPTS_BEFORE, NOW, 10.0), 1);
    assert_eq!(run(&db, "SELECT email FROM login_attempts", &[]), ["new"]);
    assert_eq!(
        clean(&db, EMAIL_REQUESTS_BEFORE, NOW, 1.0),
        1,
        "at most the limit"
    );
    assert_eq!(clean(&db, EMAIL_REQUESTS_BEFORE, NOW, 10.0), 1);
    assert_eq!(count(&db, "email_requests", "email = 'new'"), 1);
    assert_eq!(
        clean(&db, DEAD_EMAIL_TOKENS, NOW, 1.0),
        1,
        "at most the limit"
    );
    assert_eq!(clean(&db, DEAD_EMAIL_TOKENS, NOW, 10.0), 1);
    assert_eq!(
        run(&db, "SELECT token_hash FROM email_tokens", &[]),
        ["live"]
    );
}
