//! The defects an audit of the login core found, each pinned by a test that failed before its
//! fix: throttle reservations, bad rows and the breaker, the cost of every failed login, strict
//! reuse detection, absolute refresh expiry, the scheduled cleanup, and refusals that never ask
//! the database.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::*;
use edge_auth::app::cleanup::{self, BATCH, MAX_STATEMENTS};
use edge_auth::http::{ApiRequest, ApiResponse, Ctx};
use edge_auth::limits::breaker::BreakerState;
use edge_auth::limits::throttle::Attempts;
use edge_auth::password::PasswordHash;
use edge_auth::store::{
    EmailTokenRow, NewSession, PasswordChange, SessionStore, UserRow, UserStore,
};
use futures::executor::block_on;
use serde_json::json;

fn refresh_at(h: &Harness, token: &str, now_ms: i64) -> ApiResponse {
    h.send_at(
        ApiRequest::new("POST", "/auth/refresh").json(&json!({ "refresh_token": token })),
        now_ms,
    )
}

#[test]
fn at_most_the_limit_of_guesses_is_ever_hashed_and_the_rest_are_throttled() {
    let h = Harness::new();
    h.register("alice@example.com", PASSWORD);
    let mut statuses = Vec::new();
    for _ in 0..20 {
        statuses.push(h.login("alice@example.com", "wrong password!").status);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        15,
        "{statuses:?}"
    );
    // Only the five admitted attempts reached the hash.
    let hashed = h.events("login_failed");
    assert_eq!(hashed.len(), 5);
    assert!(hashed.iter().all(|e| e["hash_iterations"] == ITERATIONS));
    assert_eq!(h.events("login_throttled").len(), 15);
    assert_problem(
        &h.login("alice@example.com", PASSWORD),
        429,
        "too_many_attempts",
    );
}

