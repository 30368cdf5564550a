//! The password check of login and re-authentication: what every failure costs, hashing in
//! slices, the round trips of a login, a password changed while a login hashed, and a user row
//! that does not decode.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::*;
use edge_auth::domain::amr::Amr;
use edge_auth::http::{ApiRequest, Ctx};
use edge_auth::limits::breaker::BreakerState;
use edge_auth::password::PasswordHash;
use edge_auth::store::events::Audit;
use edge_auth::store::{NewSession, PasswordChange, SessionStore, UserRow, UserStore};
use futures::executor::block_on;
use serde_json::json;

#[test]
fn every_failed_login_costs_at_least_the_configured_count() {
    let mut h = Harness::new();
    // As if PBKDF2_ITERATIONS were raised (LOGIN_FAILURE_ITERATIONS follows it by default).
    h.config.pbkdf2_iterations = 3 * ITERATIONS;
    h.config.login_failure_iterations = 3 * ITERATIONS;
    // A row stored with fewer iterations than configured, as before a raise of the count.
    let weak = PasswordHash::create(PASSWORD, ITERATIONS).unwrap().to_phc();
    h.users.put_raw(stored_user("weak@example.com", weak));
    let tampered = PasswordHash::create(PASSWORD, ITERATIONS)
        .unwrap()
        .to_phc()
        .replace("i=1000,", "i=4000000000,");
    h.users
        .put_raw(stored_user("tampered@example.com", tampered));

    assert_problem(
        &h.login("weak@example.com", "wrong password!"),
        401,
        "invalid_credentials",
    );
    assert_problem(
        &h.login("ghost@example.com", "wrong password!"),
        401,
        "invalid_credentials",
    );
    assert_problem(
        &h.login("tampered@example.com", PASSWORD),
        401,
        "invalid_credentials",
    );
    assert_problem(
        &h.login("not an email", PASSWORD),
        401,
        "invalid_credentials",
    );
    let work: Vec<(String, u64)> = h
        .events("login_failed")
        .iter()
        .map(|e| {
            (
                e["reason"].as_str().unwrap().to_owned(),
                e["hash_iterations"].as_u64().unwrap(),
            )
        })
        .collect();
    let configured = u64::from(3 * ITERATIONS);
    assert_eq!(
        work,
        vec![
            ("wrong_password".to_owned(), configured),
            ("unknown_email".to_owned(), configured),
            ("stored_hash_refused".to_owned(), configured),
            ("unknown_email".to_owned(), configured),
        ]
    );
}

/// A harness whose hashes (real and failure padding) are two and a half slices: three slices,
/// so two pauses per hash. Returns the iteration count too.
fn sliced_hashing_harness() -> (Harness, u32) {
    let mut h = Harness::new();
    let iterations = edge_auth::password::pbkdf2::DEFAULT_SLICE.get() * 5 / 2;
    h.config.pbkdf2_iterations = iterations;
    h.config.login_failure_iterations = iterations;
    (h, iterations)
}

/// Every hash on the request path yields to the event loop between slices, so other requests
/// sharing the isolate run while it hashes.
#[test]
fn every_hash_on_the_request_path_pauses_between_slices() {
    use std::cell::Cell;
    use std::rc::Rc;

    let (h, _) = sliced_hashing_harness();
    let pauses = Rc::new(Cell::new(0u32));
    let send = |req: ApiRequest| {
        let counter = pauses.clone();
        let ctx = Ctx::new("p".into(), NOW_MS).with_pause(Rc::new(move || {
            counter.set(counter.get() + 1);
            Box::pin(std::future::ready(()))
        }));
        h.send_with(req, ctx)
    };
    let body = |email: &str, password: &str| json!({"email": email, "password": password});
    let mut counts = Vec::new();
    for (path, payload) in [
        ("/auth/register", body("alice@example.com", PASSWORD)),
        ("/auth/login", body("alice@example.com", PASSWORD)),
        ("/auth/login", body("alice@example.com", "wrong password!")),
        ("/auth/login", body("ghost@example.com", PASSWORD)),
    ] {
        pauses.set(0);
        let status = send(ApiRequest::new("POST", path).json(&payload)).status;
        counts.push((path, status, pauses.get()));
    }
    assert_eq!(
        counts,
        vec![
            ("/auth/register", 201, 2),
            ("/auth/login", 200, 2),
            ("/auth/login", 401, 2),
            ("/auth/login", 401, 2),
        ]
    );
}

#[test]
fn a_successful_login_is_two_database_round_trips_and_clears_the_failures() {
    let h = Harness::new();
    h.register("alice@example.com", PASSWORD);
    for _ in 0..4 {
        assert_eq!(h.login("alice@example.com", "wrong password").status, 401);
    }
    let before = h.users.calls.get();
    assert_eq!(h.login("alice@example.com", PASSWORD).status, 200);
    // The attempt's reservation with the user lookup, then the session with the reset.
    assert_eq!(h.users.calls.get() - before, 2);
    for _ in 0..4 {
        assert_eq!(h.login("alice@example.com", "wrong password").status, 401);
    }
    assert_eq!(h.login("alice@example.com", PASSWORD).status, 200);
}

