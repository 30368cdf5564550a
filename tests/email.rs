//! Password forgot/reset and address verification (contract v2), over the SQLite store,
//! with the queue and the mailer faked: each test reads its links from the inbox.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::email::*;
use common::*;
use edge_auth::http::ApiRequest;
use serde_json::{json, Value};

#[test]
fn forgot_needs_a_well_formed_email() {
    let h = Harness::new();
    let r = forgot(&h, "not an email");
    assert_problem(&r, 422, "validation_failed");
    assert_eq!(
        error_fields(&r),
        [("email".to_owned(), "invalid_format".to_owned())]
    );
    let r = post(&h, "/auth/password/forgot", json!({}));
    assert_problem(&r, 422, "validation_failed");
    let r = h.send(ApiRequest::new("POST", "/auth/password/forgot").body("email=x"));
    assert_problem(&r, 400, "malformed_request");
}

#[test]
fn a_reset_replaces_the_password_ends_every_session_verifies_and_clears_the_throttle() {
    let h = registered();
    let pair = h.login(ALICE, PASSWORD).body_json();
    for _ in 0..2 {
        assert_problem(
            &h.login(ALICE, "wrong password!"),
            401,
            "invalid_credentials",
        );
    }
    assert_eq!(h.users.attempts_of(ALICE).unwrap().failures, 2);
    assert_eq!(forgot(&h, ALICE).status, 202);
    let r = reset(&h, &reset_token(&h, ALICE), NEW_PASSWORD);
    assert_eq!(r.status, 204, "{}", r.body_json());
    assert!(r.body.is_empty());
    // Every session is gone: its access token and its refresh token.
    assert_problem(
        &h.me(pair["access_token"].as_str().unwrap(), NOW_MS),
        401,
        "invalid_token",
    );
    let r = post(
        &h,
        "/auth/refresh",
        json!({ "refresh_token": pair["refresh_token"] }),
    );
    assert_problem(&r, 401, "invalid_grant");
    assert_eq!(h.users.attempts_of(ALICE), None);
    assert_problem(&h.login(ALICE, PASSWORD), 401, "invalid_credentials");
    let r = h.login(ALICE, NEW_PASSWORD);
    assert_eq!(r.status, 200);
    let me = h.me(r.body_json()["access_token"].as_str().unwrap(), NOW_MS);
    assert_eq!(
        me.body_json()["email_verified"],
        true,
        "the mailbox was reached"
    );
    assert_eq!(
        subjects(&h, ALICE).last().unwrap(),
        "Your password was changed"
    );
    let event = &h.events("password_reset")[0];
    assert_eq!(event["sessions_revoked"], 1);
}

#[test]
fn a_reset_token_works_once() {
    let h = registered();
    forgot(&h, ALICE);
    let token = reset_token(&h, ALICE);
    assert_eq!(reset(&h, &token, NEW_PASSWORD).status, 204);
    assert_problem(
        &reset(&h, &token, "yet another passphrase"),
        400,
        "invalid_email_token",
    );
    assert_eq!(h.login(ALICE, NEW_PASSWORD).status, 200);
}

#[test]
fn a_reset_token_expires_after_password_reset_ttl() {
    let h = Harness::with_config(config_with(&[("PASSWORD_RESET_TTL", "600")]));
    h.register(ALICE, PASSWORD);
    forgot(&h, ALICE);
    let token = reset_token(&h, ALICE);
    assert!(h
        .inbox(ALICE)
        .last()
        .unwrap()
        .text
        .contains("within 10 minutes"));
    let r = reset_at(&h, &token, NEW_PASSWORD, NOW_MS + 600_000);
    assert_problem(&r, 400, "invalid_email_token");
    let r = reset_at(&h, &token, NEW_PASSWORD, NOW_MS + 599_999);
    assert_eq!(r.status, 204);
}

#[test]
fn a_newer_reset_token_voids_the_older_one() {
    let h = registered();
    forgot(&h, ALICE);
    let older = reset_token(&h, ALICE);
    forgot(&h, ALICE);
    let newer = reset_token(&h, ALICE);
    assert_ne!(older, newer);
    assert_problem(&reset(&h, &older, NEW_PASSWORD), 400, "invalid_email_token");
    assert_eq!(reset(&h, &newer, NEW_PASSWORD).status, 204);
}

