//! `/health`, the circuit breaker around the database, and what a storage failure looks like,
//! natively over the SQLite store.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::*;
use edge_auth::http::ApiRequest;
use edge_auth::limits::breaker::BreakerState;
use serde_json::{json, Value};

#[test]
fn health_reports_database_and_breaker() {
    let h = Harness::new();
    let r = h.send(ApiRequest::new("GET", "/health"));
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body_json(),
        json!({"status": "ok", "checks": {"database": "ok", "breaker": "closed"}})
    );
    assert_eq!(r.get_header("cache-control"), Some("no-store"));
}

#[test]
fn a_good_health_check_is_given_again_without_io_until_a_storage_failure() {
    let h = Harness::new();
    let health = |now_ms| h.send_at(ApiRequest::new("GET", "/health"), now_ms);
    let calls = h.users.calls.get();
    assert_eq!(health(NOW_MS).status, 200);
    assert_eq!(h.users.calls.get(), calls + 1);
    // Within HEALTH_CHECK_TTL (5 s): the same answer, no database (nor KV) call.
    for i in 1..10 {
        assert_eq!(health(NOW_MS + i * 400).status, 200);
    }
    assert_eq!(h.users.calls.get(), calls + 1);
    assert_eq!(health(NOW_MS + 5_000).status, 200);
    assert_eq!(h.users.calls.get(), calls + 2);
    // A failure seen by any request of this isolate drops it: the next check asks, and fails.
    h.users.fail.set(true);
    assert_problem(
        &h.login("alice@example.com", PASSWORD),
        503,
        "service_unavailable",
    );
    let r = health(NOW_MS + 5_001);
    assert_eq!(r.status, 503);
    assert_eq!(r.body_json()["checks"]["database"], "failing");
    // HEALTH_CHECK_TTL=0 asks every time.
    let strict = Harness::with_config(config_with(&[("HEALTH_CHECK_TTL", "0")]));
    let calls = strict.users.calls.get();
    for _ in 0..3 {
        assert_eq!(strict.send(ApiRequest::new("GET", "/health")).status, 200);
    }
    assert_eq!(strict.users.calls.get(), calls + 3);
}

#[test]
fn breaker_opens_after_repeated_failures_and_recovers_after_cooldown() {
    let h = Harness::new();
    h.register("alice@example.com", PASSWORD);
    h.users.fail.set(true);
    for i in 0..5 {
        let r = h.login("alice@example.com", PASSWORD);
        assert_problem(&r, 503, "service_unavailable");
        assert!(r.get_header("retry-after").is_some(), "attempt {i}");
    }
    assert!(matches!(
        *h.breaker.state.borrow(),
        Some(BreakerState::Open { .. })
    ));
    // Open: refused without touching the database.
    let calls = h.users.calls.get();
    let r = h.login("alice@example.com", PASSWORD);
    assert_problem(&r, 503, "service_unavailable");
    assert_eq!(r.get_header("retry-after"), Some("30"));
    assert_eq!(h.users.calls.get(), calls, "the database was not called");
    let health = h.send(ApiRequest::new("GET", "/health"));
    assert_eq!(health.status, 503);
    assert_eq!(
        health.body_json()["checks"],
        json!({"database": "unchecked", "breaker": "open"})
    );
    // Token checks that need no database keep working.
    assert_eq!(
        h.send(ApiRequest::new("GET", "/.well-known/jwks.json"))
            .status,
        200
    );

    // After the cooldown one trial goes through; the database is healthy again, so it closes.
    h.users.fail.set(false);
    let later = NOW_MS + 31_000;
    let r = h.send_at(
        ApiRequest::new("POST", "/auth/login")
            .json(&json!({"email": "alice@example.com", "password": PASSWORD})),
        later,
    );
    assert_eq!(r.status, 200);
    let health = h.send_at(ApiRequest::new("GET", "/health"), later);
    assert_eq!(health.body_json()["checks"]["breaker"], "closed");
    let changes: Vec<(Value, Value)> = h
        .events("breaker_state_changed")
        .iter()
        .map(|e| (e["from"].clone(), e["to"].clone()))
        .collect();
    assert_eq!(
        changes,
        [
            (json!("closed"), json!("open")),
            (json!("open"), json!("half_open")),
            (json!("half_open"), json!("closed"))
        ]
    );
}

#[test]
fn a_failed_trial_reopens_the_breaker() {
    let h = Harness::new();
    h.users.fail.set(true);
    for _ in 0..5 {
        h.send(ApiRequest::new("GET", "/health"));
    }
    let later = NOW_MS + 31_000;
    let r = h.send_at(ApiRequest::new("GET", "/health"), later);
    assert_eq!(r.status, 503);
    assert!(matches!(
        *h.breaker.state.borrow(),
        Some(BreakerState::Open { opened_at }) if opened_at == later / 1000
    ));
}

#[test]
fn kv_failure_neither_opens_the_gate_nor_locks_users_out() {
    let h = Harness::new();
    h.register("alice@example.com", PASSWORD);
    h.breaker.fail.set(true);
    assert_problem(
        &h.login("alice@example.com", "wrong password!"),
        401,
        "invalid_credentials",
    );
    assert_eq!(h.login("alice@example.com", PASSWORD).status, 200);
    assert!(!h.events("breaker_store_unavailable").is_empty());
}

#[test]
fn a_storage_failure_is_503_and_never_leaks_its_message() {
    let h = Harness::new();
    h.users.fail.set(true);
    let r = h.register("alice@example.com", PASSWORD);
    assert_problem(&r, 503, "service_unavailable");
    assert!(!String::from_utf8_lossy(&r.body).contains("injected"));
    assert_eq!(h.events("storage_failure").len(), 1);
}
