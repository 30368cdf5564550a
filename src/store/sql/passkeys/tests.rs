//! The passkey statements on SQLite with every migration applied.

use rusqlite::types::Value;
use rusqlite::Connection;

use super::*;
use crate::store::sql::testing::{add_user, count, migrated_db, num, run, text, NOW};

const MINUTE: f64 = 60_000.0;

fn handle(db: &Connection, user: &str, candidate: &str) -> Vec<String> {
    run(db, USER_HANDLE, &[text(user), text(candidate)])
}

fn challenge(db: &Connection, c: &str, ceremony: &str, user: Option<&str>, expires_at: f64) {
    let user = user.map_or(Value::Null, text);
    run(
        db,
        INSERT_CHALLENGE,
        &[text(c), text(ceremony), user, num(expires_at)],
    );
}

fn claim(db: &Connection, c: &str, ceremony: &str, user: Option<&str>) -> Vec<String> {
    let user = user.map_or(Value::Null, text);
    run(
        db,
        CLAIM_CHALLENGE,
        &[text(c), text(ceremony), user, num(NOW)],
    )
}

fn register(db: &Connection, id: &str, user: &str, credential: &str) -> Vec<String> {
    run(
        db,
        INSERT_PASSKEY,
        &[
            text(id),
            text(user),
            text(credential),
            text("pQECAyYgASFYIA"),
            num(-7.0),
            num(0.0),
            text(r#"["internal"]"#),
            text("Passkey"),
            text("2026-12-06T00:00:00Z"),
        ],
    )
}

fn record_use(db: &Connection, id: &str, counter: f64) -> Vec<String> {
    run(
        db,
        RECORD_USE,
        &[text(id), num(counter), text("2026-12-07T00:00:00Z")],
    )
}

fn counter_of(db: &Connection, id: &str) -> Vec<String> {
    run(
        db,
        "SELECT sign_count FROM passkeys WHERE id = ?1",
        &[text(id)],
    )
}

#[test]
fn a_users_handle_is_made_once_and_the_same_on_every_call() {
    let db = migrated_db();
    add_user(&db, "u1", 1);
    add_user(&db, "u2", 1);
    assert_eq!(handle(&db, "u1", "first"), ["first"]);
    assert_eq!(handle(&db, "u1", "second"), ["first"]);
    assert_eq!(handle(&db, "u2", "other"), ["other"]);
    assert_eq!(handle(&db, "nobody", "x"), Vec::<String>::new());
    assert_eq!(count(&db, "passkey_user_handles", "1"), 2);
}

#[test]
fn a_challenge_is_claimed_once_and_the_second_claim_gets_no_row() {
    let db = migrated_db();
    add_user(&db, "u1", 1);
    challenge(&db, "reg", "registration", Some("u1"), NOW + 5.0 * MINUTE);
    challenge(&db, "login", "authentication", None, NOW + 5.0 * MINUTE);
    assert_eq!(
        claim(&db, "reg", "registration", Some("u1")),
        ["Integer(1)"]
    );
    assert_eq!(
        claim(&db, "reg", "registration", Some("u1")),
        Vec::<String>::new()
    );
    assert_eq!(claim(&db, "login", "authentication", None), ["Integer(1)"]);
    assert_eq!(
        claim(&db, "login", "authentication", None),
        Vec::<String>::new()
    );
    assert_eq!(
        claim(&db, "never-issued", "authentication", None),
        Vec::<String>::new()
    );
}

#[test]
fn a_challenge_presented_to_another_ceremony_or_user_or_after_expiry_is_spent_unusable() {
    let db = migrated_db();
    add_user(&db, "u1", 1);
    add_user(&db, "u2", 1);
    let later = NOW + 5.0 * MINUTE;
    challenge(&db, "reg-at-login", "registration", Some("u1"), later);
    challenge(&db, "login-at-reg", "authentication", None, later);
    challenge(&db, "reg-of-u1", "registration", Some("u1"), later);
    challenge(&db, "expired", "authentication", None, NOW);
    let cases = [
        ("reg-at-login", "authentication", None),
        ("login-at-reg", "registration", Some("u1")),
        ("reg-of-u1", "registration", Some("u2")),
        ("expired", "authentication", None),
    ];
    for (c, ceremony, user) in cases {
        assert_eq!(claim(&db, c, ceremony, user), ["Integer(0)"], "{c}");
    }
    // Spent all the same: the right ceremony and user come too late.
    assert_eq!(
        claim(&db, "reg-of-u1", "registration", Some("u1")),
        Vec::<String>::new()
    );
    assert_eq!(count(&db, "passkey_challenges", "1"), 0);
}

#[test]
fn a_challenge_is_bound_to_a_user_exactly_when_it_is_a_registrations() {
    let db = migrated_db();
    add_user(&db, "u1", 1);
    let insert = |ceremony: &str, user: Value| {
        db.execute(
            INSERT_CHALLENGE,
            rusqlite::params![format!("{ceremony}-{user:?}"), ceremony, user, NOW],
        )
    };
    assert!(insert("registration", Value::Null).is_err());
    assert!(insert("authentication", text("u1")).is_err());
    assert!(insert("other", Value::Null).is_err());
    assert!(insert("registration", text("nobody")).is_err());
    assert!(insert("registration", text("u1")).is_ok());
    assert!(insert("authentication", Value::Null).is_ok());
}

#[test]
fn expired_challenges_are_deleted_by_the_cleanup_and_live_ones_kept() {
    let db = migrated_db();
    challenge(&db, "old", "authentication", None, NOW - 1.0);
    challenge(&db, "edge", "authentication", None, NOW);
    challenge(&db, "live", "authentication", None, NOW + 1.0);
    run(&db, DELETE_EXPIRED_CHALLENGES, &[num(NOW), num(1.0)]);
    assert_eq!(count(&db, "passkey_challenges", "1"), 2);
    run(&db, DELETE_EXPIRED_CHALLENGES, &[num(NOW), num(1000.0)]);
    assert_eq!(
        run(&db, "SELECT challenge FROM passkey_challenges", &[]),
        ["live"]
    );
}

#[test]
fn a_credential_id_is_registered_once_across_all_users() {
    let db = migrated_db();
    add_user(&db, "u1", 1);
    add_user(&db, "u2", 1);
    assert_eq!(register(&db, "p1", "u1", "cred"), ["p1"]);
    assert_eq!(register(&db, "p2", "u2", "cred"), Vec::<String>::new());
    assert_eq!(register(&db, "p3", "u1", "cred"), Vec::<String>::new());
    assert_eq!(run(&db, CREDENTIAL_EXISTS, &[text("cred")]), ["Integer(1)"]);
    assert_eq!(count(&db, "passkeys", "1"), 1);
    // A user that is gone registers nothing, and the id was free.
    assert_eq!(register(&db, "p4", "nobody", "free"), Vec::<String>::new());
    assert_eq!(
        run(&db, CREDENTIAL_EXISTS, &[text("free")]),
        Vec::<String>::new()
    );
}

#[test]
fn passkeys_go_with_the_account_and_their_ids_may_then_be_registered_again() {
    let db = migrated_db();
    add_user(&db, "u1", 1);
    add_user(&db, "u2", 1);
    handle(&db, "u1", "h1");
    register(&db, "p1", "u1", "cred");
    challenge(&db, "reg", "registration", Some("u1"), NOW + MINUTE);
    db.execute("DELETE FROM users WHERE id = 'u1'", []).unwrap();
    assert_eq!(count(&db, "passkeys", "1"), 0);
    assert_eq!(count(&db, "passkey_user_handles", "1"), 0);
    assert_eq!(count(&db, "passkey_challenges", "1"), 0);
    assert_eq!(register(&db, "p2", "u2", "cred"), ["p2"]);
}

#[test]
fn a_users_passkeys_are_listed_newest_first_and_only_theirs() {
    let db = migrated_db();
    add_user(&db, "u1", 1);
    add_user(&db, "u2", 1);
    // Ids that sort against the order of registration, one creation time for all.
    for (id, cred) in [("p9", "c1"), ("p5", "c2"), ("p7", "c3")] {
        register(&db, id, "u1", cred);
    }
    register(&db, "other", "u2", "c4");
    assert_eq!(run(&db, LIST, &[text("u1")]), ["p7", "p5", "p9"]);
    assert_eq!(run(&db, LIST, &[text("u2")]), ["other"]);
    assert_eq!(run(&db, EXCLUDE, &[text("u1")]), ["c1", "c2", "c3"]);
}

#[test]
fn a_passkey_is_deleted_only_by_its_user() {
    let db = migrated_db();
    add_user(&db, "u1", 1);
    add_user(&db, "u2", 1);
    register(&db, "p1", "u1", "c1");
    assert_eq!(
        run(&db, DELETE, &[text("p1"), text("u2")]),
        Vec::<String>::new()
    );
    assert_eq!(
        run(&db, DELETE, &[text("unknown"), text("u1")]),
        Vec::<String>::new()
    );
    assert_eq!(run(&db, DELETE, &[text("p1"), text("u1")]), ["p1"]);
    assert_eq!(
        run(&db, DELETE, &[text("p1"), text("u1")]),
        Vec::<String>::new()
    );
}

#[test]
fn a_login_finds_the_credential_with_its_users_handle() {
    let db = migrated_db();
    add_user(&db, "u1", 1);
    handle(&db, "u1", "h1");
    register(&db, "p1", "u1", "c1");
    let mut stmt = db.prepare(FOR_LOGIN).unwrap();
    let row: Vec<(String, String, String, i64, i64, String)> = stmt
        .query_map([text("c1")], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        row,
        [(
            "p1".into(),
            "u1".into(),
            "pQECAyYgASFYIA".into(),
            -7,
            0,
            "h1".into()
        )]
    );
    assert_eq!(run(&db, FOR_LOGIN, &[text("c2")]), Vec::<String>::new());
}

#[test]
fn the_stored_counter_only_grows_and_zeros_stay_zeros() {
    let db = migrated_db();
    add_user(&db, "u1", 1);
    register(&db, "p1", "u1", "c1");
    // Two zeros: an authenticator without a counter; the use is recorded.
    assert_eq!(record_use(&db, "p1", 0.0), ["u1"]);
    assert_eq!(
        run(&db, "SELECT last_used_at FROM passkeys", &[]),
        ["2026-12-07T00:00:00Z"]
    );
    assert_eq!(record_use(&db, "p1", 5.0), ["u1"]);
    // A login that checked against 0 and lost the race to the one that stored 5.
    assert_eq!(record_use(&db, "p1", 3.0), Vec::<String>::new());
    assert_eq!(record_use(&db, "p1", 5.0), Vec::<String>::new());
    assert_eq!(record_use(&db, "p1", 0.0), Vec::<String>::new());
    assert_eq!(counter_of(&db, "p1"), ["Integer(5)"]);
    assert_eq!(record_use(&db, "p1", 4_294_967_295.0), ["u1"]);
    assert_eq!(counter_of(&db, "p1"), ["Integer(4294967295)"]);
    assert_eq!(record_use(&db, "unknown", 9.0), Vec::<String>::new());
}