#[test]
fn reset_refuses_bad_tokens_and_weak_passwords_before_changing_anything() {
    let h = registered();
    forgot(&h, ALICE);
    let token = reset_token(&h, ALICE);
    for bad in ["", "short", &"A".repeat(43), &format!("{}=", &token[..42])] {
        assert_problem(&reset(&h, bad, NEW_PASSWORD), 400, "invalid_email_token");
    }
    // A verification token is not a reset token.
    let verification = verification_token(&h, ALICE);
    assert_problem(
        &reset(&h, &verification, NEW_PASSWORD),
        400,
        "invalid_email_token",
    );
    let r = reset(&h, &token, "short");
    assert_problem(&r, 422, "validation_failed");
    assert_eq!(
        error_fields(&r),
        [("new_password".to_owned(), "too_short".to_owned())]
    );
    let r = reset(&h, &token, ALICE);
    assert_problem(&r, 422, "validation_failed");
    assert_eq!(
        error_fields(&r),
        [("new_password".to_owned(), "equals_email".to_owned())]
    );
    let r = post(&h, "/auth/password/reset", json!({ "new_password": 5 }));
    assert_problem(&r, 422, "validation_failed");
    assert_eq!(
        error_fields(&r),
        [
            ("token".to_owned(), "required".to_owned()),
            ("new_password".to_owned(), "invalid_type".to_owned())
        ]
    );
    // None of that spent the token.
    assert_eq!(reset(&h, &token, NEW_PASSWORD).status, 204);
}

#[test]
fn past_the_hourly_cap_forgot_still_answers_202_and_sends_nothing() {
    let h = Harness::with_config(config_with(&[("EMAIL_MAX_PER_HOUR", "3")]));
    h.register(ALICE, PASSWORD);
    let resets = |h: &Harness| {
        subjects(h, ALICE)
            .iter()
            .filter(|s| *s == "Reset your password")
            .count()
    };
    let first = forgot(&h, ALICE);
    for _ in 0..4 {
        let r = forgot(&h, ALICE);
        assert_eq!((r.status, &r.body), (202, &first.body));
    }
    assert_eq!(resets(&h), 3);
    assert_eq!(h.events("email_capped").len(), 2);
    // The capped requests stored nothing: the third link still works.
    let token = reset_token(&h, ALICE);
    // The cap is per kind: a verification email still goes out.
    let access = h.token(ALICE);
    assert_eq!(ask_verification(&h, &access).status, 202);
    // An hour after the first email, the window starts again.
    let r = h.send_at(
        ApiRequest::new("POST", "/auth/password/forgot").json(&json!({ "email": ALICE })),
        NOW_MS + 3_600_000,
    );
    assert_eq!(r.status, 202);
    assert_eq!(resets(&h), 4);
    assert_problem(
        &reset_at(&h, &token, NEW_PASSWORD, NOW_MS + 3_600_000),
        400,
        "invalid_email_token",
    );
}

#[test]
fn registration_sends_a_verification_link_that_verifies_once() {
    let h = registered();
    let mail = h.inbox(ALICE).pop().unwrap();
    assert_eq!(mail.subject, "Verify your email address");
    assert!(link(&mail).starts_with(&format!("{ORIGIN}/verify-email?token=")));
    let token = token_of(&link(&mail));
    let r = verify(&h, &token);
    assert_eq!(r.status, 200, "{}", r.body_json());
    assert_eq!(r.get_header("cache-control"), Some("no-store"));
    let body = r.body_json();
    assert_eq!(body["email"], ALICE);
    assert_eq!(body["email_verified"], true);
    assert!(h.users.get(ALICE).unwrap().email_verified);
    assert_problem(&verify(&h, &token), 400, "invalid_email_token");
    // Verified now: asking again is a conflict.
    let access = h.token(ALICE);
    assert_problem(
        &ask_verification(&h, &access),
        409,
        "email_already_verified",
    );
}

