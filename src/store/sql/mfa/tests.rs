//! The two-step verification statements on SQLite with every migration applied.

use rusqlite::types::Value;
use rusqlite::Connection;

use super::*;
use crate::store::sql::testing::{
    add_session, add_user, batch, columns, count, migrated_db, num, run, text, NOW, USER_COLUMNS,
};

const MINUTE: f64 = 60_000.0;

fn null() -> Value {
    Value::Null
}

fn setup(db: &Connection, user: &str, sealed: &str) -> bool {
    run(db, SETUP, &[text(user), text(sealed), num(NOW)]) == [user]
}

/// `(sealed_secret, enabled, last_step)` of `user`.
fn state(db: &Connection, user: &str) -> Option<(Option<String>, bool, i64)> {
    db.query_row(STATE, [user], |r| {
        Ok((
            r.get::<_, Option<String>>(0)?,
            r.get::<_, Option<i64>>(1)?.is_some(),
            r.get::<_, i64>(2)?,
        ))
    })
    .ok()
}

fn hashes(codes: &[&str]) -> String {
    serde_json::to_string(codes).unwrap()
}

/// The confirmation's batch: enables `user`'s pending `sealed` secret with a code of `step`,
/// and stores `codes` as its recovery set `set`. Whether it enabled, and the codes it stored.
fn confirm(
    db: &mut Connection,
    user: &str,
    sealed: &str,
    step: i64,
    set: &str,
    codes: &[&str],
) -> (bool, Vec<String>) {
    let mut out = batch(
        db,
        &[
            (
                CONFIRM,
                vec![
                    text(user),
                    text(sealed),
                    num(step as f64),
                    num(NOW),
                    text(set),
                ],
            ),
            (DROP_STALE_RECOVERY_CODES, vec![text(user)]),
            (
                INSERT_RECOVERY_CODES,
                vec![text(user), text(set), text(&hashes(codes))],
            ),
        ],
    );
    let stored = out.pop().unwrap();
    out.pop();
    (out.pop().unwrap() == [user], stored)
}

fn accept_step(db: &Connection, user: &str, sealed: &str, step: i64) -> bool {
    let params = [text(user), text(sealed), num(step as f64), num(NOW), null()];
    run(db, ACCEPT_STEP, &params) == [user]
}

/// Regenerating: a TOTP code of `step` and a new set in one batch.
fn regenerate(
    db: &mut Connection,
    user: &str,
    sealed: &str,
    step: i64,
    set: &str,
    codes: &[&str],
) -> (bool, Vec<String>) {
    let mut out = batch(
        db,
        &[
            (
                ACCEPT_STEP,
                vec![
                    text(user),
                    text(sealed),
                    num(step as f64),
                    num(NOW),
                    text(set),
                ],
            ),
            (DROP_STALE_RECOVERY_CODES, vec![text(user)]),
            (
                INSERT_RECOVERY_CODES,
                vec![text(user), text(set), text(&hashes(codes))],
            ),
        ],
    );
    let stored = out.pop().unwrap();
    out.pop();
    (out.pop().unwrap() == [user], stored)
}

fn disable(db: &mut Connection, user: &str) -> bool {
    let mut out = batch(
        db,
        &[
            (DISABLE, vec![text(user), num(NOW)]),
            (DROP_STALE_RECOVERY_CODES, vec![text(user)]),
        ],
    );
    out.pop();
    out.pop().unwrap() == [user]
}

fn use_code(db: &Connection, user: &str, hash: &str) -> bool {
    run(
        db,
        USE_RECOVERY_CODE,
        &[text(user), text(hash), num(NOW), null()],
    ) == [user]
}

fn codes_left(db: &Connection, user: &str) -> String {
    run(db, RECOVERY_CODES_LEFT, &[text(user)]).pop().unwrap()
}

fn insert_token(db: &Connection, hash: &str, user: &str, version: i64, expires_at: f64) -> bool {
    let params = [
        text(hash),
        text(user),
        num(version as f64),
        num(NOW),
        num(expires_at),
    ];
    run(db, INSERT_TOKEN, &params) == [hash]
}

fn live_user(db: &Connection, hash: &str, at: f64) -> Vec<String> {
    run(db, LIVE_TOKEN_USER, &[text(hash), num(at)])
}

