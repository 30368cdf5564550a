//! The admin statements on SQLite with every migration applied.

use std::collections::BTreeSet;

use rusqlite::types::Value;
use rusqlite::Connection;

use super::*;
use crate::store::sql::sessions::{INSERT as OPEN_SESSION, RECORD_SPEND, SWAP_REFRESH};
use crate::store::sql::testing::{
    add_session, add_user, batch, count, migrated_db, num, run, text, NOW,
};

fn add_user_at(db: &Connection, id: &str, email: &str, created_at: &str) {
    db.execute(
        "INSERT INTO users (id, email, password_hash, created_at, updated_at) \
         VALUES (?1, ?2, 'hash', ?3, ?3)",
        rusqlite::params![id, email, created_at],
    )
    .unwrap();
}

/// One page: the `(created_at, id)` of each row.
fn page(
    db: &Connection,
    prefix: &str,
    after: &(String, String),
    limit: f64,
) -> Vec<(String, String)> {
    let mut stmt = db.prepare(PAGE).unwrap();
    let rows = stmt
        .query_map(
            rusqlite::params_from_iter([text(prefix), text(&after.0), text(&after.1), num(limit)]),
            |r| Ok((r.get::<_, String>("created_at")?, r.get::<_, String>("id")?)),
        )
        .unwrap();
    rows.map(Result::unwrap).collect()
}

#[test]
fn keyset_paging_never_skips_or_repeats_a_user_under_inserts_between_pages() {
    let db = migrated_db();
    // Ties on created_at on purpose: the id orders them.
    let mut at_start = BTreeSet::new();
    for i in 0..12 {
        let id = format!("u{:02}", (i * 7) % 12);
        add_user_at(
            &db,
            &id,
            &format!("{id}@example.com"),
            &format!("2026-01-0{}T00:00:00.000Z", 1 + i % 3),
        );
        at_start.insert(id);
    }
    let mut seen = Vec::new();
    let mut after = (String::new(), String::new());
    let mut round = 0;
    loop {
        let rows = page(&db, "", &after, 4.0);
        if rows.is_empty() {
            break;
        }
        seen.extend(rows.iter().map(|(_, id)| id.clone()));
        after = rows.last().unwrap().clone();
        // Between pages: a user before the position (a tie with a smaller id), one tied with a
        // greater id, and one registered now.
        round += 1;
        add_user_at(
            &db,
            &format!("a{round}"),
            &format!("a{round}@example.com"),
            &after.0,
        );
        add_user_at(
            &db,
            &format!("z{round}"),
            &format!("z{round}@example.com"),
            &after.0,
        );
        add_user_at(
            &db,
            &format!("n{round}"),
            &format!("n{round}@example.com"),
            "2026-12-31T00:00:00.000Z",
        );
        assert!(round < 20, "paging does not end");
    }
    let unique: BTreeSet<_> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "a user was repeated: {seen:?}");
    assert!(at_start.is_subset(&unique), "a user was skipped: {seen:?}");
    // What sorts after the position when inserted is seen too.
    assert!(unique.contains("z1") && unique.contains("n1"), "{seen:?}");
}

#[test]
fn the_email_filter_is_a_literal_prefix() {
    let db = migrated_db();
    for (id, email) in [
        ("1", "a_b@example.com"),
        ("2", "axb@example.com"),
        ("3", "a%c@example.com"),
        ("4", "ba@example.com"),
    ] {
        add_user_at(&db, id, email, "2026-01-01T00:00:00.000Z");
    }
    let ids = |prefix: &str| -> Vec<String> {
        page(&db, prefix, &(String::new(), String::new()), 10.0)
            .into_iter()
            .map(|(_, id)| id)
            .collect()
    };
    assert_eq!(ids("a_"), ["1"]);
    assert_eq!(ids("a%"), ["3"]);
    assert_eq!(ids("a"), ["1", "2", "3"]);
    assert_eq!(ids(""), ["1", "2", "3", "4"]);
}

fn flags(db: &mut Connection, id: &str, disabled: Value, verified: Value) -> Vec<Vec<String>> {
    batch(
        db,
        &[
            (
                UPDATE_FLAGS,
                vec![
                    text(id),
                    disabled,
                    verified,
                    text("2026-12-01T00:00:00.000Z"),
                ],
            ),
            (REVOKE_IF_DISABLED, vec![text(id), num(NOW)]),
            (KILL_MFA_TOKENS_IF_DISABLED, vec![text(id)]),
            (VIEW, vec![text(id)]),
        ],
    )
}

fn add_mfa_token(db: &Connection, user: &str) {
    db.execute(
        "INSERT INTO mfa_tokens (token_hash, user_id, password_version, created_at, expires_at) \
         VALUES ('t-' || ?1, ?1, 0, 0, ?2)",
        rusqlite::params![user, NOW + 60_000.0],
    )
    .unwrap();
}