#[test]
fn a_correct_login_clears_its_own_reservation() {
    let h = Harness::new();
    h.register("alice@example.com", PASSWORD);
    assert_eq!(h.login("alice@example.com", PASSWORD).status, 200);
    assert_eq!(h.users.attempts_of("alice@example.com"), None);
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

#[test]
fn an_unreadable_row_behind_a_session_is_a_500_that_never_counts_toward_the_breaker() {
    let h = Harness::new();
    h.register("alice@example.com", PASSWORD);
    let token = h.token("alice@example.com");
    let mut row = h.users.user_row("alice@example.com").unwrap();
    row.email = "no-at-sign".into();
    h.users.put_row(row);
    for _ in 0..6 {
        assert_problem(&h.me(&token, NOW_MS), 500, "internal_error");
    }
    assert!(h.events("storage_failure").is_empty());
    assert_eq!(h.events("stored_row_invalid").len(), 6);
    assert_eq!(h.register("bob@example.com", PASSWORD).status, 201);
    let body = h.send(ApiRequest::new("GET", "/health")).body_json();
    assert_eq!(body["checks"]["breaker"], "closed");
}

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

#[test]
fn a_zero_grace_revokes_on_reuse_even_when_the_spend_looks_later_than_now() {
    let h = Harness::with_config(config_with(&[("REFRESH_REUSE_GRACE", "0")]));
    h.register("alice@example.com", PASSWORD);
    let pair = h.login("alice@example.com", PASSWORD).body_json();
    let first = pair["refresh_token"].as_str().unwrap();
    // The winner's clock read later than the loser's: the spend is "in the future".
    let winner = refresh_at(&h, first, NOW_MS + 5_000);
    assert_eq!(winner.status, 200);
    assert_problem(&refresh_at(&h, first, NOW_MS + 1_000), 401, "invalid_grant");
    assert_eq!(h.events("refresh_reuse_detected").len(), 1);
    let newer = winner.body_json()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_problem(
        &refresh_at(&h, &newer, NOW_MS + 6_000),
        401,
        "invalid_grant",
    );
}

#[test]
fn refresh_expiry_is_absolute_from_login_not_sliding() {
    let h = Harness::with_config(config_with(&[("REFRESH_TOKEN_TTL", "300")]));
    h.register("alice@example.com", PASSWORD);
    let mut token = h.login("alice@example.com", PASSWORD).body_json()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Refreshing just before the end works, and does not push the end back.
    for at in [100_000, 299_000] {
        let r = refresh_at(&h, &token, NOW_MS + at);
        assert_eq!(r.status, 200, "at +{at} ms");
        token = r.body_json()["refresh_token"].as_str().unwrap().to_owned();
    }
    assert_problem(
        &refresh_at(&h, &token, NOW_MS + 300_000),
        401,
        "invalid_grant",
    );
}

#[test]
fn a_malformed_refresh_token_is_refused_before_the_database_is_asked() {
    let h = Harness::new();
    let before = h.users.calls.get();
    for bad in [
        "",
        "short",
        &"A".repeat(44),
        "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
    ] {
        assert_problem(&refresh_at(&h, bad, NOW_MS), 401, "invalid_grant");
    }
    assert_eq!(h.users.calls.get(), before);
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
        password_version: version,
        clear_attempts_of: None,
        keep_at_most: 10,
        now_ms: NOW_MS,
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
fn the_cleanup_removes_what_can_no_longer_matter_and_keeps_the_rest() {
    let h = Harness::new();
    let day = 24 * 3600 * 1000;
    h.register("alice@example.com", PASSWORD);
    // Three sessions: one live, one logged out a moment ago, one that expired long ago.
    let live = h.login("alice@example.com", PASSWORD).body_json();
    let out = h.login("alice@example.com", PASSWORD).body_json();
    let old = h.login("alice@example.com", PASSWORD).body_json();
    let spend = |pair: &serde_json::Value| {
        refresh_at(&h, pair["refresh_token"].as_str().unwrap(), NOW_MS + 1).body_json()
    };
    let live2 = spend(&live);
    let out2 = spend(&out);
    spend(&old);
    h.send_at(
        ApiRequest::new("POST", "/auth/logout")
            .json(&json!({"refresh_token": out2["refresh_token"]})),
        NOW_MS + 2,
    );
    let old_sid = h.events("login_succeeded").last().unwrap()["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    h.sessions.set_session_expiry(&old_sid, NOW_MS - 30 * day);
    h.users.put_attempts(
        "stale@example.com",
        Attempts {
            failures: 3,
            window_start_ms: NOW_MS - 2 * 900_000,
        },
    );
    h.users.put_attempts(
        "fresh@example.com",
        Attempts {
            failures: 3,
            window_start_ms: NOW_MS,
        },
    );
    let user_id = h.users.get("alice@example.com").unwrap().id.to_string();
    // Only the tokens below (not the verification token of the registration).
    h.users.clear_email_tokens();
    for (hash, expires, used) in [
        ("e1", NOW_MS - 1, None),
        ("e2", NOW_MS + day, Some(NOW_MS - 5)),
        ("e3", NOW_MS + day, None),
    ] {
        h.users.put_email_token(
            hash,
            EmailTokenRow {
                user_id: user_id.clone(),
                purpose: "password_reset".into(),
                expires_at_ms: expires,
                used_at_ms: used,
            },
        );
    }
    // users, attempts, sessions, spent tokens, email tokens
    assert_eq!(h.users.counts(), [1, 2, 3, 3, 3]);

    let ctx = Ctx::new("cron".into(), NOW_MS + 3);
    let report = block_on(cleanup::run(&*h.users, &h.config, &ctx));
    // The old session (past its expiry plus the 7-day retention) goes with its spent token; the
    // logged-out one stays (within the retention) but its spent token goes.
    assert_eq!(
        (
            report.sessions,
            report.spent_refresh_tokens,
            report.login_attempts,
            report.email_tokens
        ),
        (1, 1, 1, 2)
    );
    assert!(!report.incomplete);
    assert_eq!(h.users.counts(), [1, 1, 2, 1, 1]);
    assert!(h.users.attempts_of("fresh@example.com").is_some());
    // The live session still refreshes, and its reuse detection still works.
    assert_eq!(
        refresh_at(&h, live2["refresh_token"].as_str().unwrap(), NOW_MS + 4).status,
        200
    );
    let line = &h_events_of(&ctx, "cleanup")[0];
    assert_eq!(line["sessions"], 1);
}

fn h_events_of(ctx: &Ctx, name: &str) -> Vec<serde_json::Value> {
    ctx.take_lines()
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| l["event"] == name)
        .collect()
}

#[test]
fn the_cleanup_works_in_bounded_batches_and_the_next_run_carries_on() {
    let h = Harness::new();
    // The first round takes one statement per table; the four empty ones are then done, and
    // the rest of the run's statements go to the full one.
    let per_run = BATCH * (MAX_STATEMENTS - 4);
    let total = per_run + 123;
    for i in 0..total {
        h.users.put_attempts(
            &format!("u{i}@example.com"),
            Attempts {
                failures: 1,
                window_start_ms: 0,
            },
        );
    }
    let calls = h.users.calls.get();
    let first = block_on(cleanup::run(
        &*h.users,
        &h.config,
        &Ctx::new("a".into(), NOW_MS),
    ));
    assert_eq!(first.login_attempts, per_run);
    assert!(first.incomplete);
    // Bounded: MAX_STATEMENTS statements in all.
    assert_eq!(h.users.calls.get() - calls, MAX_STATEMENTS);
    let second = block_on(cleanup::run(
        &*h.users,
        &h.config,
        &Ctx::new("b".into(), NOW_MS),
    ));
    assert_eq!(second.login_attempts, 123);
    assert!(!second.incomplete);
    assert_eq!(h.users.counts()[1], 0);
}

#[test]
fn a_failing_cleanup_logs_and_stops() {
    let h = Harness::new();
    h.users.fail.set(true);
    let ctx = Ctx::new("c".into(), NOW_MS);
    let report = block_on(cleanup::run(&*h.users, &h.config, &ctx));
    assert!(report.incomplete);
    assert_eq!(h_events_of(&ctx, "cleanup_failed").len(), 1);
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

#[test]
fn a_right_password_on_an_unverified_account_never_runs_into_the_throttle() {
    let h = Harness::with_config(config_with(&[("REQUIRE_EMAIL_VERIFICATION", "true")]));
    h.register("alice@example.com", PASSWORD);
    for _ in 0..8 {
        assert_problem(
            &h.login("alice@example.com", PASSWORD),
            403,
            "email_not_verified",
        );
    }
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