fn claim(db: &Connection, hash: &str, at: f64) -> Vec<String> {
    run(db, CLAIM_TOKEN, &[text(hash), num(at)])
}

fn wrong_code(db: &Connection, hash: &str, at: f64) -> Vec<String> {
    run(db, RECORD_WRONG_CODE, &[text(hash), num(at)])
}

/// A verify with a recovery code, as its batch: whether the code was spent and the token used.
fn verify_with_recovery_code(
    db: &mut Connection,
    user: &str,
    token: &str,
    code: &str,
) -> (bool, bool) {
    let mut out = batch(
        db,
        &[
            (
                USE_RECOVERY_CODE,
                vec![text(user), text(code), num(NOW), text(token)],
            ),
            (
                CLAIM_TOKEN_WITH_RECOVERY_CODE,
                vec![text(token), num(NOW), text(code)],
            ),
        ],
    );
    let claimed = out.pop().unwrap() == [user];
    (out.pop().unwrap() == [user], claimed)
}

/// `user` with TOTP enabled (secret `sealed-1`, step 100 accepted) and recovery codes
/// `{user}-r0`..`{user}-r9` in set `set-1`.
fn enrolled(db: &mut Connection, user: &str) -> Vec<String> {
    add_user(db, user, 1);
    assert!(setup(db, user, "sealed-1"));
    let codes: Vec<String> = (0..10).map(|i| format!("{user}-r{i}")).collect();
    let refs: Vec<&str> = codes.iter().map(String::as_str).collect();
    let (enabled, stored) = confirm(db, user, "sealed-1", 100, "set-1", &refs);
    assert!(enabled);
    assert_eq!(stored, codes);
    codes
}

#[test]
fn a_setup_is_pending_and_a_new_setup_replaces_it_until_it_is_confirmed() {
    let mut db = migrated_db();
    add_user(&db, "u1", 1);
    assert_eq!(state(&db, "u1"), None);
    assert!(setup(&db, "u1", "sealed-1"));
    assert_eq!(state(&db, "u1"), Some((Some("sealed-1".into()), false, -1)));
    assert!(setup(&db, "u1", "sealed-2"));
    assert_eq!(state(&db, "u1"), Some((Some("sealed-2".into()), false, -1)));

    // A code checked against the replaced secret does not confirm.
    assert_eq!(
        confirm(&mut db, "u1", "sealed-1", 5, "set-1", &["h1"]),
        (false, vec![])
    );
    assert_eq!(count(&db, "mfa_recovery_codes", "1"), 0);
    let (enabled, stored) = confirm(&mut db, "u1", "sealed-2", 5, "set-1", &["h1", "h2"]);
    assert!(enabled);
    assert_eq!(stored, ["h1", "h2"]);
    assert_eq!(state(&db, "u1"), Some((Some("sealed-2".into()), true, 5)));

    // Enabled: a setup changes nothing.
    assert!(!setup(&db, "u1", "sealed-3"));
    assert_eq!(state(&db, "u1"), Some((Some("sealed-2".into()), true, 5)));
}

#[test]
fn a_confirmation_happens_once() {
    let mut db = migrated_db();
    add_user(&db, "u1", 1);
    setup(&db, "u1", "sealed-1");
    assert!(confirm(&mut db, "u1", "sealed-1", 7, "set-1", &["a"]).0);
    // A second confirmation (a later step, new codes) neither enables again nor replaces the
    // codes the first one showed.
    assert_eq!(
        confirm(&mut db, "u1", "sealed-1", 8, "set-2", &["b"]),
        (false, vec![])
    );
    assert_eq!(
        run(&db, "SELECT code_hash FROM mfa_recovery_codes", &[]),
        ["a"]
    );
    assert_eq!(state(&db, "u1").unwrap().2, 7);
}

#[test]
fn an_accepted_step_and_every_earlier_one_are_refused() {
    let mut db = migrated_db();
    enrolled(&mut db, "u1");
    // Step 100 confirmed the setup.
    assert!(!accept_step(&db, "u1", "sealed-1", 100));
    assert!(!accept_step(&db, "u1", "sealed-1", 99));
    assert!(accept_step(&db, "u1", "sealed-1", 101));
    assert!(!accept_step(&db, "u1", "sealed-1", 101));
    assert!(accept_step(&db, "u1", "sealed-1", 103));
    assert!(!accept_step(&db, "u1", "sealed-1", 102));
    assert_eq!(state(&db, "u1").unwrap().2, 103);
    // A code checked against a secret that is no longer the user's is not accepted.
    assert!(!accept_step(&db, "u1", "sealed-0", 104));
}

