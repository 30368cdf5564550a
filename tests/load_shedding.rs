//! Load shedding natively: at most `MAX_HASH_QUEUE` requests that hash per isolate (this test
//! thread's hash lock stands for the isolate's); one more answers `503 service_unavailable` with
//! `Retry-After: 1` at once, before its body is read and before any hash.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use common::*;
use edge_auth::app::mail::Outbox;
use edge_auth::http::{ApiRequest, ApiResponse, Ctx};
use edge_auth::password::queue;
use serde_json::json;

const ALICE: &str = "alice@example.com";

fn assert_shed(r: &ApiResponse, what: &str) {
    assert_eq!(r.status, 503, "{what}: {}", r.body_json());
    assert_problem(r, 503, "service_unavailable");
    assert_eq!(r.get_header("retry-after"), Some("1"), "{what}");
}

fn bearer(req: ApiRequest, token: &str) -> ApiRequest {
    req.header("authorization", &format!("Bearer {token}"))
}

#[test]
fn every_route_that_hashes_is_shed_past_the_bound_before_its_body_is_read() {
    let h = Harness::with_config(config_with(&[("MAX_HASH_QUEUE", "2")]));
    assert_eq!(h.register(ALICE, PASSWORD).status, 201);
    let pair = h.login(ALICE, PASSWORD).body_json();
    let (access, refresh) = (
        pair["access_token"].as_str().unwrap(),
        pair["refresh_token"].as_str().unwrap(),
    );
    // Two requests hash in this isolate (one hashing, one waiting its turn).
    let lock = queue::isolate_lock();
    let first = lock.admit(2, NOW_MS).unwrap();
    let second = lock.admit(2, NOW_MS).unwrap();
    // Each body would be refused if it were read (no or a too short password), or would hash
    // (an unknown email): each answers 503 instead.
    let shed = [
        (
            "register",
            ApiRequest::new("POST", "/auth/register")
                .json(&json!({"email": "bob@example.com", "password": "short"})),
        ),
        (
            "login",
            ApiRequest::new("POST", "/auth/login").json(&json!({"email": ALICE})),
        ),
        (
            "login of an unknown email",
            ApiRequest::new("POST", "/auth/login")
                .json(&json!({"email": "nobody@example.com", "password": PASSWORD})),
        ),
        (
            "login form",
            ApiRequest::new("POST", "/auth/login")
                .header("content-type", "application/x-www-form-urlencoded")
                .body("grant_type=password&username=alice%40example.com"),
        ),
        (
            "password change",
            bearer(ApiRequest::new("POST", "/auth/password/change"), access)
                .json(&json!({"new_password": "x"})),
        ),
        (
            "password reset",
            ApiRequest::new("POST", "/auth/password/reset").json(&json!({"token": "t"})),
        ),
        (
            "account deletion",
            bearer(ApiRequest::new("DELETE", "/auth/me"), access).json(&json!({})),
        ),
    ];
    for (what, req) in shed {
        assert_shed(&h.send(req), what);
    }
    assert!(
        h.events("login_failed").is_empty(),
        "{:?}",
        h.events("login_failed")
    );
    assert_eq!(h.events("hash_queue_full").len(), 7);
    assert_eq!(h.users.get("bob@example.com"), None);
    // The routes that do not hash are not held back.
    assert_eq!(h.me(access, NOW_MS).status, 200);
    let r =
        h.send(ApiRequest::new("POST", "/auth/refresh").json(&json!({"refresh_token": refresh})));
    assert_eq!(r.status, 200, "{}", r.body_json());
    // A place frees up: the next login is admitted and checked as usual.
    drop(first);
    assert_eq!(h.login(ALICE, PASSWORD).status, 200);
    assert_problem(
        &h.login(ALICE, "a wrong password!"),
        401,
        "invalid_credentials",
    );
    drop(second);
    assert_eq!(lock.admitted(), 0);
}

/// Pending once, then ready: the isolate runs the other requests in between.
fn yield_once() -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(edge_auth::http::yield_once())
}

#[test]
fn of_concurrent_logins_exactly_the_bound_are_admitted_and_the_rest_shed_at_once() {
    // Each hash runs in three slices, pausing in between; six logins arrive at once.
    let iterations = (3 * edge_auth::password::pbkdf2::DEFAULT_SLICE.get()).to_string();
    let keys = json!([jwk("k1", 7)]).to_string();
    let config = edge_auth::config::Config::from_lookup(|name| match name {
        "JWT_SIGNING_KEYS" => Some(keys.clone()),
        "PBKDF2_ITERATIONS" => Some(iterations.clone()),
        "MAX_HASH_QUEUE" => Some("2".into()),
        _ => None,
    })
    .unwrap();
    let h = Harness::with_config(config);
    let emails: Vec<String> = (0..6).map(|i| format!("user{i}@example.com")).collect();
    for email in &emails {
        assert_eq!(h.register(email, PASSWORD).status, 201);
    }
    let cache = h.session_cache();
    let outbox = Outbox::default();
    let app = h.app(&outbox, &cache);
    let contexts: Vec<Ctx> = (0..emails.len())
        .map(|i| Ctx::new(format!("login-{i}"), NOW_MS).with_pause(Rc::new(yield_once)))
        .collect();
    let mut logins: Vec<Pin<Box<dyn Future<Output = ApiResponse> + '_>>> = emails
        .iter()
        .zip(&contexts)
        .map(|(email, ctx)| {
            let req = ApiRequest::new("POST", "/auth/login")
                .json(&json!({"email": email, "password": PASSWORD}));
            Box::pin(app.handle(req, ctx)) as Pin<Box<dyn Future<Output = ApiResponse>>>
        })
        .collect();
    // The isolate's event loop: every pending request runs in turn until all have answered.
    let mut answers: Vec<Option<ApiResponse>> = (0..logins.len()).map(|_| None).collect();
    let mut cx = Context::from_waker(Waker::noop());
    while answers.iter().any(Option::is_none) {
        for (login, answer) in logins.iter_mut().zip(answers.iter_mut()) {
            if answer.is_none() {
                if let Poll::Ready(r) = login.as_mut().poll(&mut cx) {
                    *answer = Some(r);
                }
            }
        }
    }
    let answers: Vec<ApiResponse> = answers.into_iter().map(Option::unwrap).collect();
    let ok = answers.iter().filter(|r| r.status == 200).count();
    assert_eq!(
        ok,
        2,
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    // The first two to arrive: one hashed, one waited its turn; the four others were shed.
    assert_eq!((answers[0].status, answers[1].status), (200, 200));
    for r in &answers[2..] {
        assert_shed(r, "a login past the bound");
    }
    assert_eq!(queue::isolate_lock().admitted(), 0);
}
