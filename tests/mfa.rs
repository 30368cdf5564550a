//! Two-step verification through the whole router on the SQLite store: setup and confirm, the
//! login's `403 mfa_required` and `/auth/mfa/verify`, replay, the `mfa_token`'s single use and
//! its five wrong codes, recovery codes (normalization, single use, a new set), turning it off,
//! account deletion with a code, and a key rotation that re-seals a row when it is next used.
//! `tests/e2e/test_mfa.py` runs the parallel cases on workerd and D1.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::*;
use edge_auth::app::mfa::crypto::RustCrypto;
use edge_auth::app::mfa::secret_box;
use edge_auth::app::mfa::totp;
use edge_auth::config::MfaKey;
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

#[test]
fn setup_gives_the_secret_and_the_otpauth_uri_and_confirm_turns_it_on() {
    let h = harness();
    assert_eq!(h.register(ALICE, PASSWORD).status, 201);
    let other = h.token(ALICE);
    let token = h.token(ALICE);
    assert_eq!(h.me(&token, NOW_MS).body_json()["mfa_enabled"], false);
    let wrong = h.send(post(
        "/auth/mfa/totp/setup",
        Some(&token),
        json!({"password": "not it at all"}),
    ));
    assert_problem(&wrong, 401, "invalid_credentials");
    let setup = h.send(post(
        "/auth/mfa/totp/setup",
        Some(&token),
        json!({"password": PASSWORD}),
    ));
    assert_eq!(setup.status, 200);
    let body = setup.body_json();
    let secret = body["secret"].as_str().unwrap();
    assert_eq!(secret.len(), 32);
    assert_eq!(base32_decode(secret).len(), 20);
    assert_eq!(
        body["otpauth_uri"],
        format!(
            "otpauth://totp/edge-auth:alice%40example.com?secret={secret}&issuer=edge-auth\
             &algorithm=SHA1&digits=6&period=30"
        )
    );
    // Nothing is on yet: a login still opens a session.
    assert_eq!(h.login(ALICE, PASSWORD).status, 200);
    let bad = h.send(post(
        "/auth/mfa/totp/confirm",
        Some(&token),
        json!({"code": "000000"}),
    ));
    assert_problem(&bad, 401, "invalid_mfa_code");
    let confirm = h.send(post(
        "/auth/mfa/totp/confirm",
        Some(&token),
        json!({"code": code(secret, NOW_MS)}),
    ));
    assert_eq!(confirm.status, 200);
    let codes = confirm.body_json()["recovery_codes"].clone();
    assert_eq!(codes.as_array().unwrap().len(), 10);
    // Every other session ended; the caller's stays, and says it is on.
    assert_problem(&h.me(&other, NOW_MS), 401, "invalid_token");
    assert_eq!(h.me(&token, NOW_MS).body_json()["mfa_enabled"], true);
    assert_eq!(
        h.inbox(ALICE).last().unwrap().subject,
        "Two-step verification was turned on"
    );
    let again = h.send(post(
        "/auth/mfa/totp/setup",
        Some(&token),
        json!({"password": PASSWORD}),
    ));
    assert_problem(&again, 409, "mfa_already_enabled");
}

#[test]
fn a_login_asks_for_the_second_factor_and_verify_opens_the_session_once() {
    let h = harness();
    let (_, secret, _) = enrolled(&h);
    let r = h.login_at(ALICE, PASSWORD, NOW_MS + STEP_MS);
    assert_problem(&r, 403, "mfa_required");
    let body = r.body_json();
    assert_eq!(body["error"], "mfa_required");
    assert_eq!(body["mfa_methods"], json!(["totp", "recovery_code"]));
    let token = body["mfa_token"].as_str().unwrap();
    assert_eq!(token.len(), 43);
    // A wrong password still says nothing of the second factor.
    assert_problem(
        &h.login_at(ALICE, "not the password", NOW_MS),
        401,
        "invalid_credentials",
    );
    let at = NOW_MS + STEP_MS;
    let ok = verify_at(
        &h,
        json!({"mfa_token": token, "code": code(&secret, at)}),
        at,
    );
    assert_eq!(ok.status, 200, "{}", ok.body_json());
    let pair = ok.body_json();
    assert_eq!(
        amr_of(&h, pair["access_token"].as_str().unwrap(), at),
        json!(["pwd", "otp", "mfa"])
    );
    // The refreshed pair keeps how the session was opened.
    let refreshed = h.send_at(
        post(
            "/auth/refresh",
            None,
            json!({"refresh_token": pair["refresh_token"]}),
        ),
        at,
    );
    assert_eq!(refreshed.status, 200);
    assert_eq!(
        amr_of(
            &h,
            refreshed.body_json()["access_token"].as_str().unwrap(),
            at
        ),
        json!(["pwd", "otp", "mfa"])
    );
    // Used once.
    let again = verify_at(
        &h,
        json!({"mfa_token": token, "code": code(&secret, at + STEP_MS)}),
        at + STEP_MS,
    );
    assert_problem(&again, 401, "invalid_mfa_token");
}