#[test]
fn steps_are_refused_across_re_enrolment() {
    let mut db = migrated_db();
    enrolled(&mut db, "u1");
    assert!(disable(&mut db, "u1"));
    assert_eq!(state(&db, "u1"), Some((None, false, 100)));
    assert!(setup(&db, "u1", "sealed-2"));
    assert_eq!(
        confirm(&mut db, "u1", "sealed-2", 100, "set-2", &["x"]),
        (false, vec![])
    );
    assert!(confirm(&mut db, "u1", "sealed-2", 101, "set-2", &["x"]).0);
}

#[test]
fn steps_are_accepted_only_while_enabled() {
    let db = migrated_db();
    add_user(&db, "u1", 1);
    setup(&db, "u1", "sealed-1");
    assert!(!accept_step(&db, "u1", "sealed-1", 1));
    assert_eq!(state(&db, "u1").unwrap().2, -1);
}

/// A migrated database in a file, which `prepare` fills; then `statement` on eight threads at
/// once, each on its own connection (as isolates share one D1). How many returned a row.
fn in_parallel(
    name: &str,
    prepare: impl FnOnce(&mut Connection),
    statement: &'static str,
    params: Vec<Value>,
) -> usize {
    let path = std::env::temp_dir().join(format!("edge-auth-{name}-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let path = path.to_str().unwrap().to_owned();
    migrated_db().execute("VACUUM INTO ?1", [&path]).unwrap();
    let open = |path: &str| {
        let db = Connection::open(path).unwrap();
        db.busy_timeout(std::time::Duration::from_secs(30)).unwrap();
        db.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        db
    };
    prepare(&mut open(&path));
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (db, params, barrier) = (open(&path), params.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                !run(&db, statement, &params).is_empty()
            })
        })
        .collect();
    let wins = threads
        .into_iter()
        .map(|t| t.join().unwrap())
        .filter(|won| *won)
        .count();
    let _ = std::fs::remove_file(&path);
    wins
}

#[test]
fn of_parallel_uses_of_one_step_exactly_one_is_accepted() {
    let params = vec![text("u1"), text("sealed-1"), num(101.0), num(NOW), null()];
    let wins = in_parallel(
        "steps",
        |db| {
            enrolled(db, "u1");
        },
        ACCEPT_STEP,
        params,
    );
    assert_eq!(wins, 1);
}

#[test]
fn of_parallel_claims_of_one_mfa_token_exactly_one_succeeds() {
    let prepare = |db: &mut Connection| {
        add_user(db, "u1", 1);
        insert_token(db, "t1", "u1", 1, NOW + MINUTE);
    };
    assert_eq!(
        in_parallel("claims", prepare, CLAIM_TOKEN, vec![text("t1"), num(NOW)]),
        1
    );
}

#[test]
fn of_parallel_uses_of_one_recovery_code_exactly_one_spends_it() {
    let params = vec![text("u1"), text("u1-r3"), num(NOW), null()];
    let wins = in_parallel(
        "codes",
        |db| {
            enrolled(db, "u1");
        },
        USE_RECOVERY_CODE,
        params,
    );
    assert_eq!(wins, 1);
}

#[test]
fn a_recovery_code_works_once_and_only_for_its_user() {
    let mut db = migrated_db();
    let codes = enrolled(&mut db, "u1");
    enrolled(&mut db, "u2");
    assert_eq!(codes_left(&db, "u1"), "Integer(10)");
    assert!(!use_code(&db, "u2", &codes[0]));
    assert!(use_code(&db, "u1", &codes[0]));
    assert!(!use_code(&db, "u1", &codes[0]));
    assert!(!use_code(&db, "u1", "unknown"));
    assert_eq!(codes_left(&db, "u1"), "Integer(9)");
    assert_eq!(codes_left(&db, "u2"), "Integer(10)");
}

