//! The structured log lines: no secret in any, the request line's fields (database calls and
//! the time spent on them), and the request headers the Worker hands to the core.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::*;
use edge_auth::http::{ApiRequest, Ctx};
use serde_json::{json, Value};
use std::rc::Rc;

#[test]
fn logs_never_contain_secrets_tokens_hashes_or_full_emails() {
    let h = Harness::new();
    h.register("secret.person@example.com", PASSWORD);
    let token = h.token("secret.person@example.com");
    h.login("secret.person@example.com", "wrong password!");
    h.me(&token, NOW_MS);
    let hash = h
        .users
        .get("secret.person@example.com")
        .unwrap()
        .password_hash;
    let all = serde_json::to_string(&*h.logs.borrow()).unwrap();
    for secret in [
        PASSWORD,
        "wrong password!",
        &token,
        &hash,
        "secret.person@example.com",
    ] {
        assert!(!all.contains(secret), "log leaked {secret}");
    }
    assert!(all.contains("s***@example.com"));
    assert!(h
        .logs
        .borrow()
        .iter()
        .all(|l| l["request_id"].is_string() && l["level"].is_string()));
}

/// The request line of each request, by its id.
fn request_line(h: &Harness, request_id: &str) -> Value {
    let lines: Vec<Value> = h
        .events("request")
        .into_iter()
        .filter(|l| l["request_id"] == request_id)
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "one request line for {request_id}: {lines:?}"
    );
    lines[0].clone()
}

#[test]
fn request_lines_count_database_calls_and_the_time_spent_awaiting_them() {
    let h = Harness::new();
    h.register("alice@example.com", PASSWORD);
    let token = h.token("alice@example.com");
    // Each call of the database takes 7 ms on this request's clock.
    let send = |request_id: &str, req: ApiRequest| {
        let db = h.users.clone();
        let before = i64::from(db.calls.get());
        let clock = move || NOW_MS + 7 * (i64::from(db.calls.get()) - before);
        h.send_with(
            req,
            Ctx::new(request_id.into(), NOW_MS).with_clock(Rc::new(clock)),
        )
    };
    let bearer = format!("Bearer {token}");
    assert_eq!(
        send("r-jwks", ApiRequest::new("GET", "/.well-known/jwks.json")).status,
        200
    );
    assert_eq!(
        send(
            "r-me",
            ApiRequest::new("GET", "/auth/me").header("authorization", &bearer)
        )
        .status,
        200
    );
    let login = ApiRequest::new("POST", "/auth/login")
        .json(&json!({"email": "alice@example.com", "password": PASSWORD}));
    assert_eq!(send("r-login", login).status, 200);

    let jwks = request_line(&h, "r-jwks");
    assert_eq!(
        (&jwks["db_calls"], &jwks["db_ms"]),
        (&json!(0), &json!(0)),
        "{jwks}"
    );
    let me = request_line(&h, "r-me");
    assert_eq!(
        (&me["db_calls"], &me["db_ms"]),
        (&json!(1), &json!(7)),
        "{me}"
    );
    assert_eq!(me["duration_ms"], 7, "{me}");
    let login = request_line(&h, "r-login");
    let calls = login["db_calls"].as_i64().unwrap();
    assert!(calls >= 2, "{login}");
    assert_eq!(login["db_ms"], 7 * calls, "{login}");

    // Without a running clock (the rest of the native tests) the field is there and reads 0.
    // (The device list: it always asks the database; /auth/me is now served from the cache.)
    h.send(
        ApiRequest::new("GET", "/auth/sessions")
            .header("authorization", &bearer)
            .header("x-request-id", "r-still"),
    );
    let still = request_line(&h, "r-still");
    assert_eq!(
        (&still["db_calls"], &still["db_ms"]),
        (&json!(2), &json!(0)),
        "{still}"
    );
}

/// The Worker copies only `REQUEST_HEADERS` into the core's request: every header the core reads
/// must be listed there, or it would silently read nothing on workerd.
#[test]
fn every_request_header_the_core_reads_is_copied_by_the_worker() {
    fn sources(dir: &std::path::Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(std::fs::read_to_string(path).unwrap());
            }
        }
    }
    let mut texts = Vec::new();
    sources(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut texts,
    );
    // Headers read from responses, not requests.
    let response_headers = ["cache-control"];
    let mut read = Vec::new();
    for text in &texts {
        for part in text.split("get_header(\"").skip(1) {
            let name = part.split('"').next().unwrap().to_owned();
            if !response_headers.contains(&name.as_str()) {
                read.push(name);
            }
        }
    }
    assert!(read.contains(&"authorization".to_owned()), "{read:?}");
    for name in read {
        assert!(
            edge_auth::http::REQUEST_HEADERS.contains(&name.as_str()),
            "the core reads `{name}`, which the Worker does not copy (http::REQUEST_HEADERS)"
        );
    }
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