#[test]
fn a_verification_link_expires_and_a_newer_one_voids_it() {
    let h = Harness::with_config(config_with(&[("EMAIL_VERIFICATION_TTL", "3600")]));
    h.register(ALICE, PASSWORD);
    let first = verification_token(&h, ALICE);
    let access = h.token(ALICE);
    let r = ask_verification(&h, &access);
    assert_eq!(r.status, 202, "{}", r.body_json());
    assert_eq!(
        r.body_json()["message"],
        "A verification email is on its way."
    );
    let second = verification_token(&h, ALICE);
    assert_problem(&verify(&h, &first), 400, "invalid_email_token");
    let late = h.send_at(
        ApiRequest::new("POST", "/auth/email/verify").json(&json!({ "token": second })),
        NOW_MS + 3_600_000,
    );
    assert_problem(&late, 400, "invalid_email_token");
    assert_eq!(verify(&h, &second).status, 200);
}

#[test]
fn asking_for_verification_past_the_hourly_cap_queues_nothing() {
    let h = Harness::with_config(config_with(&[("EMAIL_MAX_PER_HOUR", "3")]));
    h.register(ALICE, PASSWORD);
    let access = h.token(ALICE);
    h.hold_queue.set(true);
    let queued_at_registration = h.events("email_queued").len();
    let first = ask_verification(&h, &access);
    for _ in 0..4 {
        let r = ask_verification(&h, &access);
        assert_eq!((r.status, &r.body), (202, &first.body));
    }
    // Three jobs reached the queue, and the two requests past the cap queued nothing.
    assert_eq!(h.queue.jobs.borrow().len(), 3);
    assert_eq!(h.events("email_queued").len() - queued_at_registration, 3);
    let capped = h.events("email_request_capped");
    assert_eq!(capped.len(), 2);
    assert_eq!(capped[0]["purpose"], "email_verification");
    assert_eq!(capped[0]["max_per_hour"], 3);
    assert_eq!(
        h.users.email_requests_of(ALICE, "email_verification"),
        Some((5, NOW_MS))
    );
    // An hour after the first request, the window starts again.
    let later = NOW_MS + 3_600_000;
    let pair = h.login_at(ALICE, PASSWORD, later).body_json();
    let access = pair["access_token"].as_str().unwrap();
    let r = h.send_at(
        ApiRequest::new("POST", "/auth/email/verification")
            .header("authorization", &format!("Bearer {access}")),
        later,
    );
    assert_eq!(r.status, 202);
    assert_eq!(h.queue.jobs.borrow().len(), 4);
}

#[test]
fn asking_for_verification_needs_a_bearer_and_at_most_an_empty_object() {
    let h = registered();
    let r = h.send(ApiRequest::new("POST", "/auth/email/verification"));
    assert_problem(&r, 401, "invalid_token");
    let access = h.token(ALICE);
    let with = |req: ApiRequest| h.send(req.header("authorization", &format!("Bearer {access}")));
    let r = with(ApiRequest::new("POST", "/auth/email/verification").json(&json!({})));
    assert_eq!(r.status, 202);
    let r = with(ApiRequest::new("POST", "/auth/email/verification").json(&json!(null)));
    assert_eq!(r.status, 202);
    let r = with(ApiRequest::new("POST", "/auth/email/verification").json(&json!([])));
    assert_problem(&r, 400, "malformed_request");
    let r = with(ApiRequest::new("POST", "/auth/email/verification").body("nope"));
    assert_problem(&r, 400, "malformed_request");
    let r = h.send(ApiRequest::new("POST", "/auth/email/verify").json(&json!({})));
    assert_problem(&r, 422, "validation_failed");
}

#[test]
fn with_required_verification_an_unverified_login_is_403_after_the_password_check() {
    let h = Harness::with_config(config_with(&[("REQUIRE_EMAIL_VERIFICATION", "true")]));
    h.register(ALICE, PASSWORD);
    assert_problem(
        &h.login(ALICE, "wrong password!"),
        401,
        "invalid_credentials",
    );
    let r = h.login(ALICE, PASSWORD);
    assert_problem(&r, 403, "email_not_verified");
    assert_eq!(r.body_json()["error"], "invalid_grant");
    assert_eq!(
        h.users.attempts_of(ALICE),
        None,
        "a right password is not a failed attempt"
    );
    assert_eq!(verify(&h, &verification_token(&h, ALICE)).status, 200);
    assert_eq!(h.login(ALICE, PASSWORD).status, 200);
}