#[test]
fn a_step_once_accepted_is_refused_again_even_after_re_enrolment() {
    let h = harness();
    let (token, secret, codes) = enrolled(&h);
    // The confirming code's step is spent.
    let t = mfa_token(&h, NOW_MS);
    let replay = verify_at(
        &h,
        json!({"mfa_token": t, "code": code(&secret, NOW_MS)}),
        NOW_MS,
    );
    assert_problem(&replay, 401, "invalid_mfa_code");
    // Off, then on again with a new secret: a step at or before the last one is still refused.
    let off = h.send(delete(
        "/auth/mfa/totp",
        &token,
        json!({"password": PASSWORD, "code": codes[0]}),
    ));
    assert_eq!(off.status, 204, "{}", off.body_json());
    assert_eq!(h.me(&token, NOW_MS).body_json()["mfa_enabled"], false);
    let setup = h.send(post(
        "/auth/mfa/totp/setup",
        Some(&token),
        json!({"password": PASSWORD}),
    ));
    let secret = setup.body_json()["secret"].as_str().unwrap().to_owned();
    let stale = h.send(post(
        "/auth/mfa/totp/confirm",
        Some(&token),
        json!({"code": code(&secret, NOW_MS)}),
    ));
    assert_problem(&stale, 401, "invalid_mfa_code");
    let next = h.send_at(
        post(
            "/auth/mfa/totp/confirm",
            Some(&token),
            json!({"code": code(&secret, NOW_MS + STEP_MS)}),
        ),
        NOW_MS + STEP_MS,
    );
    assert_eq!(next.status, 200);
}

#[test]
fn recovery_codes_ignore_case_spaces_and_dashes_and_work_once() {
    let h = harness();
    let (_, _, codes) = enrolled(&h);
    let typed = codes[3].replace('-', " ").to_uppercase();
    let t = mfa_token(&h, NOW_MS);
    let ok = verify_at(&h, json!({"mfa_token": t, "recovery_code": typed}), NOW_MS);
    assert_eq!(ok.status, 200, "{}", ok.body_json());
    assert_eq!(
        amr_of(&h, ok.body_json()["access_token"].as_str().unwrap(), NOW_MS),
        json!(["pwd", "mfa"])
    );
    let mail = h.inbox(ALICE).last().unwrap().clone();
    assert_eq!(mail.subject, "A recovery code was used");
    assert!(mail.text.contains("(9 left)"), "{}", mail.text);
    let t = mfa_token(&h, NOW_MS);
    let spent = verify_at(
        &h,
        json!({"mfa_token": t, "recovery_code": codes[3]}),
        NOW_MS,
    );
    assert_problem(&spent, 401, "invalid_mfa_code");
}

#[test]
fn a_verify_body_has_the_token_and_exactly_one_factor() {
    let h = harness();
    let (_, _, codes) = enrolled(&h);
    let t = mfa_token(&h, NOW_MS);
    for (body, fields) in [
        (json!({"mfa_token": t}), vec!["code"]),
        (
            json!({"mfa_token": t, "code": "123456", "recovery_code": codes[0]}),
            vec!["recovery_code"],
        ),
        (json!({"mfa_token": t, "code": ""}), vec!["code"]),
        (json!({}), vec!["mfa_token", "code"]),
    ] {
        let r = verify_at(&h, body, NOW_MS);
        assert_problem(&r, 422, "validation_failed");
        let got: Vec<String> = error_fields(&r).into_iter().map(|(f, _)| f).collect();
        assert_eq!(got, fields);
    }
    let unknown = verify_at(
        &h,
        json!({"mfa_token": "x".repeat(43), "code": "123456"}),
        NOW_MS,
    );
    assert_problem(&unknown, 401, "invalid_mfa_token");
}