#[test]
fn a_new_set_voids_every_older_code() {
    let mut db = migrated_db();
    let old = enrolled(&mut db, "u1");
    use_code(&db, "u1", &old[0]);
    // Regenerating asks for a TOTP code: a replayed step changes nothing.
    assert_eq!(
        regenerate(&mut db, "u1", "sealed-1", 100, "set-2", &["n1", "n2"]),
        (false, vec![])
    );
    assert!(use_code(&db, "u1", &old[1]));
    let (done, stored) = regenerate(&mut db, "u1", "sealed-1", 101, "set-2", &["n1", "n2"]);
    assert!(done);
    assert_eq!(stored, ["n1", "n2"]);
    assert!(!use_code(&db, "u1", &old[2]));
    assert_eq!(count(&db, "mfa_recovery_codes", "user_id = 'u1'"), 2);
    assert_eq!(codes_left(&db, "u1"), "Integer(2)");
    assert!(use_code(&db, "u1", "n1"));
    assert_eq!(codes_left(&db, "u1"), "Integer(1)");
}

#[test]
fn turning_totp_off_removes_the_recovery_codes_and_happens_once() {
    let mut db = migrated_db();
    let codes = enrolled(&mut db, "u1");
    enrolled(&mut db, "u2");
    assert!(disable(&mut db, "u1"));
    assert!(!disable(&mut db, "u1"));
    assert_eq!(count(&db, "mfa_recovery_codes", "user_id = 'u1'"), 0);
    assert_eq!(count(&db, "mfa_recovery_codes", "user_id = 'u2'"), 10);
    assert!(!use_code(&db, "u1", &codes[1]));
    assert!(!accept_step(&db, "u1", "sealed-1", 200));
    assert_eq!(codes_left(&db, "u1"), "Integer(0)");
}

#[test]
fn an_mfa_token_is_claimed_once() {
    let db = migrated_db();
    add_user(&db, "u1", 1);
    assert!(insert_token(&db, "t1", "u1", 1, NOW + 5.0 * MINUTE));
    assert_eq!(
        live_user(&db, "t1", NOW).first().map(String::as_str),
        Some("u1")
    );
    assert_eq!(claim(&db, "t1", NOW), ["u1"]);
    assert_eq!(claim(&db, "t1", NOW), Vec::<String>::new());
    assert_eq!(live_user(&db, "t1", NOW), Vec::<String>::new());
    assert_eq!(wrong_code(&db, "t1", NOW), Vec::<String>::new());
    assert_eq!(claim(&db, "unknown", NOW), Vec::<String>::new());
}

#[test]
fn an_mfa_token_is_dead_at_its_expiry() {
    let db = migrated_db();
    add_user(&db, "u1", 1);
    let expiry = NOW + 5.0 * MINUTE;
    insert_token(&db, "t1", "u1", 1, expiry);
    assert_eq!(live_user(&db, "t1", expiry - 1.0).len(), 1);
    assert_eq!(live_user(&db, "t1", expiry), Vec::<String>::new());
    assert_eq!(claim(&db, "t1", expiry), Vec::<String>::new());
    assert_eq!(wrong_code(&db, "t1", expiry), Vec::<String>::new());
    assert_eq!(claim(&db, "t1", expiry - 1.0), ["u1"]);
    // The scheduled cleanup removes it once expired.
    run(&db, DELETE_EXPIRED_TOKENS, &[num(expiry - 1.0)]);
    assert_eq!(count(&db, "mfa_tokens", "1"), 1);
    run(&db, DELETE_EXPIRED_TOKENS, &[num(expiry)]);
    assert_eq!(count(&db, "mfa_tokens", "1"), 0);
}

#[test]
fn an_mfa_token_dies_at_the_fifth_wrong_code() {
    let db = migrated_db();
    add_user(&db, "u1", 1);
    insert_token(&db, "t1", "u1", 1, NOW + 5.0 * MINUTE);
    for n in 1..=4 {
        assert_eq!(wrong_code(&db, "t1", NOW), [format!("Integer({n})")]);
        assert_eq!(live_user(&db, "t1", NOW).len(), 1, "after {n}");
    }
    assert_eq!(wrong_code(&db, "t1", NOW), ["Integer(5)"]);
    assert_eq!(live_user(&db, "t1", NOW), Vec::<String>::new());
    assert_eq!(claim(&db, "t1", NOW), Vec::<String>::new());
    assert_eq!(wrong_code(&db, "t1", NOW), Vec::<String>::new());
    assert_eq!(count(&db, "mfa_tokens", "wrong_codes = 5"), 1);
}