#[test]
fn disabling_revokes_every_session_and_kills_pending_second_factor_logins_in_its_batch() {
    let mut db = migrated_db();
    add_user(&db, "u1", 0);
    add_user(&db, "u2", 0);
    add_session(&db, "u1", "s1", NOW + 1e6, None);
    add_session(&db, "u1", "s2", NOW + 1e6, Some(NOW - 5.0));
    add_session(&db, "u2", "s3", NOW + 1e6, None);
    add_mfa_token(&db, "u1");
    add_mfa_token(&db, "u2");

    // Setting only the address flag revokes nothing.
    let out = flags(&mut db, "u1", Value::Null, num(1.0));
    assert_eq!(out[0], ["u1"]);
    assert!(out[1].is_empty());
    assert_eq!(count(&db, "mfa_tokens", "user_id = 'u1'"), 1);
    assert_eq!(
        count(
            &db,
            "users",
            "id = 'u1' AND email_verified = 1 AND disabled = 0"
        ),
        1
    );

    let out = flags(&mut db, "u1", num(1.0), Value::Null);
    assert_eq!(out[1], ["s1"]);
    assert_eq!(count(&db, "sessions", "revoked_at IS NULL"), 1);
    assert_eq!(
        count(&db, "sessions", "revoked_reason = 'account_disabled'"),
        1
    );
    assert_eq!(count(&db, "mfa_tokens", "1"), 1);
    assert_eq!(
        count(
            &db,
            "users",
            "id = 'u1' AND disabled = 1 AND email_verified = 1"
        ),
        1
    );

    // Enabling keeps the old sessions dead; an unknown user writes nothing.
    let out = flags(&mut db, "u1", num(0.0), Value::Null);
    assert!(out[1].is_empty());
    assert_eq!(count(&db, "users", "id = 'u1' AND disabled = 0"), 1);
    assert_eq!(
        count(&db, "sessions", "id = 's1' AND revoked_at IS NOT NULL"),
        1
    );
    let out = flags(&mut db, "nobody", num(1.0), Value::Null);
    assert!(out[0].is_empty() && out[3].is_empty());
}

#[test]
fn a_disabled_account_opens_no_session_and_rotates_no_refresh_token() {
    let db = migrated_db();
    add_user(&db, "u1", 0);
    add_session(&db, "u1", "s1", NOW + 1e6, None);
    db.execute("UPDATE users SET disabled = 1 WHERE id = 'u1'", [])
        .unwrap();
    let opened = run(
        &db,
        OPEN_SESSION,
        &[
            text("s2"),
            text("u1"),
            text("h2"),
            text("2026-12-01T00:00:00Z"),
            num(NOW + 1e6),
            Value::Null,
            num(0.0),
            text(r#"["pwd"]"#),
        ],
    );
    assert!(opened.is_empty());
    run(&db, RECORD_SPEND, &[text("refresh-s1"), num(NOW)]);
    run(
        &db,
        SWAP_REFRESH,
        &[text("refresh-s1"), text("new"), num(NOW)],
    );
    assert_eq!(count(&db, "spent_refresh_tokens", "1"), 0);
    assert_eq!(count(&db, "sessions", "refresh_hash = 'refresh-s1'"), 1);
    // Enabled again, the same statements work.
    db.execute("UPDATE users SET disabled = 0 WHERE id = 'u1'", [])
        .unwrap();
    run(&db, RECORD_SPEND, &[text("refresh-s1"), num(NOW)]);
    run(
        &db,
        SWAP_REFRESH,
        &[text("refresh-s1"), text("new"), num(NOW)],
    );
    assert_eq!(count(&db, "sessions", "refresh_hash = 'new'"), 1);
}

#[test]
fn removing_two_step_verification_says_whether_it_was_on_and_removes_every_part() {
    let mut db = migrated_db();
    add_user(&db, "u1", 0);
    add_user(&db, "u2", 0);
    db.execute_batch(
        "INSERT INTO mfa_totp (user_id, sealed_secret, enabled_at, recovery_batch, updated_at) \
             VALUES ('u1', 'v1.k.x', 1, 'b1', 1), ('u2', 'v1.k.y', NULL, NULL, 1); \
         INSERT INTO mfa_recovery_codes (code_hash, user_id, batch) VALUES ('h1', 'u1', 'b1');",
    )
    .unwrap();
    add_mfa_token(&db, "u1");
    let remove = |db: &mut Connection, id: &str| {
        let mut statements = vec![(MFA_ON, vec![text(id)])];
        statements.extend(REMOVE_MFA.iter().map(|s| (*s, vec![text(id)])));
        batch(db, &statements)
    };
    assert_eq!(remove(&mut db, "u1")[0], ["u1"]);
    // A pending setup is not "on", and goes too.
    assert!(remove(&mut db, "u2")[0].is_empty());
    assert_eq!(count(&db, "mfa_totp", "1"), 0);
    assert_eq!(count(&db, "mfa_recovery_codes", "1"), 0);
    assert_eq!(count(&db, "mfa_tokens", "1"), 0);
    assert!(remove(&mut db, "u1")[0].is_empty());
}

#[test]
fn the_view_counts_passkeys_and_reads_the_second_factor() {
    let db = migrated_db();
    add_user(&db, "u1", 0);
    db.execute_batch(
        "INSERT INTO passkeys (id, user_id, credential_id, public_key, algorithm, sign_count, \
             transports, name, created_at) VALUES \
             ('p1', 'u1', 'c1', 'k', -8, 0, '[]', 'a', 'x'), \
             ('p2', 'u1', 'c2', 'k', -7, 0, '[]', 'b', 'x'); \
         INSERT INTO mfa_totp (user_id, sealed_secret, enabled_at, recovery_batch, updated_at) \
             VALUES ('u1', 'v1.k.x', 1, 'b1', 1);",
    )
    .unwrap();
    let (passkeys, mfa, disabled, last): (i64, i64, i64, Option<String>) = db
        .query_row(VIEW, ["u1"], |r| {
            Ok((
                r.get("passkeys")?,
                r.get("mfa_enabled")?,
                r.get("disabled")?,
                r.get("last_login_at")?,
            ))
        })
        .unwrap();
    assert_eq!((passkeys, mfa, disabled, last), (2, 1, 0, None));
}