#[test]
fn five_wrong_codes_kill_the_token_whatever_the_throttle_allows() {
    let h = Harness::with_config(config_with(&[
        ("MFA_ENCRYPTION_KEY", KEY),
        ("LOGIN_MAX_FAILURES", "50"),
    ]));
    let (_, secret, _) = enrolled(&h);
    let t = mfa_token(&h, NOW_MS);
    for _ in 0..5 {
        let r = verify_at(&h, json!({"mfa_token": t, "code": "000000"}), NOW_MS);
        assert_problem(&r, 401, "invalid_mfa_code");
    }
    let right = code(&secret, NOW_MS + STEP_MS);
    let dead = verify_at(&h, json!({"mfa_token": t, "code": right}), NOW_MS);
    assert_problem(&dead, 401, "invalid_mfa_token");
}

#[test]
fn wrong_codes_are_failed_logins_and_the_throttle_refuses_even_a_right_code() {
    let h = harness();
    let (_, secret, _) = enrolled(&h);
    // The login's right password stays counted until the second factor is right too.
    let t = mfa_token(&h, NOW_MS);
    for _ in 0..4 {
        let r = verify_at(&h, json!({"mfa_token": t, "code": "000000"}), NOW_MS);
        assert_problem(&r, 401, "invalid_mfa_code");
    }
    let right = code(&secret, NOW_MS + STEP_MS);
    let throttled = verify_at(&h, json!({"mfa_token": t, "code": right}), NOW_MS);
    assert_problem(&throttled, 429, "too_many_attempts");
    assert!(throttled.get_header("retry-after").is_some());
    assert_eq!(h.events("login_failed").len(), 4);
}

#[test]
fn a_password_change_kills_a_pending_mfa_token() {
    let h = harness();
    let (token, secret, _) = enrolled(&h);
    let t = mfa_token(&h, NOW_MS);
    let changed = h.send(post(
        "/auth/password/change",
        Some(&token),
        json!({"current_password": PASSWORD, "new_password": "a brand new passphrase"}),
    ));
    assert_eq!(changed.status, 204);
    let at = NOW_MS + STEP_MS;
    let r = verify_at(&h, json!({"mfa_token": t, "code": code(&secret, at)}), at);
    assert_problem(&r, 401, "invalid_mfa_token");
}

#[test]
fn new_recovery_codes_need_a_totp_code_and_void_the_old_set() {
    let h = harness();
    let (token, secret, codes) = enrolled(&h);
    let at = NOW_MS + STEP_MS;
    let r = h.send_at(
        post(
            "/auth/mfa/recovery-codes",
            Some(&token),
            json!({"code": codes[0]}),
        ),
        at,
    );
    assert_problem(&r, 401, "invalid_mfa_code");
    let r = h.send_at(
        post(
            "/auth/mfa/recovery-codes",
            Some(&token),
            json!({"code": code(&secret, at)}),
        ),
        at,
    );
    assert_eq!(r.status, 200);
    let fresh = r.body_json()["recovery_codes"].clone();
    assert_eq!(fresh.as_array().unwrap().len(), 10);
    let t = mfa_token(&h, at);
    let old = verify_at(&h, json!({"mfa_token": t, "recovery_code": codes[1]}), at);
    assert_problem(&old, 401, "invalid_mfa_code");
    let new = verify_at(&h, json!({"mfa_token": t, "recovery_code": fresh[0]}), at);
    assert_eq!(new.status, 200);
}

#[test]
fn turning_it_off_needs_the_password_then_a_code_and_says_so_by_mail() {
    let h = harness();
    let (token, secret, _) = enrolled(&h);
    let at = NOW_MS + STEP_MS;
    let wrong_password = h.send_at(
        delete(
            "/auth/mfa/totp",
            &token,
            json!({"password": "nope nope nope", "code": code(&secret, at)}),
        ),
        at,
    );
    assert_problem(&wrong_password, 401, "invalid_credentials");
    // The code sent with the wrong password was not spent.
    let off = h.send_at(
        delete(
            "/auth/mfa/totp",
            &token,
            json!({"password": PASSWORD, "code": code(&secret, at)}),
        ),
        at,
    );
    assert_eq!(off.status, 204);
    assert_eq!(
        h.inbox(ALICE).last().unwrap().subject,
        "Two-step verification was turned off"
    );
    assert_eq!(h.login(ALICE, PASSWORD).status, 200);
    let again = h.send_at(
        delete(
            "/auth/mfa/totp",
            &token,
            json!({"password": PASSWORD, "code": "123456"}),
        ),
        at,
    );
    assert_problem(&again, 409, "mfa_not_enabled");
    let confirm = h.send(post(
        "/auth/mfa/totp/confirm",
        Some(&token),
        json!({"code": "123456"}),
    ));
    assert_problem(&confirm, 409, "mfa_not_enabled");
}

