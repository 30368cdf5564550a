//! The email statements on SQLite with every migration applied.

use rusqlite::Connection;

use super::*;
use crate::store::sql::testing::{
    add_session, add_token, add_user, batch, count, migrated_db, num, run, text, NOW,
};

const HOUR: f64 = 3_600_000.0;
const RESET: &str = "password_reset";
const VERIFY: &str = "email_verification";

#[test]
fn requests_are_counted_per_address_and_purpose_in_their_window() {
    let db = migrated_db();
    // The count the statement returns, checked against the row it wrote.
    let record = |email: &str, purpose: &str, at: f64| {
        let returned = run(
            &db,
            RECORD_REQUEST,
            &[text(email), text(purpose), num(at), num(HOUR)],
        );
        let stored = db
            .query_row(
                "SELECT requests FROM email_requests WHERE email = ?1 AND purpose = ?2",
                [email, purpose],
                |r| r.get::<_, i64>(0),
            )
            .unwrap();
        assert_eq!(returned, [format!("Integer({stored})")]);
        stored
    };
    assert_eq!(record("a@x.io", RESET, NOW), 1);
    assert_eq!(record("a@x.io", RESET, NOW + HOUR - 1.0), 2);
    assert_eq!(record("a@x.io", VERIFY, NOW), 1);
    assert_eq!(record("b@x.io", RESET, NOW), 1);
    assert_eq!(record("a@x.io", RESET, NOW + HOUR), 1, "a new window");
}

/// Issuing token `hash` for `email` under a cap of `cap` per window, as queue message `message`:
/// the users the batch counted and stored a token for (its middle statement returns nothing).
fn issue(
    db: &mut Connection,
    email: &str,
    hash: &str,
    message: &str,
    cap: f64,
    at: f64,
) -> (Vec<String>, Vec<String>) {
    let mut results = batch(
        db,
        &[
            (
                COUNT_SEND,
                vec![text(email), text(RESET), num(at), num(HOUR), text(message)],
            ),
            (VOID_OLDER, vec![text(email), text(RESET), num(cap)]),
            (
                INSERT_TOKEN,
                vec![
                    text(email),
                    text(RESET),
                    text(hash),
                    num(at),
                    num(at + HOUR),
                    num(cap),
                ],
            ),
        ],
    );
    let stored = results.pop().unwrap();
    (results.swap_remove(0), stored)
}

/// The unused reset tokens.
fn tokens(db: &Connection) -> Vec<String> {
    run(
        db,
        "SELECT token_hash FROM email_tokens \
         WHERE purpose = 'password_reset' AND used_at IS NULL ORDER BY token_hash",
        &[],
    )
}