#[test]
fn links_point_at_app_url_when_it_is_set() {
    let h = Harness::with_config(config_with(&[("APP_URL", "https://app.example.com/")]));
    h.register(ALICE, PASSWORD);
    forgot(&h, ALICE);
    let links: Vec<String> = h.inbox(ALICE).iter().map(link).collect();
    assert!(links[0].starts_with("https://app.example.com/verify-email?token="));
    assert!(links[1].starts_with("https://app.example.com/reset-password?token="));
}

#[test]
fn a_password_change_sends_a_notice_without_a_link() {
    let h = registered();
    let access = h.token(ALICE);
    let r = h.send(
        ApiRequest::new("POST", "/auth/password/change")
            .header("authorization", &format!("Bearer {access}"))
            .json(&json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD})),
    );
    assert_eq!(r.status, 204);
    let mail = h.inbox(ALICE).pop().unwrap();
    assert_eq!(mail.subject, "Your password was changed");
    assert!(!mail.text.contains("token="));
}

#[test]
fn a_password_change_voids_a_pending_reset_link() {
    let h = registered();
    forgot(&h, ALICE);
    let token = reset_token(&h, ALICE);
    let access = h.token(ALICE);
    let r = h.send(
        ApiRequest::new("POST", "/auth/password/change")
            .header("authorization", &format!("Bearer {access}"))
            .json(&json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD})),
    );
    assert_eq!(r.status, 204);
    assert_problem(
        &reset(&h, &token, "the link's own passphrase"),
        400,
        "invalid_email_token",
    );
    assert_eq!(h.login(ALICE, NEW_PASSWORD).status, 200);
    // A link mailed after the change works.
    forgot(&h, ALICE);
    let later = reset_token(&h, ALICE);
    assert_eq!(reset(&h, &later, "the link's own passphrase").status, 204);
}

#[test]
fn a_deleted_accounts_tokens_die_with_it() {
    let h = registered();
    forgot(&h, ALICE);
    let (reset_t, verify_t) = (reset_token(&h, ALICE), verification_token(&h, ALICE));
    let access = h.token(ALICE);
    let r = h.send(
        ApiRequest::new("DELETE", "/auth/me")
            .header("authorization", &format!("Bearer {access}"))
            .json(&json!({ "password": PASSWORD })),
    );
    assert_eq!(r.status, 204);
    assert_problem(
        &reset(&h, &reset_t, NEW_PASSWORD),
        400,
        "invalid_email_token",
    );
    assert_problem(&verify(&h, &verify_t), 400, "invalid_email_token");
}

#[test]
fn register_login_and_forgot_are_limited_per_client_ip() {
    let h = registered();
    h.ip_limiter.limit.set(2);
    let from = |ip: &str, path: &str, body: Value| {
        h.send(
            ApiRequest::new("POST", path)
                .header("cf-connecting-ip", ip)
                .json(&body),
        )
    };
    let forgot_from = |ip: &str| from(ip, "/auth/password/forgot", json!({ "email": ALICE }));
    assert_eq!(forgot_from("203.0.113.7").status, 202);
    assert_eq!(forgot_from("203.0.113.7").status, 202);
    let r = forgot_from("203.0.113.7");
    assert_problem(&r, 429, "too_many_requests");
    assert_eq!(r.get_header("retry-after"), Some("60"));
    // Another client, and another endpoint of the same client, count apart.
    assert_eq!(forgot_from("198.51.100.1").status, 202);
    let login = json!({"email": ALICE, "password": PASSWORD});
    for _ in 0..2 {
        assert_eq!(
            from("203.0.113.7", "/auth/login", login.clone()).status,
            200
        );
    }
    let r = from("203.0.113.7", "/auth/login", login.clone());
    assert_problem(&r, 429, "too_many_requests");
    assert_eq!(r.body_json()["error"], "invalid_grant");
    for i in 0..2 {
        let body = json!({"email": format!("u{i}@example.com"), "password": PASSWORD});
        assert_eq!(from("203.0.113.7", "/auth/register", body).status, 201);
    }
    let body = json!({"email": "u9@example.com", "password": PASSWORD});
    assert_problem(
        &from("203.0.113.7", "/auth/register", body),
        429,
        "too_many_requests",
    );
    // Other endpoints are not counted; nor is a request without a client IP (a service binding).
    assert_eq!(forgot(&h, ALICE).status, 202);
    assert_eq!(h.events("ip_rate_limited").len(), 3);
}

