//! The session statements on SQLite with every migration applied.

use rusqlite::types::Value;
use rusqlite::Connection;

use super::*;
use crate::store::sql::testing::{
    add_session, add_user, batch, columns, migrated_db, num, run, text, NOW, USER_COLUMNS,
};

const DAY: f64 = 86_400_000.0;

/// The login's batch, as `create_session` sends it: whether the session opened, and the ids the
/// limit ended.
fn login(
    db: &mut Connection,
    user: &str,
    sid: &str,
    password_version: i64,
    keep: u32,
) -> (bool, Vec<String>) {
    login_as(db, user, sid, password_version, keep, r#"["pwd"]"#)
}

/// [`login`] of a session opened as `amr` says.
fn login_as(
    db: &mut Connection,
    user: &str,
    sid: &str,
    password_version: i64,
    keep: u32,
    amr: &str,
) -> (bool, Vec<String>) {
    let insert = vec![
        text(sid),
        text(user),
        text(&format!("refresh-{sid}")),
        text("2026-11-27T00:00:00Z"),
        num(NOW + 30.0 * DAY),
        Value::Null,
        num(password_version as f64),
        text(amr),
    ];
    let limit = vec![text(user), num(NOW), num(f64::from(keep)), text(sid)];
    let drop_ended = vec![text(user), num(NOW), num(f64::from(keep))];
    let mut results = batch(
        db,
        &[
            (INSERT, insert),
            (REVOKE_BEYOND_LIMIT, limit),
            (DROP_ENDED_BEYOND_LIMIT, drop_ended),
        ],
    );
    results.pop();
    let ended = results.pop().unwrap();
    (results.pop().unwrap() == [sid], ended)
}

fn active(db: &Connection, user: &str) -> Vec<String> {
    run(db, LIST, &[text(user), num(NOW)])
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

#[test]
fn a_login_past_the_limit_ends_exactly_the_oldest_active_sessions_in_order_of_login() {
    let mut db = migrated_db();
    add_user(&db, "u1", 1);
    add_user(&db, "u2", 1);
    // An expired and a logged-out session, older than all: neither counts, neither changes.
    add_session(&db, "u1", "expired", NOW - 1.0, None);
    add_session(&db, "u1", "ended", NOW + DAY, Some(NOW - DAY));
    // Ids that sort against the order of login, and one creation time for all: only the
    // order of insertion tells the oldest.
    for sid in ["s9", "s8", "s7", "s6"] {
        assert_eq!(login(&mut db, "u1", sid, 1, 10), (true, vec![]));
    }
    login(&mut db, "u2", "other", 1, 10);

    let (opened, ended) = login(&mut db, "u1", "s5", 1, 3);
    assert!(opened);
    assert_eq!(sorted(ended), ["s8", "s9"]);
    assert_eq!(sorted(active(&db, "u1")), ["s5", "s6", "s7"]);
    assert_eq!(active(&db, "u2"), ["other"]);
    // Neither the logged-out nor the expired session was ended by the limit. Of the four
    // ended ones the user keeps the newest three: the expired row, the oldest, is gone.
    let reasons = run(
        &db,
        "SELECT id || ':' || coalesce(revoked_reason, '-') FROM sessions ORDER BY id",
        &[],
    );
    assert_eq!(
        reasons,
        [
            "ended:-",
            "other:-",
            "s5:-",
            "s6:-",
            "s7:-",
            "s8:session_limit",
            "s9:session_limit"
        ]
    );
}

#[test]
fn sessions_that_ended_or_expired_take_no_place_among_the_newest() {
    let mut db = migrated_db();
    add_user(&db, "u1", 1);
    for sid in ["a", "b", "c"] {
        login(&mut db, "u1", sid, 1, 10);
    }
    // Newer than the active ones: a logged-out session and an expired row.
    run(&db, REVOKE, &[text("c"), num(NOW), text("logout")]);
    add_session(&db, "u1", "late-expired", NOW - 1.0, None);

    let (opened, ended) = login(&mut db, "u1", "d", 1, 2);
    assert!(opened);
    assert_eq!(ended, ["a"]);
    assert_eq!(sorted(active(&db, "u1")), ["b", "d"]);
}

#[test]
fn logins_in_a_loop_leave_the_user_at_most_the_limit_of_ended_sessions() {
    let mut db = migrated_db();
    add_user(&db, "u1", 1);
    add_user(&db, "u2", 1);
    add_session(&db, "u2", "other-ended", NOW + DAY, Some(NOW - DAY));
    for i in 0..50 {
        let sid = format!("s{i:02}");
        login(&mut db, "u1", &sid, 1, 3);
        if i % 2 == 0 {
            run(&db, REVOKE, &[text(&sid), num(NOW), text("logout")]);
        }
    }
    // Three active and the three newest ended sessions (by order of login); another user's
    // rows as they were.
    assert_eq!(sorted(active(&db, "u1")), ["s45", "s47", "s49"]);
    let ended = run(
        &db,
        "SELECT id FROM sessions WHERE user_id = 'u1' AND revoked_at IS NOT NULL ORDER BY id",
        &[],
    );
    assert_eq!(ended, ["s44", "s46", "s48"]);
    assert_eq!(
        run(&db, "SELECT id FROM sessions WHERE user_id = 'u1'", &[]).len(),
        6
    );
    assert_eq!(
        run(&db, "SELECT id FROM sessions WHERE user_id = 'u2'", &[]),
        ["other-ended"]
    );
}

#[test]
fn a_login_that_raced_a_password_change_opens_nothing_and_ends_nothing() {
    let mut db = migrated_db();
    add_user(&db, "u1", 1);
    for sid in ["a", "b", "c"] {
        login(&mut db, "u1", sid, 1, 10);
    }
    // The login checked the password at version 0; it is 1 now. Even with a lowered limit,
    // the batch's second statement finds no new session and ends none.
    assert_eq!(login(&mut db, "u1", "late", 0, 2), (false, vec![]));
    assert_eq!(sorted(active(&db, "u1")), ["a", "b", "c"]);
    // A deleted account: no user row, no session.
    assert_eq!(login(&mut db, "gone", "late2", 0, 1), (false, vec![]));
    // The same limit with the current version ends the surplus at once.
    let (opened, ended) = login(&mut db, "u1", "d", 1, 2);
    assert!(opened);
    assert_eq!(sorted(ended), ["a", "b"]);
}

/// A rotation's batch for current hash `old` → `new`: the session id if it rotated.
fn rotate(db: &mut Connection, old: &str, new: &str, at: f64) -> Option<String> {
    let results = batch(
        db,
        &[
            (RECORD_SPEND, vec![text(old), num(at)]),
            (SWAP_REFRESH, vec![text(old), text(new), num(at)]),
            (ROTATED, vec![text(new)]),
        ],
    );
    results[2].first().cloned()
}

/// [`TOKEN_STATE`]'s row: the session, and when the token was spent (`None`: it is current).
fn token_state(db: &Connection, hash: &str) -> Option<(String, Option<i64>)> {
    let mut stmt = db.prepare(TOKEN_STATE).unwrap();
    let mut rows = stmt.query([hash]).unwrap();
    rows.next().unwrap().map(|r| {
        let spent: Option<f64> = r.get(1).unwrap();
        (r.get(0).unwrap(), spent.map(|t| t as i64))
    })
}

#[test]
fn a_token_rotates_once_and_its_reuse_ends_the_session() {
    let mut db = migrated_db();
    add_user(&db, "u1", 1);
    login(&mut db, "u1", "s", 1, 10);

    assert_eq!(
        rotate(&mut db, "refresh-s", "r1", NOW).as_deref(),
        Some("s")
    );
    // The same token again: nothing happens, and it reads as spent, with when.
    assert_eq!(rotate(&mut db, "refresh-s", "r2", NOW + 5.0), None);
    assert_eq!(
        run(
            &db,
            "SELECT session_id || ':' || CAST(spent_at AS INTEGER) FROM spent_refresh_tokens",
            &[]
        ),
        [format!("s:{}", NOW as i64)]
    );
    assert_eq!(
        token_state(&db, "refresh-s"),
        Some(("s".to_owned(), Some(NOW as i64)))
    );
    assert_eq!(token_state(&db, "r1"), Some(("s".to_owned(), None)));
    assert_eq!(token_state(&db, "unknown"), None);

    // Reuse: the spent token ends its session, once; the current token then rotates no more.
    let reuse = vec![text("refresh-s"), num(NOW + 6.0), text("reuse_detected")];
    assert_eq!(run(&db, REVOKE_BY_TOKEN, &reuse), ["s"]);
    assert!(run(&db, REVOKE_BY_TOKEN, &reuse).is_empty());
    assert_eq!(rotate(&mut db, "r1", "r3", NOW + 7.0), None);
    assert!(run(&db, ACTIVE, &[text("s"), text("u1"), num(NOW + 7.0)]).is_empty());
}

/// A rotation's batch for current hash `old` → `new`: how the rotated session was opened, read
/// from [`ROTATED`]'s own row.
fn rotated_amr(db: &mut Connection, old: &str, new: &str) -> Option<String> {
    let amr_of_rotated = format!("SELECT session_amr FROM ({ROTATED})");
    let results = batch(
        db,
        &[
            (RECORD_SPEND, vec![text(old), num(NOW)]),
            (SWAP_REFRESH, vec![text(old), text(new), num(NOW)]),
            (&amr_of_rotated, vec![text(new)]),
        ],
    );
    results[2].first().cloned()
}

#[test]
fn a_rotation_reads_how_its_session_was_opened() {
    let mut db = migrated_db();
    add_user(&db, "u1", 1);
    login_as(&mut db, "u1", "totp", 1, 10, r#"["pwd","otp","mfa"]"#);
    login(&mut db, "u1", "pwd", 1, 10);
    // A row written before the column existed takes its default.
    add_session(&db, "u1", "old", NOW + DAY, None);
    assert_eq!(
        rotated_amr(&mut db, "refresh-totp", "t1").as_deref(),
        Some(r#"["pwd","otp","mfa"]"#)
    );
    // And again on the next rotation: the session keeps it.
    assert_eq!(
        rotated_amr(&mut db, "t1", "t2").as_deref(),
        Some(r#"["pwd","otp","mfa"]"#)
    );
    assert_eq!(
        rotated_amr(&mut db, "refresh-pwd", "p1").as_deref(),
        Some(r#"["pwd"]"#)
    );
    assert_eq!(
        rotated_amr(&mut db, "refresh-old", "o1").as_deref(),
        Some(r#"["pwd"]"#)
    );
}

#[test]
fn an_expired_session_neither_rotates_nor_reads_as_active() {
    let mut db = migrated_db();
    add_user(&db, "u1", 1);
    login(&mut db, "u1", "s", 1, 10);
    let expiry = NOW + 30.0 * DAY;
    assert_eq!(
        run(&db, ACTIVE, &[text("s"), text("u1"), num(expiry - 1.0)]).len(),
        1
    );
    assert!(run(&db, ACTIVE, &[text("s"), text("u2"), num(NOW)]).is_empty());
    assert!(run(&db, ACTIVE, &[text("s"), text("u1"), num(expiry)]).is_empty());
    assert_eq!(rotate(&mut db, "refresh-s", "r1", expiry), None);
    assert!(run(&db, "SELECT * FROM spent_refresh_tokens", &[]).is_empty());
}

#[test]
fn revocations_end_only_what_they_name() {
    let mut db = migrated_db();
    add_user(&db, "u1", 1);
    add_user(&db, "u2", 1);
    for sid in ["a", "b", "c"] {
        login(&mut db, "u1", sid, 1, 10);
    }
    login(&mut db, "u2", "x", 1, 10);
    let at = num(NOW);

    // Another user's session is not the caller's to end, nor an expired one.
    add_session(&db, "u1", "expired", NOW, None);
    assert!(run(
        &db,
        REVOKE_OF_USER,
        &[
            text("expired"),
            text("u1"),
            at.clone(),
            text("session_revoked")
        ]
    )
    .is_empty());
    let of_user =
        |sid: &str, user: &str| vec![text(sid), text(user), at.clone(), text("session_revoked")];
    assert!(run(&db, REVOKE_OF_USER, &of_user("x", "u1")).is_empty());
    assert_eq!(run(&db, REVOKE_OF_USER, &of_user("a", "u1")), ["a"]);
    assert!(run(&db, REVOKE_OF_USER, &of_user("a", "u1")).is_empty());

    // "All others" keeps the caller's session, and ends each other one once.
    let others = vec![text("u1"), text("c"), at.clone(), text("others_revoked")];
    assert_eq!(sorted(run(&db, REVOKE_OTHERS, &others)), ["b", "expired"]);
    assert_eq!(active(&db, "u1"), ["c"]);
    assert_eq!(active(&db, "u2"), ["x"]);

    // A logout, once.
    let logout = vec![text("c"), at.clone(), text("logout")];
    assert_eq!(run(&db, REVOKE, &logout), ["c"]);
    assert!(run(&db, REVOKE, &logout).is_empty());
    assert!(active(&db, "u1").is_empty());
}

#[test]
fn rows_have_the_columns_the_store_reads() {
    let db = migrated_db();
    let with_user = |first: &str| {
        let mut names = vec![first.to_owned()];
        names.extend(USER_COLUMNS.map(str::to_owned));
        names
    };
    let mut active = vec!["session_expires_at".to_owned()];
    active.extend(with_user("mfa_enabled"));
    assert_eq!(columns(&db, ACTIVE), active);
    let mut rotated = vec!["session_id".to_owned()];
    rotated.extend(with_user("session_amr"));
    assert_eq!(columns(&db, ROTATED), rotated);
    assert_eq!(columns(&db, TOKEN_STATE), ["session_id", "spent_at"]);
    assert_eq!(
        columns(&db, LIST),
        [
            "id",
            "created_at",
            "last_used_at",
            "expires_at",
            "user_agent"
        ]
    );
    for sql in [
        INSERT,
        REVOKE_BEYOND_LIMIT,
        REVOKE,
        REVOKE_BY_TOKEN,
        REVOKE_OF_USER,
        REVOKE_OTHERS,
    ] {
        assert_eq!(columns(&db, sql), ["id"], "{sql}");
    }
}
