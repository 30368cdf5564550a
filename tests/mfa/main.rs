//! Two-step verification through the whole router on the SQLite store: setup and confirm, the
//! login's `403 mfa_required` and `/auth/mfa/verify`, replay, the `mfa_token`'s single use and
//! its five wrong codes, recovery codes (normalization, single use, a new set), turning it off,
//! account deletion with a code, and a key rotation that re-seals a row when it is next used.
//! `tests/e2e/test_mfa.py` runs the parallel cases on workerd and D1. This file holds what the
//! topic files share: an enrolled account, the code of a step, a login's `mfa_token`.
#![cfg(not(target_arch = "wasm32"))]

mod audit;
#[path = "../common/mod.rs"]
mod common;
mod enrolment;
mod key_rotation;
mod login;
mod recovery_codes;

use common::*;
use edge_auth::app::mfa::crypto::RustCrypto;
use edge_auth::app::mfa::totp;
use edge_auth::http::{ApiRequest, ApiResponse};
use futures::executor::block_on;
use serde_json::{json, Value};

const ALICE: &str = "alice@example.com";
const KEY: &str = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA";
const NEW_KEY: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8";
const STEP_MS: i64 = 30_000;

fn harness() -> Harness {
    Harness::with_config(config_with(&[("MFA_ENCRYPTION_KEY", KEY)]))
}

fn post(path: &str, token: Option<&str>, body: Value) -> ApiRequest {
    let req = ApiRequest::new("POST", path).json(&body);
    match token {
        Some(t) => req.header("authorization", &format!("Bearer {t}")),
        None => req,
    }
}

fn delete(path: &str, token: &str, body: Value) -> ApiRequest {
    ApiRequest::new("DELETE", path)
        .json(&body)
        .header("authorization", &format!("Bearer {token}"))
}

fn base32_decode(text: &str) -> Vec<u8> {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut buffer, mut bits, mut out) = (0u32, 0u32, Vec::new());
    for c in text.bytes() {
        let v = alphabet.iter().position(|&a| a == c).unwrap() as u32;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    out
}

/// The code of `secret` (base32) at `now_ms`, as an authenticator app shows it.
fn code(secret: &str, now_ms: i64) -> String {
    let step = (now_ms / 1000) as u64 / totp::STEP_SECS;
    block_on(totp::code_at(
        &RustCrypto,
        &base32_decode(secret),
        step,
        totp::DIGITS,
    ))
    .unwrap()
}

/// Registers ALICE and turns two-step verification on at `NOW_MS`: her access token, the
/// secret and the recovery codes.
fn enrolled(h: &Harness) -> (String, String, Vec<String>) {
    assert_eq!(h.register(ALICE, PASSWORD).status, 201);
    let token = h.token(ALICE);
    let setup = h.send(post(
        "/auth/mfa/totp/setup",
        Some(&token),
        json!({"password": PASSWORD}),
    ));
    assert_eq!(setup.status, 200, "{}", setup.body_json());
    let secret = setup.body_json()["secret"].as_str().unwrap().to_owned();
    let confirm = h.send(post(
        "/auth/mfa/totp/confirm",
        Some(&token),
        json!({"code": code(&secret, NOW_MS)}),
    ));
    assert_eq!(confirm.status, 200, "{}", confirm.body_json());
    let codes = confirm.body_json()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (token, secret, codes)
}

/// A login's first half at `now_ms`: the `mfa_token` of its `403`.
fn mfa_token(h: &Harness, now_ms: i64) -> String {
    let r = h.login_at(ALICE, PASSWORD, now_ms);
    assert_problem(&r, 403, "mfa_required");
    r.body_json()["mfa_token"].as_str().unwrap().to_owned()
}

fn verify_at(h: &Harness, body: Value, now_ms: i64) -> ApiResponse {
    h.send_at(post("/auth/mfa/verify", None, body), now_ms)
}

/// The `amr` `/auth/verify` reads from an access token.
fn amr_of(h: &Harness, access_token: &str, now_ms: i64) -> Value {
    let r = h.send_at(
        post("/auth/verify", None, json!({"token": access_token})),
        now_ms,
    );
    assert_eq!(r.status, 200);
    r.body_json()["amr"].clone()
}