#[test]
fn deleting_the_account_asks_for_a_code_while_it_is_on() {
    let h = harness();
    let (token, _, codes) = enrolled(&h);
    let missing = h.send(delete("/auth/me", &token, json!({"password": PASSWORD})));
    assert_problem(&missing, 422, "validation_failed");
    assert_eq!(
        error_fields(&missing),
        vec![("code".into(), "required".into())]
    );
    let wrong = h.send(delete(
        "/auth/me",
        &token,
        json!({"password": PASSWORD, "code": "aaaaa-aaaaa"}),
    ));
    assert_problem(&wrong, 401, "invalid_mfa_code");
    let ok = h.send(delete(
        "/auth/me",
        &token,
        json!({"password": PASSWORD, "code": codes[0]}),
    ));
    assert_eq!(ok.status, 204);
}

#[test]
fn a_row_under_an_old_key_opens_and_is_resealed_under_the_new_key_when_next_used() {
    // The rotation procedure of docs/mfa.md: the new key becomes MFA_ENCRYPTION_KEY and the
    // old one moves to MFA_ENCRYPTION_OLD_KEYS, in one deployment.
    let h = harness();
    let (_, secret, _) = enrolled(&h);
    let sealed = || -> String {
        let user = h.users.get(ALICE).unwrap();
        block_on(edge_auth::store::MfaStore::totp_state(&*h.users, &user.id))
            .unwrap()
            .unwrap()
            .sealed_secret
            .unwrap()
    };
    let old_id = MfaKey::parse(KEY).unwrap().id().to_owned();
    let new_id = MfaKey::parse(NEW_KEY).unwrap().id().to_owned();
    assert_eq!(secret_box::key_id(&sealed()), Some(old_id.as_str()));
    let rotated = h.elsewhere(config_with(&[
        ("MFA_ENCRYPTION_KEY", NEW_KEY),
        ("MFA_ENCRYPTION_OLD_KEYS", KEY),
    ]));
    let at = NOW_MS + STEP_MS;
    let r = rotated.login_at(ALICE, PASSWORD, at);
    assert_problem(&r, 403, "mfa_required");
    let t = r.body_json()["mfa_token"].as_str().unwrap().to_owned();
    let ok = verify_at(
        &rotated,
        json!({"mfa_token": t, "code": code(&secret, at)}),
        at,
    );
    assert_eq!(ok.status, 200, "{}", ok.body_json());
    assert_eq!(secret_box::key_id(&sealed()), Some(new_id.as_str()));
    // With the old key removed, the row still opens: it was moved.
    let only_new = h.elsewhere(config_with(&[("MFA_ENCRYPTION_KEY", NEW_KEY)]));
    let at = at + STEP_MS;
    let r = only_new.login_at(ALICE, PASSWORD, at);
    let t = r.body_json()["mfa_token"].as_str().unwrap().to_owned();
    let ok = verify_at(
        &only_new,
        json!({"mfa_token": t, "code": code(&secret, at)}),
        at,
    );
    assert_eq!(ok.status, 200, "{}", ok.body_json());
}

#[test]
fn no_log_line_holds_a_secret_a_code_or_a_token() {
    let h = harness();
    let (_, secret, codes) = enrolled(&h);
    let t = mfa_token(&h, NOW_MS);
    let at = NOW_MS + STEP_MS;
    let typed = code(&secret, at);
    verify_at(&h, json!({"mfa_token": t, "code": "000000"}), at);
    verify_at(&h, json!({"mfa_token": t, "code": typed}), at);
    let logs = serde_json::to_string(&*h.logs.borrow()).unwrap();
    for needle in [secret.as_str(), t.as_str(), typed.as_str(), "otpauth"]
        .into_iter()
        .chain(codes.iter().map(String::as_str))
    {
        assert!(!logs.contains(needle), "a log line holds {needle:?}");
    }
}

/// The audit trail's event types, oldest first.
fn event_types(h: &Harness) -> Vec<String> {
    h.users.with_conn(|c| {
        let mut stmt = c.prepare("SELECT type FROM audit_events ORDER BY id")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        rows.collect()
    })
}

/// The event types written since the trail had `before` events.
fn events_since(h: &Harness, before: usize) -> Vec<String> {
    event_types(h).split_off(before)
}