#[test]
fn reset_is_limited_per_client_ip_before_the_token_is_looked_up() {
    let h = registered();
    forgot(&h, ALICE);
    let token = reset_token(&h, ALICE);
    h.ip_limiter.limit.set(2);
    let reset_from = |ip: &str, token: &str| {
        h.send(
            ApiRequest::new("POST", "/auth/password/reset")
                .header("cf-connecting-ip", ip)
                .json(&json!({ "token": token, "new_password": NEW_PASSWORD })),
        )
    };
    let never_issued = "A".repeat(43);
    for _ in 0..2 {
        assert_problem(
            &reset_from("203.0.113.7", &never_issued),
            400,
            "invalid_email_token",
        );
    }
    let calls = h.users.calls.get();
    let r = reset_from("203.0.113.7", &token);
    assert_problem(&r, 429, "too_many_requests");
    assert_eq!(r.get_header("retry-after"), Some("60"));
    assert_eq!(
        h.users.calls.get(),
        calls,
        "refused before any database call"
    );
    assert_eq!(h.events("ip_rate_limited")[0]["route"], "reset");
    // The link was not spent: another client uses it.
    assert_eq!(reset_from("198.51.100.1", &token).status, 204);
}

#[test]
fn an_ipv6_client_counts_by_its_slash_64() {
    // One host holds a whole /64 and could send every request from a new address: the limit
    // counts the /64. Another /64 is another client; an IPv4 address written as IPv6 is itself.
    let h = registered();
    h.ip_limiter.limit.set(2);
    let forgot_from = |ip: &str| {
        h.send(
            ApiRequest::new("POST", "/auth/password/forgot")
                .header("cf-connecting-ip", ip)
                .json(&json!({ "email": ALICE })),
        )
        .status
    };
    assert_eq!(forgot_from("2001:db8:1:2::1"), 202);
    assert_eq!(forgot_from("2001:db8:1:2:ffff:ffff:ffff:fffe"), 202);
    assert_eq!(forgot_from("2001:0db8:0001:0002::3"), 429);
    assert_eq!(forgot_from("2001:db8:1:3::1"), 202);
    assert_eq!(forgot_from("203.0.113.9"), 202);
    assert_eq!(forgot_from("::ffff:203.0.113.9"), 202);
    assert_eq!(forgot_from("203.0.113.9"), 429);
    assert_eq!(
        edge_auth::limits::ratelimit::client_of("2001:db8:1:2::1"),
        "2001:db8:1:2::/64"
    );
    assert_eq!(
        edge_auth::limits::ratelimit::client_of(&"x".repeat(100)).len(),
        64
    );
}

#[test]
fn the_ip_limit_can_be_switched_off_and_fails_open() {
    let h = Harness::with_config(config_with(&[("RATE_LIMIT_BY_IP", "false")]));
    h.ip_limiter.limit.set(0);
    let forgot_from = |h: &Harness| {
        h.send(
            ApiRequest::new("POST", "/auth/password/forgot")
                .header("cf-connecting-ip", "203.0.113.7")
                .json(&json!({ "email": ALICE })),
        )
    };
    assert_eq!(forgot_from(&h).status, 202);
    let h = Harness::new();
    h.ip_limiter.limit.set(0);
    assert_problem(&forgot_from(&h), 429, "too_many_requests");
    h.ip_limiter.fail.set(true);
    assert_eq!(forgot_from(&h).status, 202);
    assert_eq!(h.events("ip_rate_limiter_unavailable").len(), 1);
}
