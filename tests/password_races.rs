//! Writes that follow a password check, racing a reset that commits while they hash: a change,
//! an account deletion and a login's rehash each write only while the password's version is the
//! one their check read (`migrations/0008_password_version.sql`), so none can undo the reset;
//! and a second reset with the same link, refused before it hashes.
//! Over the SQLite store, with hashing in slices: two requests on one isolate take turns
//! at every slice, so the reset's write lands between the other request's check and its write.
//! `tests/e2e/test_password_races.py` runs the same races on workerd and D1.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::rc::Rc;

use common::email::*;
use common::*;
use edge_auth::app::mail::Outbox;
use edge_auth::domain::amr::Amr;
use edge_auth::domain::{Email, User, UserId};
use edge_auth::http::{ApiRequest, ApiResponse, Ctx};
use edge_auth::password::PasswordHash;
use edge_auth::store::events::Audit;
use edge_auth::store::{NewSession, SessionStore, UserStore};
use futures::executor::block_on;
use futures::future::join;
use serde_json::json;

const THEIRS: &str = "the intruder's passphrase";

/// A harness whose hashes take two and a half slices, so each one pauses twice.
fn sliced() -> Harness {
    let mut h = Harness::new();
    let iterations = edge_auth::password::pbkdf2::DEFAULT_SLICE.get() * 5 / 2;
    h.config.pbkdf2_iterations = iterations;
    h.config.login_failure_iterations = iterations;
    h
}

/// Runs `first` and `second` at once on one isolate, each pausing between its hash's slices.
/// `first` starts hashing first, and the hashes take turns whole (`password::queue`): `second`
/// reads the account while `first` hashes, and checks the password after `first` has written.
fn race(h: &Harness, first: ApiRequest, second: ApiRequest) -> (ApiResponse, ApiResponse) {
    let yielding = |id: &str| {
        Ctx::new(id.into(), NOW_MS).with_pause(Rc::new(|| Box::pin(edge_auth::http::yield_once())))
    };
    let (a, b) = (yielding("first"), yielding("second"));
    let outbox = Outbox::default();
    let cache = h.session_cache();
    let app = h.app(&outbox, &cache);
    let (first_route, second_route) = (
        (first.method.clone(), first.path.clone()),
        (second.method.clone(), second.path.clone()),
    );
    let answers = block_on(join(app.handle(first, &a), app.handle(second, &b)));
    // Each request's own line, as the Worker writes it.
    a.log_request(&first_route.0, &first_route.1, answers.0.status);
    b.log_request(&second_route.0, &second_route.1, answers.1.status);
    h.keep_logs(&a);
    h.keep_logs(&b);
    answers
}

/// The passwords each of the two racing requests hashed to be stored, from their request
/// lines: `(first, second)`.
fn hashed(h: &Harness) -> (u64, u64) {
    let of = |id: &str| {
        let lines: Vec<_> = h
            .events("request")
            .into_iter()
            .filter(|l| l["request_id"] == id)
            .collect();
        assert_eq!(lines.len(), 1, "{lines:?}");
        lines[0]["new_password_hashes"].as_u64().unwrap()
    };
    (of("first"), of("second"))
}

fn bearer(path: &str, token: &str, body: serde_json::Value) -> ApiRequest {
    ApiRequest::new("POST", path)
        .header("authorization", &format!("Bearer {token}"))
        .json(&body)
}

fn reset_request(token: &str) -> ApiRequest {
    ApiRequest::new("POST", "/auth/password/reset")
        .json(&json!({ "token": token, "new_password": NEW_PASSWORD }))
}

fn login_request(password: &str) -> ApiRequest {
    ApiRequest::new("POST", "/auth/login").json(&json!({ "email": ALICE, "password": password }))
}

/// After the race only the reset's password logs in.
fn assert_only_the_reset_password_works(h: &Harness, others: &[&str]) {
    assert_eq!(h.login(ALICE, NEW_PASSWORD).status, 200);
    for other in others {
        assert_problem(&h.login(ALICE, other), 401, "invalid_credentials");
    }
}

#[test]
fn a_change_that_read_the_password_before_a_reset_wrote_writes_nothing_and_answers_401() {
    let h = sliced();
    h.register(ALICE, PASSWORD);
    let intruder = h.token(ALICE);
    assert_eq!(forgot(&h, ALICE).status, 202);
    let token = reset_token(&h, ALICE);
    let change = bearer(
        "/auth/password/change",
        &intruder,
        json!({ "current_password": PASSWORD, "new_password": THEIRS }),
    );
    let (reset, changed) = race(&h, reset_request(&token), change);
    assert_eq!(reset.status, 204);
    assert_problem(&changed, 401, "invalid_credentials");
    assert_eq!(h.events("password_change_failed").len(), 1);
    assert_only_the_reset_password_works(&h, &[THEIRS, PASSWORD]);
    assert_problem(&h.me(&intruder, NOW_MS), 401, "invalid_token");
}