#[test]
fn each_two_step_change_records_its_event_and_a_right_code_leaves_no_failure() {
    let h = harness();
    let (token, secret, codes) = enrolled(&h);
    // The setup's password check withdrew its provisional failure; a wrong confirm code
    // records nothing.
    let bad = h.send(post(
        "/auth/mfa/totp/confirm",
        Some(&token),
        json!({"code": "000000"}),
    ));
    assert_problem(&bad, 409, "mfa_already_enabled");
    assert_eq!(
        event_types(&h),
        ["user_registered", "login_succeeded", "mfa_enabled"]
    );

    // The login's first half: the password was right, so no `login_failed` stays.
    let at = NOW_MS + STEP_MS;
    let mut seen = event_types(&h).len();
    let t = mfa_token(&h, at);
    assert_eq!(events_since(&h, seen), ["mfa_required"]);
    seen += 1;
    let wrong = verify_at(&h, json!({"mfa_token": t, "code": "000000"}), at);
    assert_problem(&wrong, 401, "invalid_mfa_code");
    assert_eq!(events_since(&h, seen), ["mfa_failed"]);
    seen += 1;
    let right = verify_at(&h, json!({"mfa_token": t, "code": code(&secret, at)}), at);
    assert_eq!(right.status, 200, "{}", right.body_json());
    assert_eq!(events_since(&h, seen), ["login_succeeded"]);
    seen += 1;

    // A recovery code at verify.
    let t = mfa_token(&h, at);
    let by_code = verify_at(&h, json!({"mfa_token": t, "recovery_code": codes[0]}), at);
    assert_eq!(by_code.status, 200, "{}", by_code.body_json());
    assert_eq!(
        events_since(&h, seen),
        ["mfa_required", "recovery_code_used", "login_succeeded"]
    );
    seen += 3;

    // New recovery codes: a wrong code is `mfa_failed`, a right one records no failure.
    let regenerate = |c: &str, now_ms: i64| {
        h.send_at(
            post("/auth/mfa/recovery-codes", Some(&token), json!({"code": c})),
            now_ms,
        )
    };
    let later = at + STEP_MS;
    assert_problem(&regenerate("000000", later), 401, "invalid_mfa_code");
    assert_eq!(events_since(&h, seen), ["mfa_failed"]);
    seen += 1;
    let fresh = regenerate(&code(&secret, later), later);
    assert_eq!(fresh.status, 200, "{}", fresh.body_json());
    assert_eq!(events_since(&h, seen), Vec::<String>::new());
    let fresh: Vec<String> = fresh.body_json()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();

    // Turning it off: a wrong code, then a recovery code (spent once), then it is off.
    let off = |c: &str| {
        h.send_at(
            delete(
                "/auth/mfa/totp",
                &token,
                json!({"password": PASSWORD, "code": c}),
            ),
            later,
        )
    };
    assert_problem(&off("aaaaa-aaaaa"), 401, "invalid_mfa_code");
    assert_eq!(events_since(&h, seen), ["mfa_failed"]);
    seen += 1;
    assert_eq!(off(&fresh[0]).status, 204);
    assert_eq!(
        events_since(&h, seen),
        ["recovery_code_used", "mfa_disabled"]
    );
}

#[test]
fn a_spent_recovery_code_records_no_second_use() {
    let h = harness();
    let (_, _, codes) = enrolled(&h);
    let at = NOW_MS + STEP_MS;
    let t = mfa_token(&h, at);
    let first = verify_at(&h, json!({"mfa_token": t, "recovery_code": codes[1]}), at);
    assert_eq!(first.status, 200);
    let seen = event_types(&h).len();
    let t = mfa_token(&h, at);
    let again = verify_at(&h, json!({"mfa_token": t, "recovery_code": codes[1]}), at);
    assert_problem(&again, 401, "invalid_mfa_code");
    assert_eq!(events_since(&h, seen), ["mfa_required", "mfa_failed"]);
}

#[test]
fn disabling_the_account_kills_its_pending_mfa_token() {
    const ADMIN_KEY: &str = "an-admin-key-of-at-least-32-characters!";
    let h = Harness::with_config(config_with(&[
        ("MFA_ENCRYPTION_KEY", KEY),
        ("ADMIN_API_KEY", ADMIN_KEY),
    ]));
    let (_, secret, _) = enrolled(&h);
    let at = NOW_MS + STEP_MS;
    let t = mfa_token(&h, at);
    let id = h.users.get(ALICE).unwrap().id.to_string();
    let patch = h.send(
        ApiRequest::new("PATCH", &format!("/admin/users/{id}"))
            .header("authorization", &format!("Bearer {ADMIN_KEY}"))
            .json(&json!({"disabled": true})),
    );
    assert_eq!(patch.status, 200);
    let late = verify_at(&h, json!({"mfa_token": t, "code": code(&secret, at)}), at);
    assert_problem(&late, 401, "invalid_mfa_token");
    // A new login of the disabled account stops before the second factor.
    assert_problem(&h.login_at(ALICE, PASSWORD, at), 403, "account_disabled");
}