#[test]
fn an_mfa_token_dies_with_a_password_change_and_is_not_issued_after_one() {
    let db = migrated_db();
    add_user(&db, "u1", 1);
    insert_token(&db, "t1", "u1", 1, NOW + 5.0 * MINUTE);
    db.execute("UPDATE users SET password_version = 2 WHERE id = 'u1'", [])
        .unwrap();
    assert_eq!(live_user(&db, "t1", NOW), Vec::<String>::new());
    assert_eq!(claim(&db, "t1", NOW), Vec::<String>::new());
    assert_eq!(wrong_code(&db, "t1", NOW), Vec::<String>::new());
    // A login whose password check read version 1 gets no token.
    assert!(!insert_token(&db, "t2", "u1", 1, NOW + 5.0 * MINUTE));
    assert!(insert_token(&db, "t3", "u1", 2, NOW + 5.0 * MINUTE));
    assert!(!insert_token(&db, "t4", "nobody", 0, NOW + 5.0 * MINUTE));
}

#[test]
fn a_verify_with_a_recovery_code_uses_the_code_and_the_token_together() {
    let mut db = migrated_db();
    let codes = enrolled(&mut db, "u1");
    insert_token(&db, "t1", "u1", 1, NOW + 5.0 * MINUTE);
    insert_token(&db, "t2", "u1", 1, NOW + 5.0 * MINUTE);

    assert_eq!(
        verify_with_recovery_code(&mut db, "u1", "t1", &codes[0]),
        (true, true)
    );
    // The same token with another code: the token is used, so the code is not spent.
    assert_eq!(
        verify_with_recovery_code(&mut db, "u1", "t1", &codes[1]),
        (false, false)
    );
    assert_eq!(codes_left(&db, "u1"), "Integer(9)");
    // Another token with the spent code: neither.
    assert_eq!(
        verify_with_recovery_code(&mut db, "u1", "t2", &codes[0]),
        (false, false)
    );
    assert_eq!(live_user(&db, "t2", NOW).len(), 1);
    // A dead token spends no code.
    for _ in 0..5 {
        wrong_code(&db, "t2", NOW);
    }
    assert_eq!(
        verify_with_recovery_code(&mut db, "u1", "t2", &codes[1]),
        (false, false)
    );
    assert_eq!(codes_left(&db, "u1"), "Integer(9)");
    assert_eq!(
        run(
            &db,
            "SELECT used_by FROM mfa_recovery_codes WHERE used_at IS NOT NULL",
            &[]
        ),
        ["t1"]
    );
}

#[test]
fn the_live_token_lookup_reads_the_user_columns() {
    let db = migrated_db();
    assert_eq!(columns(&db, LIVE_TOKEN_USER), USER_COLUMNS);
}

#[test]
fn sessions_remember_how_they_were_opened_and_old_ones_say_password() {
    let db = migrated_db();
    add_user(&db, "u1", 1);
    add_session(&db, "u1", "s1", NOW + MINUTE, None);
    assert_eq!(run(&db, "SELECT amr FROM sessions", &[]), [r#"["pwd"]"#]);
    db.execute(
        r#"UPDATE sessions SET amr = '["pwd","otp","mfa"]' WHERE id = 's1'"#,
        [],
    )
    .unwrap();
    assert_eq!(
        run(&db, "SELECT json_extract(amr, '$[2]') FROM sessions", &[]),
        ["mfa"]
    );
}

#[test]
fn deleting_a_user_removes_every_two_step_row() {
    let mut db = migrated_db();
    enrolled(&mut db, "u1");
    insert_token(&db, "t1", "u1", 1, NOW + MINUTE);
    db.execute("DELETE FROM users WHERE id = 'u1'", []).unwrap();
    for table in ["mfa_totp", "mfa_recovery_codes", "mfa_tokens"] {
        assert_eq!(count(&db, table, "1"), 0, "{table}");
    }
}