fn sent(db: &Connection) -> i64 {
    db.query_row("SELECT sent FROM email_sends", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_new_token_voids_the_older_one_until_the_cap_and_a_retry_is_not_counted_twice() {
    let mut db = migrated_db();
    add_user(&db, "u1", 0);
    let email = "u1@example.com";
    let issued = |user: &str| (vec![user.to_owned()], vec![user.to_owned()]);
    // Tokens a new reset token must not void: another purpose's, and a used one.
    add_token(&db, "verify", "u1", VERIFY, NOW + HOUR, None);
    add_token(&db, "used", "u1", RESET, NOW + HOUR, Some(NOW - 1.0));

    // No account: nothing counted, nothing stored.
    assert_eq!(
        issue(&mut db, "nobody@example.com", "t0", "m0", 2.0, NOW),
        (vec![], vec![])
    );
    assert_eq!(count(&db, "email_sends", "1"), 0);

    assert_eq!(issue(&mut db, email, "t1", "m1", 2.0, NOW), issued("u1"));
    assert_eq!(
        issue(&mut db, email, "t2", "m2", 2.0, NOW + 1.0),
        issued("u1")
    );
    assert_eq!((tokens(&db), sent(&db)), (vec!["t2".to_owned()], 2));

    // The same queue message again (a retry): a fresh token, not counted again.
    assert_eq!(
        issue(&mut db, email, "t3", "m2", 2.0, NOW + 2.0),
        issued("u1")
    );
    assert_eq!((tokens(&db), sent(&db)), (vec!["t3".to_owned()], 2));

    // Past the cap: counted, but the last token stays the valid one and none is stored.
    assert_eq!(
        issue(&mut db, email, "t4", "m4", 2.0, NOW + 3.0),
        (vec!["u1".to_owned()], vec![])
    );
    assert_eq!((tokens(&db), sent(&db)), (vec!["t3".to_owned()], 3));

    // A new window.
    assert_eq!(
        issue(&mut db, email, "t5", "m5", 2.0, NOW + HOUR),
        issued("u1")
    );
    assert_eq!((tokens(&db), sent(&db)), (vec!["t5".to_owned()], 1));
    assert_eq!(
        count(&db, "email_tokens", "token_hash IN ('verify', 'used')"),
        2
    );
}

/// Claims reset token `hash` for `user`, whose password the lookup read at `version`: whether
/// the claim spent it.
fn claim(db: &Connection, hash: &str, user: &str, version: f64, at: f64) -> bool {
    let params = [text(hash), text(user), text(RESET), num(version), num(at)];
    let claimed = run(db, CLAIM_RESET_TOKEN, &params);
    assert!(claimed.is_empty() || claimed == [user], "{claimed:?}");
    !claimed.is_empty()
}

#[test]
fn a_reset_token_is_claimed_once_and_only_for_its_user_purpose_time_and_password() {
    let db = migrated_db();
    add_user(&db, "u1", 4);
    add_user(&db, "u2", 0);
    add_token(&db, "live", "u1", RESET, NOW + 10.0, None);
    add_token(&db, "expired", "u1", RESET, NOW, None);
    add_token(&db, "other-purpose", "u1", VERIFY, NOW + 10.0, None);

    // Expired at this instant, made for another purpose, named for another user, or the
    // password set since the lookup read it: nothing spent.
    assert!(!claim(&db, "expired", "u1", 4.0, NOW));
    assert!(!claim(&db, "other-purpose", "u1", 4.0, NOW));
    assert!(!claim(&db, "live", "u2", 0.0, NOW));
    assert!(!claim(&db, "live", "u1", 3.0, NOW));
    assert_eq!(count(&db, "email_tokens", "used_at IS NULL"), 3);

    // The live token, once.
    assert!(claim(&db, "live", "u1", 4.0, NOW + 9.0));
    assert!(!claim(&db, "live", "u1", 4.0, NOW + 9.0));
    assert_eq!(
        count(
            &db,
            "email_tokens",
            &format!("token_hash = 'live' AND used_at = {NOW} + 9")
        ),
        1
    );
}

/// The batch of a claimed reset of `user`, whose claim saw the password at `version`, keeping
/// session `keep`: the ended sessions, and whether the password was written.
fn finish(
    db: &mut Connection,
    user: &str,
    version: f64,
    keep: &str,
    at: f64,
) -> (Vec<String>, bool) {
    let (u, v) = (text(user), num(version));
    let results = batch(
        db,
        &[
            (
                RESET_REVOKE,
                vec![
                    u.clone(),
                    v.clone(),
                    num(at),
                    text("password_reset"),
                    text(keep),
                ],
            ),
            (
                RESET_CLEAR_ATTEMPTS,
                vec![u.clone(), v.clone(), text(&format!("{user}@example.com"))],
            ),
            (VOID_RESET_TOKENS, vec![u.clone(), v.clone()]),
            (RESET_PASSWORD, vec![u, v, text("new"), text("later")]),
        ],
    );
    let mut ended = results[0].clone();
    ended.sort();
    (ended, results[3] == [user])
}

fn user_state(db: &Connection, id: &str) -> (String, i64, i64) {
    db.query_row(
        "SELECT password_hash, password_version, email_verified FROM users WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .unwrap()
}

#[test]
fn a_claimed_reset_is_written_whole_and_only_at_the_password_its_claim_saw() {
    let mut db = migrated_db();
    add_user(&db, "u1", 4);
    add_user(&db, "u2", 0);
    for sid in ["a", "b", "keep"] {
        add_session(&db, "u1", sid, NOW + HOUR, None);
    }
    add_session(&db, "u2", "theirs", NOW + HOUR, None);
    db.execute(
        "INSERT INTO login_attempts (email, failures, window_start_ms) VALUES ('u1@example.com', 4, 0)",
        [],
    )
    .unwrap();
    // The claimed token, another pending link of the account (mailed while this one was
    // used), and tokens the reset must leave alone.
    add_token(&db, "claimed", "u1", RESET, NOW + 10.0, Some(NOW));
    add_token(&db, "pending", "u1", RESET, NOW + 10.0, None);
    add_token(&db, "verify", "u1", VERIFY, NOW + 10.0, None);
    add_token(&db, "theirs", "u2", RESET, NOW + 10.0, None);
    let untouched = ("hash".to_owned(), 4, 0);

    // The password was set since the claim (a change, another reset): nothing at all.
    assert_eq!(finish(&mut db, "u1", 3.0, "", NOW), (vec![], false));
    assert_eq!(user_state(&db, "u1"), untouched);
    assert_eq!(count(&db, "sessions", "revoked_at IS NULL"), 4);
    assert_eq!(count(&db, "login_attempts", "1"), 1);
    assert_eq!(count(&db, "email_tokens", "1"), 4);

    // At the claim's version: the whole batch.
    assert_eq!(
        finish(&mut db, "u1", 4.0, "keep", NOW),
        (vec!["a".to_owned(), "b".to_owned()], true)
    );
    assert_eq!(user_state(&db, "u1"), ("new".to_owned(), 5, 1));
    assert_eq!(count(&db, "login_attempts", "1"), 0);
    assert_eq!(count(&db, "sessions", "revoked_at IS NULL"), 2);
    assert_eq!(
        run(
            &db,
            "SELECT token_hash FROM email_tokens ORDER BY token_hash",
            &[]
        ),
        ["claimed", "theirs", "verify"]
    );

    // Twice: nothing, even for a session opened since.
    add_session(&db, "u1", "since", NOW + HOUR, None);
    assert_eq!(finish(&mut db, "u1", 4.0, "", NOW), (vec![], false));
    assert_eq!(user_state(&db, "u1"), ("new".to_owned(), 5, 1));
    assert_eq!(count(&db, "sessions", "revoked_at IS NULL"), 3);
}

/// A verification's batch with token `hash`: the spent token's user, and the user read back.
fn verify(db: &mut Connection, hash: &str, at: f64) -> (Vec<String>, Vec<String>) {
    let params = vec![text(hash), text(VERIFY), num(at)];
    let results = batch(
        db,
        &[
            (MARK_VERIFIED, params.clone()),
            (SPEND_VERIFICATION_TOKEN, params),
            (VERIFIED_USER, vec![text(hash)]),
        ],
    );
    (results[1].clone(), results[2].clone())
}

#[test]
fn a_verification_token_verifies_once() {
    let mut db = migrated_db();
    add_user(&db, "u1", 0);
    add_token(&db, "v", "u1", VERIFY, NOW + 10.0, None);
    add_token(&db, "r", "u1", RESET, NOW + 10.0, None);
    assert_eq!(
        verify(&mut db, "r", NOW),
        (vec![], vec!["u1".to_owned()]),
        "a reset token verifies nothing"
    );
    assert_eq!(
        verify(&mut db, "v", NOW + 10.0),
        (vec![], vec!["u1".to_owned()]),
        "expired"
    );
    assert_eq!(user_state(&db, "u1").2, 0);
    assert_eq!(
        verify(&mut db, "v", NOW),
        (vec!["u1".to_owned()], vec!["u1".to_owned()])
    );
    assert_eq!(user_state(&db, "u1").2, 1);
    assert_eq!(verify(&mut db, "v", NOW).0, Vec::<String>::new(), "spent");
}

#[test]
fn a_tokens_user_is_found_only_while_it_is_unused_unexpired_and_of_its_purpose() {
    let db = migrated_db();
    add_user(&db, "u1", 0);
    add_token(&db, "t", "u1", RESET, NOW + 10.0, None);
    let user =
        |purpose: &str, at: f64| run(&db, LIVE_TOKEN_USER, &[text("t"), text(purpose), num(at)]);
    assert_eq!(user(RESET, NOW), ["u1"]);
    assert!(user(VERIFY, NOW).is_empty());
    assert!(user(RESET, NOW + 10.0).is_empty());
    db.execute("UPDATE email_tokens SET used_at = 1", [])
        .unwrap();
    assert!(user(RESET, NOW).is_empty());
}
