//! Hardening natively: login throttling and the audit trail.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::*;
use edge_auth::http::ApiRequest;
use serde_json::{json, Value};

#[test]
fn five_failures_throttle_the_account_even_with_the_right_password() {
    let h = Harness::new();
    h.register("alice@example.com", PASSWORD);
    for i in 0..5 {
        let r = h.login_at("alice@example.com", "wrong password!", NOW_MS + i * 1_000);
        assert_problem(&r, 401, "invalid_credentials");
    }
    let r = h.login_at("ALICE@example.com", PASSWORD, NOW_MS + 60_000);
    assert_problem(&r, 429, "too_many_attempts");
    // The window started at the first failure: 15 min minus the minute that has passed.
    assert_eq!(r.get_header("retry-after"), Some("840"));
    // Once the window has passed, the right password works again.
    let later = NOW_MS + 15 * 60_000;
    assert_eq!(h.login_at("alice@example.com", PASSWORD, later).status, 200);
}

#[test]
fn a_success_resets_the_count() {
    let h = Harness::new();
    h.register("alice@example.com", PASSWORD);
    for _ in 0..4 {
        h.login_at("alice@example.com", "wrong password!", NOW_MS);
    }
    assert_eq!(
        h.login_at("alice@example.com", PASSWORD, NOW_MS).status,
        200
    );
    for _ in 0..4 {
        let r = h.login_at("alice@example.com", "wrong password!", NOW_MS);
        assert_problem(&r, 401, "invalid_credentials");
    }
    assert_eq!(
        h.login_at("alice@example.com", PASSWORD, NOW_MS).status,
        200
    );
}

#[test]
fn unknown_accounts_are_throttled_the_same_way_and_others_are_unaffected() {
    let h = Harness::new();
    h.register("bob@example.com", PASSWORD);
    for _ in 0..5 {
        h.login_at("ghost@example.com", PASSWORD, NOW_MS);
    }
    let r = h.login_at("Ghost@Example.com", PASSWORD, NOW_MS);
    assert_problem(&r, 429, "too_many_attempts");
    assert_eq!(h.login_at("bob@example.com", PASSWORD, NOW_MS).status, 200);
}

#[test]
fn limits_are_configurable() {
    let h = Harness::with_config(config_with(&[
        ("LOGIN_MAX_FAILURES", "2"),
        ("LOGIN_WINDOW", "60"),
    ]));
    h.register("alice@example.com", PASSWORD);
    h.login_at("alice@example.com", "wrong password!", NOW_MS);
    h.login_at("alice@example.com", "wrong password!", NOW_MS);
    let r = h.login_at("alice@example.com", PASSWORD, NOW_MS + 1_000);
    assert_problem(&r, 429, "too_many_attempts");
    assert_eq!(r.get_header("retry-after"), Some("59"));
    assert_eq!(
        h.login_at("alice@example.com", PASSWORD, NOW_MS + 60_000)
            .status,
        200
    );
}

#[test]
fn the_audit_trail_records_every_security_event_with_request_ids_and_no_secrets() {
    let h = Harness::with_config(config_with(&[("REFRESH_REUSE_GRACE", "0")]));
    let send = |req: ApiRequest, id: &str| h.send(req.header("x-request-id", id));
    send(
        ApiRequest::new("POST", "/auth/register")
            .json(&json!({"email": "audit@example.com", "password": PASSWORD})),
        "r-register",
    );
    let pair = send(
        ApiRequest::new("POST", "/auth/login")
            .json(&json!({"email": "audit@example.com", "password": PASSWORD})),
        "r-login",
    )
    .body_json();
    let refresh = pair["refresh_token"].as_str().unwrap();
    send(
        ApiRequest::new("POST", "/auth/refresh").json(&json!({ "refresh_token": refresh })),
        "r-refresh",
    );
    send(
        ApiRequest::new("POST", "/auth/refresh").json(&json!({ "refresh_token": refresh })),
        "r-reuse",
    );
    let pair = send(
        ApiRequest::new("POST", "/auth/login")
            .json(&json!({"email": "audit@example.com", "password": PASSWORD})),
        "r-login2",
    )
    .body_json();
    send(
        ApiRequest::new("POST", "/auth/logout")
            .json(&json!({ "refresh_token": pair["refresh_token"] })),
        "r-logout",
    );
    for i in 0..6 {
        send(
            ApiRequest::new("POST", "/auth/login")
                .json(&json!({"email": "audit@example.com", "password": "wrong password!"})),
            &format!("r-fail-{i}"),
        );
    }
    h.users.fail.set(true);
    for i in 0..5 {
        send(ApiRequest::new("GET", "/health"), &format!("r-down-{i}"));
    }

    let at = |event: &str, id: &str| h.events(event).iter().any(|e| e["request_id"] == id);
    assert!(at("user_registered", "r-register"));
    assert!(at("login_succeeded", "r-login"));
    assert!(at("refresh_succeeded", "r-refresh"));
    assert!(at("refresh_reuse_detected", "r-reuse"));
    assert!(at("logout", "r-logout"));
    assert!(at("login_failed", "r-fail-0"));
    assert!(at("login_throttled", "r-fail-5"));
    assert!(at("breaker_state_changed", "r-down-4"));

    let all: Vec<Value> = h.logs.borrow().clone();
    let text = serde_json::to_string(&all).unwrap();
    for secret in [
        PASSWORD,
        "wrong password!",
        refresh,
        pair["access_token"].as_str().unwrap(),
        pair["refresh_token"].as_str().unwrap(),
        "audit@example.com",
    ] {
        assert!(!text.contains(secret), "log leaked {secret}");
    }
}