#[test]
fn a_deletion_that_read_the_password_before_a_reset_wrote_deletes_nothing_and_answers_401() {
    let h = sliced();
    h.register(ALICE, PASSWORD);
    let intruder = h.token(ALICE);
    assert_eq!(forgot(&h, ALICE).status, 202);
    let token = reset_token(&h, ALICE);
    let delete = ApiRequest::new("DELETE", "/auth/me")
        .header("authorization", &format!("Bearer {intruder}"))
        .json(&json!({ "password": PASSWORD }));
    let (reset, deleted) = race(&h, reset_request(&token), delete);
    assert_eq!(reset.status, 204);
    assert_problem(&deleted, 401, "invalid_credentials");
    assert_eq!(h.events("account_delete_failed").len(), 1);
    assert!(h.users.get(ALICE).is_some());
    assert_only_the_reset_password_works(&h, &[PASSWORD]);
}

#[test]
fn a_rehashing_login_that_read_the_password_before_a_reset_wrote_opens_nothing() {
    let h = sliced();
    // An account moved in with a cheaper hash: its first login rehashes it.
    let cheap = PasswordHash::create(PASSWORD, 1_000).unwrap().to_phc();
    h.users.put_raw(User {
        id: UserId::new_random().unwrap(),
        email: Email::parse(ALICE).unwrap(),
        password_hash: cheap,
        password_version: 0,
        created_at: "2020-01-01T00:00:00.000Z".into(),
        email_verified: false,
    });
    assert_eq!(forgot(&h, ALICE).status, 202);
    let token = reset_token(&h, ALICE);
    // The reset hashes first; the login reads the old hash meanwhile and checks it after.
    let (reset, login) = race(&h, reset_request(&token), login_request(PASSWORD));
    assert_eq!(reset.status, 204);
    assert_problem(&login, 401, "invalid_credentials");
    assert!(h
        .events("login_failed")
        .iter()
        .any(|e| e["reason"] == "password_changed"));
    // Its rehash wrote nothing, and its log says no rehash.
    assert!(h.events("password_rehashed").is_empty());
    assert_only_the_reset_password_works(&h, &[PASSWORD]);
}

/// Two resets with one link at once (a double submit): the first spends the link before it
/// hashes, so the second, arriving while it hashes, is refused without hashing anything.
#[test]
fn of_two_resets_with_one_link_the_second_is_refused_before_it_hashes() {
    let h = sliced();
    h.register(ALICE, PASSWORD);
    assert_eq!(forgot(&h, ALICE).status, 202);
    let token = reset_token(&h, ALICE);
    let other = ApiRequest::new("POST", "/auth/password/reset")
        .json(&json!({ "token": token, "new_password": THEIRS }));
    let (first, second) = race(&h, reset_request(&token), other);
    assert_eq!(first.status, 204);
    assert_problem(&second, 400, "invalid_email_token");
    assert_eq!(hashed(&h), (1, 0));
    assert_eq!(h.events("password_reset").len(), 1);
    assert_only_the_reset_password_works(&h, &[THEIRS, PASSWORD]);
}

/// Two deletions of one account at once (a double click): both pass their password check
/// before either writes; exactly one deletes, the other finds nothing to delete and answers 401.
#[test]
fn of_two_deletions_at_once_exactly_one_deletes_and_the_other_answers_401() {
    let h = sliced();
    h.register(ALICE, PASSWORD);
    let token = h.token(ALICE);
    let delete = || {
        ApiRequest::new("DELETE", "/auth/me")
            .header("authorization", &format!("Bearer {token}"))
            .json(&json!({ "password": PASSWORD }))
    };
    let (a, b) = race(&h, delete(), delete());
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [204, 401]);
    let refused = if a.status == 401 { &a } else { &b };
    assert_problem(refused, 401, "invalid_credentials");
    assert_eq!(h.events("account_deleted").len(), 1);
    assert_eq!(h.events("account_delete_failed").len(), 1);
    assert!(h.users.get(ALICE).is_none());
}

/// Two logins that rehash one account at once (a double submit, two devices) write two
/// different hashes of the same password: the version stays, so both get their session. A
/// guard on the hash itself refused the first one's session once the second had rehashed.
#[test]
fn two_logins_rehashing_one_account_at_once_both_open_their_session() {
    let h = Harness::new();
    h.register(ALICE, PASSWORD);
    let user = h.users.get(ALICE).unwrap();
    let session = |id: &str| NewSession {
        id: id.into(),
        user_id: user.id.clone(),
        refresh_hash: id.repeat(64),
        created_at: "2026-01-01T00:00:00.000Z".into(),
        expires_at_ms: NOW_MS + 1_000,
        user_agent: None,
        amr: Amr::password(),
        password_version: user.password_version,
        clear_attempts_of: None,
        keep_at_most: 10,
        now_ms: NOW_MS,
        audit: Audit::none(),
        attempt_event: None,
    };
    let rehash = || PasswordHash::create(PASSWORD, 2_000).unwrap().to_phc();
    let (a, b) = (rehash(), rehash());
    let at = "2026-01-01T00:00:00.000Z";
    let rehash_to = |phc: &str, version| {
        block_on(h.users.update_password_hash(&user.id, phc, at, version)).unwrap()
    };
    assert!(rehash_to(&a, user.password_version));
    assert!(rehash_to(&b, user.password_version));
    assert_eq!(
        block_on(h.sessions.create_session(&session("a"))).unwrap(),
        Some(vec![])
    );
    assert_eq!(
        block_on(h.sessions.create_session(&session("b"))).unwrap(),
        Some(vec![])
    );
    // A rehash that read an older version writes nothing.
    assert!(!rehash_to(&a, user.password_version - 1));
    assert_eq!(h.users.get(ALICE).unwrap().password_hash, b);
}