/// Two failed logins hashing on one isolate at once (their pauses let each other run): each
/// one's `hash_iterations` is its own work. A difference of two readings of the isolate's
/// counter taken around the check counted the other's hash too (the second login waits for the
/// first one's hash before its own, `password::queue`).
#[test]
fn concurrent_failed_logins_each_count_only_their_own_hashing() {
    use edge_auth::app::mail::Outbox;
    use futures::future::join;
    use std::rc::Rc;

    let (h, iterations) = sliced_hashing_harness();
    h.register("alice@example.com", PASSWORD);
    let yielding = |id: &str| {
        Ctx::new(id.into(), NOW_MS).with_pause(Rc::new(|| Box::pin(edge_auth::http::yield_once())))
    };
    let login = |email: &str, password: &str| {
        ApiRequest::new("POST", "/auth/login")
            .json(&json!({ "email": email, "password": password }))
    };
    let (wrong, unknown) = (yielding("wrong"), yielding("unknown"));
    let outbox = Outbox::default();
    let cache = h.session_cache();
    let app = h.app(&outbox, &cache);
    let (a, b) = block_on(join(
        app.handle(login("alice@example.com", "wrong password!"), &wrong),
        app.handle(login("ghost@example.com", PASSWORD), &unknown),
    ));
    assert_eq!((a.status, b.status), (401, 401));
    for (ctx, reason) in [(&wrong, "wrong_password"), (&unknown, "unknown_email")] {
        let failed: Vec<serde_json::Value> = ctx
            .take_lines()
            .iter()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|e| e["event"] == "login_failed")
            .collect();
        assert_eq!(failed.len(), 1, "{reason}");
        assert_eq!(failed[0]["reason"], reason);
        assert_eq!(failed[0]["hash_iterations"], iterations, "{reason}");
    }
}

#[test]
fn a_session_is_not_created_when_the_password_changed_while_the_login_hashed() {
    let h = Harness::new();
    h.register("alice@example.com", PASSWORD);
    let user = h.users.get("alice@example.com").unwrap();
    let session = |version: i64| NewSession {
        id: "s1".into(),
        user_id: user.id.clone(),
        refresh_hash: "0".repeat(64),
        created_at: "2026-01-01T00:00:00.000Z".into(),
        expires_at_ms: NOW_MS + 1_000,
        user_agent: None,
        amr: Amr::password(),
        password_version: version,
        clear_attempts_of: None,
        keep_at_most: 10,
        now_ms: NOW_MS,
        audit: Audit::none(),
        attempt_event: None,
    };
    // The login read version `v`; a change commits (v + 1) before the session is written.
    let read = user.password_version;
    let phc = PasswordHash::create("a newer password", ITERATIONS)
        .unwrap()
        .to_phc();
    let change = PasswordChange {
        user_id: &user.id,
        phc: &phc,
        updated_at: "2026-01-01T00:00:00.000Z",
        keep_session: None,
        reason: "password_changed",
        now_ms: NOW_MS,
        audit: &Audit::none(),
    };
    assert!(block_on(h.users.replace_password(&change, read))
        .unwrap()
        .is_some());
    assert_eq!(
        block_on(h.sessions.create_session(&session(read))).unwrap(),
        None
    );
    assert_eq!(
        block_on(h.sessions.create_session(&session(read + 1))).unwrap(),
        Some(vec![])
    );
}

#[test]
fn an_unreadable_user_row_fails_the_login_and_never_opens_the_breaker() {
    let h = Harness::new();
    let hash = PasswordHash::create(PASSWORD, ITERATIONS).unwrap().to_phc();
    h.users.put_row(UserRow {
        id: "not-a-uuid".into(),
        email: "bad@example.com".into(),
        password_hash: hash,
        password_version: 0.0,
        created_at: "2020-01-01T00:00:00.000Z".into(),
        email_verified: 0.0,
    });
    for _ in 0..5 {
        let r = h.login("bad@example.com", PASSWORD);
        assert_problem(&r, 401, "invalid_credentials");
    }
    assert_eq!(h.events("stored_row_invalid").len(), 5);
    assert!(h
        .events("login_failed")
        .iter()
        .all(|e| e["reason"] == "stored_row_invalid" && e["hash_iterations"] == ITERATIONS));
    assert!(h.events("storage_failure").is_empty());
    assert!(matches!(
        *h.breaker.state.borrow(),
        None | Some(BreakerState::Closed { failures: 0, .. })
    ));
    // Everyone else carries on.
    assert_eq!(h.register("other@example.com", PASSWORD).status, 201);
    assert_eq!(h.login("other@example.com", PASSWORD).status, 200);
}
