//! OAuth 2.0 token-endpoint conventions (RFC 6749) on `/auth/login` and `/auth/refresh`: the
//! password and refresh-token forms, `grant_type`, and the §5.2 `error` members on their errors.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::*;
use edge_auth::http::{ApiRequest, ApiResponse};
use serde_json::{json, Value};

const EMAIL: &str = "alice@example.com";

fn form(path: &str, body: &str) -> ApiRequest {
    ApiRequest::new("POST", path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.as_bytes().to_vec())
}

/// Percent-encodes every byte outside RFC 3986's unreserved set.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn harness_with_user() -> Harness {
    let h = Harness::new();
    assert_eq!(h.register(EMAIL, PASSWORD).status, 201);
    h
}

fn refresh_token(h: &Harness) -> String {
    let r = h.login(EMAIL, PASSWORD);
    assert_eq!(r.status, 200, "{}", r.body_json());
    r.body_json()["refresh_token"].as_str().unwrap().to_owned()
}

/// A token endpoint's error: problem details (status, `code`) plus RFC 6749 §5.2 members.
fn assert_oauth_error(r: &ApiResponse, status: u16, code: &str, error: &str) -> Value {
    assert_problem(r, status, code);
    let body = r.body_json();
    assert_eq!(body["error"], error, "{body}");
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.starts_with(body["detail"].as_str().unwrap()),
        "{body}"
    );
    assert!(description
        .chars()
        .all(|c| matches!(c, ' '..='~') && c != '"' && c != '\\'));
    body
}

#[test]
fn refresh_accepts_the_rfc_6749_refresh_form() {
    let h = harness_with_user();
    let old = refresh_token(&h);
    let r = h.send(form(
        "/auth/refresh",
        &format!("grant_type=refresh_token&refresh_token={}", enc(&old)),
    ));
    assert_eq!(r.status, 200, "{}", r.body_json());
    let pair = r.body_json();
    assert_eq!(pair["token_type"], "Bearer");
    assert_ne!(pair["refresh_token"].as_str().unwrap(), old);
    // The new pair works, as JSON and as a form without grant_type (it is optional).
    let next = pair["refresh_token"].as_str().unwrap();
    let r = h.send(form(
        "/auth/refresh",
        &format!("refresh_token={}", enc(next)),
    ));
    assert_eq!(r.status, 200, "{}", r.body_json());
    let next = r.body_json()["refresh_token"].as_str().unwrap().to_owned();
    let r = h.send(
        ApiRequest::new("POST", "/auth/refresh")
            .json(&json!({"grant_type": "refresh_token", "refresh_token": next})),
    );
    assert_eq!(r.status, 200, "{}", r.body_json());
    // The form spends the token like JSON does: presenting it again is reuse.
    let r = h.send(form(
        "/auth/refresh",
        &format!("grant_type=refresh_token&refresh_token={}", enc(&old)),
    ));
    assert_oauth_error(&r, 401, "invalid_grant", "invalid_grant");
}

#[test]
fn refresh_with_another_grant_type_is_unsupported_and_spends_nothing() {
    let h = harness_with_user();
    let token = refresh_token(&h);
    for grant in ["password", "authorization_code", "REFRESH_TOKEN"] {
        let r = h.send(form(
            "/auth/refresh",
            &format!("grant_type={grant}&refresh_token={}", enc(&token)),
        ));
        let body = assert_oauth_error(&r, 400, "unsupported_grant_type", "unsupported_grant_type");
        assert!(body["detail"]
            .as_str()
            .unwrap()
            .contains("grant_type=refresh_token"));
    }
    let r = h.send(
        ApiRequest::new("POST", "/auth/refresh")
            .json(&json!({"grant_type": "password", "refresh_token": token})),
    );
    assert_oauth_error(&r, 400, "unsupported_grant_type", "unsupported_grant_type");
    // Still unspent: the refused requests never reached the rotation.
    let r = h.send(form(
        "/auth/refresh",
        &format!("grant_type=refresh_token&refresh_token={}", enc(&token)),
    ));
    assert_eq!(r.status, 200, "{}", r.body_json());
}

