//! Turning two-step verification on and off, and deleting the account while it is on.

use crate::common::{assert_problem, error_fields, NOW_MS, PASSWORD};
use crate::{
    base32_decode, code, delete, enrolled, harness, mfa_token, post, verify_at, ALICE, STEP_MS,
};
use serde_json::json;

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
