//! Helpers of the email tests: requests, and reading links and tokens from the fake inbox.

use edge_auth::app::mail::Mail;
use edge_auth::http::{ApiRequest, ApiResponse};
use serde_json::{json, Value};

use super::{Harness, NOW_MS, PASSWORD};

pub const NEW_PASSWORD: &str = "a brand new passphrase";
pub const ALICE: &str = "alice@example.com";

pub fn post(h: &Harness, path: &str, body: Value) -> ApiResponse {
    h.send(ApiRequest::new("POST", path).json(&body))
}

pub fn forgot(h: &Harness, email: &str) -> ApiResponse {
    post(h, "/auth/password/forgot", json!({ "email": email }))
}

pub fn reset_at(h: &Harness, token: &str, password: &str, now_ms: i64) -> ApiResponse {
    h.send_at(
        ApiRequest::new("POST", "/auth/password/reset")
            .json(&json!({"token": token, "new_password": password})),
        now_ms,
    )
}

pub fn reset(h: &Harness, token: &str, password: &str) -> ApiResponse {
    reset_at(h, token, password, NOW_MS)
}

pub fn verify(h: &Harness, token: &str) -> ApiResponse {
    post(h, "/auth/email/verify", json!({ "token": token }))
}

pub fn ask_verification(h: &Harness, access: &str) -> ApiResponse {
    h.send(
        ApiRequest::new("POST", "/auth/email/verification")
            .header("authorization", &format!("Bearer {access}")),
    )
}

/// The link in a mail's text, as a reader would copy it.
pub fn link(mail: &Mail) -> String {
    mail.text
        .split_whitespace()
        .find(|w| w.contains("?token="))
        .unwrap_or_else(|| panic!("no link in {:?}", mail.text))
        .to_owned()
}

pub fn token_of(link: &str) -> String {
    link.split_once("?token=").unwrap().1.to_owned()
}

/// The token of the last mail to `to` with this subject.
pub fn last_token(h: &Harness, to: &str, subject: &str) -> String {
    let mail = h
        .inbox(to)
        .into_iter()
        .rev()
        .find(|m| m.subject == subject)
        .unwrap_or_else(|| panic!("no {subject:?} mail to {to}"));
    token_of(&link(&mail))
}

pub fn reset_token(h: &Harness, to: &str) -> String {
    last_token(h, to, "Reset your password")
}

pub fn verification_token(h: &Harness, to: &str) -> String {
    last_token(h, to, "Verify your email address")
}

pub fn subjects(h: &Harness, to: &str) -> Vec<String> {
    h.inbox(to).into_iter().map(|m| m.subject).collect()
}

pub fn registered() -> Harness {
    let h = Harness::new();
    assert_eq!(h.register(ALICE, PASSWORD).status, 201);
    h
}