#[test]
fn refresh_errors_carry_the_oauth_error_members() {
    let h = harness_with_user();
    let r = h.send(form(
        "/auth/refresh",
        "grant_type=refresh_token&refresh_token=not-a-token",
    ));
    assert_oauth_error(&r, 401, "invalid_grant", "invalid_grant");
    let r = h.send(form("/auth/refresh", "grant_type=refresh_token"));
    let body = assert_oauth_error(&r, 422, "validation_failed", "invalid_request");
    assert_eq!(body["errors"][0]["field"], "refresh_token");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("refresh_token is required."));
    let r = h.send(
        ApiRequest::new("POST", "/auth/refresh")
            .header("content-type", "text/plain")
            .body(b"refresh_token=x".to_vec()),
    );
    assert_oauth_error(&r, 400, "malformed_request", "invalid_request");
    let r = h.send(form("/auth/refresh", "refresh_token=%zz"));
    assert_oauth_error(&r, 400, "malformed_request", "invalid_request");
    let r = h.send(form("/auth/refresh", &"a".repeat(16 * 1024 + 1)));
    assert_oauth_error(&r, 413, "payload_too_large", "invalid_request");
    let r = h.send(
        ApiRequest::new("POST", "/auth/refresh")
            .json(&json!({"refresh_token": "x", "grant_type": 7})),
    );
    let body = assert_oauth_error(&r, 422, "validation_failed", "invalid_request");
    assert_eq!(body["errors"][0]["field"], "grant_type");
}

#[test]
fn login_accepts_the_password_grant_and_ignores_scope_and_client_id() {
    let h = harness_with_user();
    let r = h.send(
        form(
            "/auth/login",
            &format!(
                "grant_type=password&username={}&password={}&scope=profile+email&client_id=demo",
                enc(EMAIL),
                enc(PASSWORD)
            ),
        )
        // What a client with `client_secret_basic` adds; there is no client authentication.
        .header("authorization", "Basic ZGVtbzo="),
    );
    assert_eq!(r.status, 200, "{}", r.body_json());
    assert_eq!(r.body_json()["token_type"], "Bearer");
    let r = h.send(ApiRequest::new("POST", "/auth/login").json(
        &json!({"grant_type": "password", "email": EMAIL, "password": PASSWORD, "scope": "x"}),
    ));
    assert_eq!(r.status, 200, "{}", r.body_json());
}

#[test]
fn login_with_another_grant_type_is_unsupported_before_any_password_check() {
    let h = harness_with_user();
    for grant in ["client_credentials", "refresh_token", ""] {
        let r = h.send(form(
            "/auth/login",
            &format!(
                "grant_type={grant}&username={}&password=wrong+password",
                enc(EMAIL)
            ),
        ));
        let body = assert_oauth_error(&r, 400, "unsupported_grant_type", "unsupported_grant_type");
        assert!(body["detail"]
            .as_str()
            .unwrap()
            .contains("grant_type=password"));
    }
    assert!(
        h.events("login_failed").is_empty(),
        "nothing was counted as a failed login"
    );
}

#[test]
fn login_errors_carry_the_oauth_error_members() {
    let h = harness_with_user();
    let wrong = format!(
        "grant_type=password&username={}&password=nope-nope",
        enc(EMAIL)
    );
    let r = h.send(form("/auth/login", &wrong));
    assert_oauth_error(&r, 401, "invalid_credentials", "invalid_grant");
    let r = h.send(form(
        "/auth/login",
        "grant_type=password&username=x%40y.com",
    ));
    let body = assert_oauth_error(&r, 422, "validation_failed", "invalid_request");
    assert_eq!(body["errors"][0]["field"], "password");
    let r = h.send(ApiRequest::new("POST", "/auth/login").body(b"{}".to_vec()));
    assert_oauth_error(&r, 400, "malformed_request", "invalid_request");
    // Throttled: still `invalid_grant` for OAuth2 clients, with Retry-After and the 429 code.
    for _ in 0..4 {
        assert_eq!(h.send(form("/auth/login", &wrong)).status, 401);
    }
    let r = h.send(form("/auth/login", &wrong));
    assert_oauth_error(&r, 429, "too_many_attempts", "invalid_grant");
    assert!(r.get_header("retry-after").is_some());
}

#[test]
fn server_errors_and_other_endpoints_carry_no_oauth_members() {
    let h = harness_with_user();
    let token = refresh_token(&h);
    h.users.fail.set(true);
    let r = h.send(form(
        "/auth/refresh",
        &format!("grant_type=refresh_token&refresh_token={}", enc(&token)),
    ));
    assert_problem(&r, 503, "service_unavailable");
    assert!(r.body_json().get("error").is_none());
    let r = h.login(EMAIL, PASSWORD);
    assert_problem(&r, 503, "service_unavailable");
    assert!(r.body_json().get("error").is_none());
    h.users.fail.set(false);

    let r = h.me("not-a-token", NOW_MS);
    assert_problem(&r, 401, "invalid_token");
    assert!(r.body_json().get("error").is_none());
    let r = h.send(ApiRequest::new("POST", "/auth/logout").json(&json!({})));
    assert_problem(&r, 422, "validation_failed");
    assert!(r.body_json().get("error").is_none());
    // Logout stays JSON only (it is not a token endpoint).
    let r = h.send(form(
        "/auth/logout",
        &format!("refresh_token={}", enc(&token)),
    ));
    assert_problem(&r, 400, "malformed_request");
}
