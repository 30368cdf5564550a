//! A login's second step: `403 mfa_required`, then `/auth/mfa/verify` with the `mfa_token`.

use crate::common::{assert_problem, config_with, error_fields, Harness, NOW_MS, PASSWORD};
use crate::{amr_of, code, enrolled, harness, mfa_token, post, verify_at, ALICE, KEY, STEP_MS};
use edge_auth::http::ApiRequest;
use serde_json::json;

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
