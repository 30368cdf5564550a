//! The user statements on SQLite with every migration applied.

use rusqlite::types::Value;
use rusqlite::Connection;

use super::*;
use crate::store::sql::email::VOID_RESET_TOKENS;
use crate::store::sql::testing::{
    add_session, add_token, add_user, batch, columns, count, migrated_db, num, run, text, NOW,
    USER_COLUMNS,
};

const WINDOW: f64 = 900_000.0;

fn hash_of(db: &Connection, id: &str) -> (String, i64) {
    db.query_row(
        "SELECT password_hash, password_version FROM users WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap()
}

#[test]
fn of_two_registrations_of_one_email_exactly_one_is_inserted() {
    let db = migrated_db();
    let register = |id: &str| {
        run(
            &db,
            INSERT,
            &[
                text(id),
                text("same@example.com"),
                text("hash"),
                text("2026-11-27T00:00:00Z"),
                num(0.0),
            ],
        )
    };
    assert_eq!(register("a"), ["a"]);
    assert!(register("b").is_empty());
    assert_eq!(count(&db, "users", "1"), 1);
}

#[test]
fn a_rehash_is_stored_only_while_the_checked_version_holds() {
    let db = migrated_db();
    add_user(&db, "u1", 3);
    let rehash = |version: f64| {
        run(
            &db,
            REHASH,
            &[text("new"), text("later"), text("u1"), num(version)],
        )
    };
    assert!(rehash(2.0).is_empty());
    assert_eq!(hash_of(&db, "u1"), ("hash".to_owned(), 3));
    assert_eq!(rehash(3.0), ["u1"]);
    assert_eq!(
        hash_of(&db, "u1"),
        ("new".to_owned(), 3),
        "a rehash keeps the version"
    );
}

#[test]
fn each_attempt_is_counted_in_its_window_and_a_late_one_starts_a_new_window() {
    let db = migrated_db();
    let reserve = |email: &str, at: f64| {
        let mut stmt = db.prepare(RESERVE_ATTEMPT).unwrap();
        stmt.query_row(
            rusqlite::params_from_iter([text(email), num(at), num(WINDOW)]),
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
        )
        .unwrap()
    };
    let start = NOW as i64;
    assert_eq!(reserve("a@x.io", NOW), (1, start));
    assert_eq!(reserve("a@x.io", NOW + 1.0), (2, start));
    assert_eq!(reserve("b@x.io", NOW + 2.0), (1, start + 2));
    assert_eq!(reserve("a@x.io", NOW + WINDOW - 1.0), (3, start));
    // At the window's end: a new window, counted from this attempt.
    assert_eq!(reserve("a@x.io", NOW + WINDOW), (1, start + WINDOW as i64));

    run(&db, CLEAR_ATTEMPTS, &[text("a@x.io")]);
    assert_eq!(count(&db, "login_attempts", "1"), 1);
    assert_eq!(reserve("a@x.io", NOW + WINDOW + 1.0).0, 1);
}

/// A password change's batch at `version`, as the store sends it: the ended sessions, and
/// whether the hash was written.
fn change(db: &mut Connection, keep: &str, version: f64, phc: &str) -> (Vec<String>, bool) {
    let results = batch(
        db,
        &[
            (
                REVOKE_FOR_CHANGE,
                vec![
                    text("u1"),
                    text(keep),
                    num(NOW),
                    text("password_changed"),
                    num(version),
                ],
            ),
            (VOID_RESET_TOKENS, vec![text("u1"), num(version)]),
            (
                CHANGE_PASSWORD,
                vec![text(phc), text("later"), text("u1"), num(version)],
            ),
        ],
    );
    (results[0].clone(), results[2] == ["u1"])
}

#[test]
fn a_password_change_voids_the_accounts_pending_reset_links_in_its_batch() {
    let mut db = migrated_db();
    add_user(&db, "u1", 3);
    add_user(&db, "u2", 0);
    add_token(&db, "pending", "u1", "password_reset", NOW + WINDOW, None);
    add_token(
        &db,
        "spent",
        "u1",
        "password_reset",
        NOW + WINDOW,
        Some(NOW),
    );
    add_token(
        &db,
        "verify",
        "u1",
        "email_verification",
        NOW + WINDOW,
        None,
    );
    add_token(&db, "theirs", "u2", "password_reset", NOW + WINDOW, None);
    let tokens = |db: &Connection| {
        run(
            db,
            "SELECT token_hash FROM email_tokens ORDER BY token_hash",
            &[],
        )
    };
    let all = ["pending", "spent", "theirs", "verify"];

    // A change that lost to another one (its version is stale) voids nothing.
    assert_eq!(change(&mut db, "", 2.0, "late"), (vec![], false));
    assert_eq!(tokens(&db), all);

    // The change that happens voids the pending reset link of its account, and only that.
    assert_eq!(change(&mut db, "", 3.0, "new"), (vec![], true));
    assert_eq!(tokens(&db), ["spent", "theirs", "verify"]);
}

#[test]
fn of_two_password_changes_from_one_version_exactly_one_happens() {
    let mut db = migrated_db();
    add_user(&db, "u1", 0);
    add_user(&db, "u2", 0);
    for sid in ["mine", "other1", "other2"] {
        add_session(&db, "u1", sid, NOW + WINDOW, None);
    }
    add_session(&db, "u2", "theirs", NOW + WINDOW, None);

    let (mut ended, written) = change(&mut db, "mine", 0.0, "first");
    ended.sort();
    assert_eq!(
        (ended, written),
        (vec!["other1".to_owned(), "other2".to_owned()], true)
    );
    assert_eq!(hash_of(&db, "u1"), ("first".to_owned(), 1));

    // The second change checked the same version: it ends nothing and writes nothing, even a
    // session opened since.
    add_session(&db, "u1", "since", NOW + WINDOW, None);
    assert_eq!(change(&mut db, "", 0.0, "second"), (vec![], false));
    assert_eq!(hash_of(&db, "u1"), ("first".to_owned(), 1));
    assert_eq!(count(&db, "sessions", "revoked_at IS NULL"), 3);
    assert_eq!(
        count(&db, "sessions", "id = 'theirs' AND revoked_at IS NULL"),
        1
    );
}

/// Everything an account leaves in the database, with `u` as its id and `{u}@example.com`.
fn account_with_traces(db: &Connection, u: &str) {
    add_user(db, u, 1);
    add_session(db, u, &format!("{u}-s1"), NOW + WINDOW, None);
    add_session(db, u, &format!("{u}-s2"), NOW + WINDOW, None);
    add_token(db, &format!("tok-{u}"), u, "password_reset", 1.0, None);
    let email = format!("{u}@example.com");
    for sql in [
        "INSERT INTO spent_refresh_tokens (token_hash, session_id, spent_at) \
         VALUES ('spent-' || ?1, ?1 || '-s1', 0)",
        "INSERT INTO email_sends (user_id, purpose, sent, window_start_ms) \
         VALUES (?1, 'password_reset', 1, 0)",
    ] {
        db.execute(sql, [u]).unwrap();
    }
    for sql in [
        "INSERT INTO login_attempts (email, failures, window_start_ms) VALUES (?1, 2, 0)",
        "INSERT INTO email_requests (email, purpose, requests, window_start_ms) \
         VALUES (?1, 'password_reset', 1, 0)",
    ] {
        db.execute(sql, [&email]).unwrap();
    }
}

/// Rows in each table that hold anything of `u`.
fn traces(db: &Connection, u: &str) -> Vec<i64> {
    let email = format!("'{u}@example.com'");
    let id = format!("'{u}'");
    vec![
        count(db, "users", &format!("id = {id}")),
        count(db, "sessions", &format!("user_id = {id}")),
        count(
            db,
            "spent_refresh_tokens",
            &format!("session_id LIKE '{u}-%'"),
        ),
        count(db, "email_tokens", &format!("user_id = {id}")),
        count(db, "email_sends", &format!("user_id = {id}")),
        count(db, "login_attempts", &format!("email = {email}")),
        count(db, "email_requests", &format!("email = {email}")),
        count(db, "deleted_users", &format!("id = {id}")),
    ]
}

/// An account deletion's batch at `version`: its sessions' ids, and whether the user was deleted.
fn delete(db: &mut Connection, u: &str, version: f64) -> (Vec<String>, bool) {
    let statements: Vec<(&str, Vec<Value>)> = DELETE_ACCOUNT
        .iter()
        .map(|&(sql, binds_email)| {
            let mut params = vec![text(u), num(version)];
            if binds_email {
                params.push(text(&format!("{u}@example.com")));
            }
            (sql, params)
        })
        .collect();
    let results = batch(db, &statements);
    let mut sessions = results[1].clone();
    sessions.sort();
    (sessions, results[6] == [u])
}

#[test]
fn a_deletion_removes_every_trace_of_the_account_and_remembers_its_id() {
    let mut db = migrated_db();
    account_with_traces(&db, "u1");
    account_with_traces(&db, "u2");
    assert_eq!(traces(&db, "u1"), [1, 2, 1, 1, 1, 1, 1, 0]);

    // A reset committed first (the version moved on): the batch changes nothing at all.
    assert_eq!(delete(&mut db, "u1", 0.0), (vec![], false));
    assert_eq!(traces(&db, "u1"), [1, 2, 1, 1, 1, 1, 1, 0]);

    assert_eq!(
        delete(&mut db, "u1", 1.0),
        (vec!["u1-s1".to_owned(), "u1-s2".to_owned()], true)
    );
    assert_eq!(traces(&db, "u1"), [0, 0, 0, 0, 0, 0, 0, 1]);
    assert_eq!(
        traces(&db, "u2"),
        [1, 2, 1, 1, 1, 1, 1, 0],
        "another account is untouched"
    );

    // Again: nothing left to delete, and the tombstone stays one row.
    assert_eq!(delete(&mut db, "u1", 1.0), (vec![], false));
    assert_eq!(traces(&db, "u1"), [0, 0, 0, 0, 0, 0, 0, 1]);
}

#[test]
fn the_ping_needs_the_schema() {
    assert!(Connection::open_in_memory().unwrap().prepare(PING).is_err());
    let db = migrated_db();
    add_user(&db, "u1", 0);
    add_user(&db, "u2", 0);
    assert_eq!(run(&db, PING, &[]), ["Integer(1)"]);
}

#[test]
fn rows_have_the_columns_the_store_reads() {
    let db = migrated_db();
    assert_eq!(columns(&db, BY_EMAIL), USER_COLUMNS);
    assert_eq!(
        columns(&db, RESERVE_ATTEMPT),
        ["failures", "window_start_ms"]
    );
    for sql in [
        INSERT,
        REHASH,
        REVOKE_FOR_CHANGE,
        CHANGE_PASSWORD,
        DELETE_ACCOUNT[1].0,
    ] {
        assert_eq!(columns(&db, sql), ["id"], "{sql}");
    }
}
