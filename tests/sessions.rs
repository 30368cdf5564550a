//! Sessions natively: refresh rotation, reuse detection, logout, revocation by `sid`, verify,
//! and how a session was opened (`amr`), kept by every refresh.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use common::*;
use ed25519_compact::{KeyPair, Seed};
use edge_auth::domain::amr::Amr;
use edge_auth::http::{ApiRequest, ApiResponse};
use edge_auth::store::events::Audit;
use edge_auth::store::{NewSession, SessionStore};
use edge_auth::tokens;
use futures::executor::block_on;
use serde_json::{json, Value};

fn login_pair(h: &Harness) -> (String, String) {
    h.register("alice@example.com", PASSWORD);
    let body = h.login("alice@example.com", PASSWORD).body_json();
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

fn refresh_at(h: &Harness, token: &str, now_ms: i64) -> ApiResponse {
    h.send_at(
        ApiRequest::new("POST", "/auth/refresh").json(&json!({ "refresh_token": token })),
        now_ms,
    )
}

fn logout(h: &Harness, token: &str) -> ApiResponse {
    h.send(ApiRequest::new("POST", "/auth/logout").json(&json!({ "refresh_token": token })))
}

fn verify_at(h: &Harness, token: &str, now_ms: i64) -> Value {
    let r = h.send_at(
        ApiRequest::new("POST", "/auth/verify").json(&json!({ "token": token })),
        now_ms,
    );
    assert_eq!(r.status, 200, "{}", r.body_json());
    r.body_json()
}

fn sid_of(h: &Harness, access: &str) -> String {
    verify_at(h, access, NOW_MS)["sid"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn login_returns_a_refresh_token_tied_to_a_session() {
    let h = Harness::new();
    let (access, refresh) = login_pair(&h);
    assert_eq!(refresh.len(), 43);
    let sid = sid_of(&h, &access);
    assert_eq!(h.sessions.inspect(&sid), Some((0, None)));
}

#[test]
fn refresh_rotates_the_pair_and_spends_the_old_token() {
    let h = Harness::new();
    let (access, first) = login_pair(&h);
    let sid = sid_of(&h, &access);
    let r = refresh_at(&h, &first, NOW_MS + 1_000);
    assert_eq!(r.status, 200, "{}", r.body_json());
    assert_eq!(r.get_header("cache-control"), Some("no-store"));
    let body = r.body_json();
    let second = body["refresh_token"].as_str().unwrap();
    assert_ne!(second, first);
    assert_eq!(body["token_type"], "Bearer");
    let new_access = body["access_token"].as_str().unwrap();
    assert_eq!(sid_of(&h, new_access), sid, "the session carries over");
    assert_eq!(h.sessions.inspect(&sid), Some((1, None)));
    assert_eq!(
        refresh_at(&h, second, NOW_MS + 2_000).status,
        200,
        "the new token works"
    );
}

#[test]
fn a_spent_token_within_the_grace_window_is_refused_without_revoking() {
    let h = Harness::new();
    let (access, first) = login_pair(&h);
    let winner = refresh_at(&h, &first, NOW_MS).body_json();
    let loser = refresh_at(&h, &first, NOW_MS + 2_000);
    assert_problem(&loser, 401, "invalid_grant");
    let sid = sid_of(&h, &access);
    assert_eq!(h.sessions.inspect(&sid).unwrap().1, None, "not revoked");
    let next = winner["refresh_token"].as_str().unwrap();
    assert_eq!(refresh_at(&h, next, NOW_MS + 3_000).status, 200);
}

#[test]
fn reuse_of_a_spent_token_revokes_the_whole_session() {
    let h = Harness::new();
    let (access, stolen) = login_pair(&h);
    let sid = sid_of(&h, &access);
    let victim = refresh_at(&h, &stolen, NOW_MS).body_json();
    let victim_refresh = victim["refresh_token"].as_str().unwrap().to_owned();
    let victim_access = victim["access_token"].as_str().unwrap().to_owned();

    let later = NOW_MS + 60_000;
    assert_problem(&refresh_at(&h, &stolen, later), 401, "invalid_grant");
    assert_eq!(
        h.sessions.inspect(&sid).unwrap().1.as_deref(),
        Some("reuse_detected")
    );
    assert_eq!(h.events("refresh_reuse_detected").len(), 1);
    // Every token of the session is dead: the victim's newer refresh and access tokens too.
    assert_problem(
        &refresh_at(&h, &victim_refresh, later),
        401,
        "invalid_grant",
    );
    assert_problem(&h.me(&victim_access, later), 401, "invalid_token");
    assert_eq!(
        verify_at(&h, &victim_access, later),
        json!({ "active": false })
    );
    // Another login is a new session and works.
    assert_eq!(h.login("alice@example.com", PASSWORD).status, 200);
}

#[test]
fn refresh_tokens_expire_absolutely() {
    let h = Harness::new();
    let (_, refresh) = login_pair(&h);
    let thirty_days_ms = 30 * 24 * 3600 * 1000;
    let r = refresh_at(&h, &refresh, NOW_MS + thirty_days_ms + 1);
    assert_problem(&r, 401, "invalid_grant");
}

#[test]
fn unknown_and_malformed_refresh_tokens_are_invalid_grant() {
    let h = Harness::new();
    assert_problem(&refresh_at(&h, "nope", NOW_MS), 401, "invalid_grant");
    let unknown = "A".repeat(43);
    assert_problem(&refresh_at(&h, &unknown, NOW_MS), 401, "invalid_grant");
    let r = h.send(ApiRequest::new("POST", "/auth/refresh").json(&json!({})));
    assert_problem(&r, 422, "validation_failed");
    assert_eq!(
        error_fields(&r),
        [("refresh_token".into(), "required".into())]
    );
}

#[test]
fn logout_revokes_refresh_and_access_tokens_at_once() {
    let h = Harness::new();
    let (access, refresh) = login_pair(&h);
    assert_eq!(h.me(&access, NOW_MS).status, 200);
    let r = logout(&h, &refresh);
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    let me = h.me(&access, NOW_MS);
    assert_problem(&me, 401, "invalid_token");
    assert_eq!(verify_at(&h, &access, NOW_MS), json!({ "active": false }));
    assert_problem(&refresh_at(&h, &refresh, NOW_MS), 401, "invalid_grant");
    let reasons: Vec<Value> = h
        .events("token_rejected")
        .iter()
        .map(|e| e["reason"].clone())
        .collect();
    assert!(reasons.contains(&json!("session_revoked")));
}

#[test]
fn logout_is_idempotent_and_quiet_about_unknown_tokens() {
    let h = Harness::new();
    let (_, refresh) = login_pair(&h);
    assert_eq!(logout(&h, &refresh).status, 204);
    assert_eq!(logout(&h, &refresh).status, 204);
    assert_eq!(logout(&h, &"B".repeat(43)).status, 204);
    assert_eq!(logout(&h, "garbage").status, 204);
    assert_eq!(h.events("logout").len(), 1);
}

#[test]
fn logout_with_a_spent_token_still_ends_the_session() {
    let h = Harness::new();
    let (access, first) = login_pair(&h);
    let second = refresh_at(&h, &first, NOW_MS).body_json();
    assert_eq!(logout(&h, &first).status, 204);
    let next = second["refresh_token"].as_str().unwrap();
    assert_problem(&refresh_at(&h, next, NOW_MS), 401, "invalid_grant");
    assert_problem(&h.me(&access, NOW_MS), 401, "invalid_token");
}

#[test]
fn verify_reports_claims_for_a_live_token() {
    let h = Harness::new();
    let (access, _) = login_pair(&h);
    let v = verify_at(&h, &access, NOW_MS + 1_000);
    assert_eq!(v["active"], true);
    assert_eq!(v["email"], "alice@example.com");
    assert_eq!(v["iss"], "edge-auth");
    assert_eq!(v["aud"], "edge-auth");
    assert_eq!(v["revocation_checked"], true);
    assert_eq!(v["exp"].as_i64().unwrap() - v["iat"].as_i64().unwrap(), 900);
    assert!(v["sub"].is_string());
}

#[test]
fn verify_never_fails_for_a_bad_token() {
    let h = Harness::new();
    for bad in ["", "x", "a.b.c", &"z".repeat(9_000)] {
        assert_eq!(verify_at(&h, bad, NOW_MS), json!({ "active": false }));
    }
    let (access, _) = login_pair(&h);
    let expired = NOW_MS + 3_600_000;
    assert_eq!(verify_at(&h, &access, expired), json!({ "active": false }));
    let r = h.send(ApiRequest::new("POST", "/auth/verify").json(&json!({ "token": 5 })));
    assert_problem(&r, 422, "validation_failed");
}

#[test]
fn verify_answers_from_the_signature_when_the_database_is_down() {
    let h = Harness::new();
    let (access, _) = login_pair(&h);
    h.users.fail.set(true);
    let v = verify_at(&h, &access, NOW_MS);
    assert_eq!(v["active"], true);
    assert_eq!(v["revocation_checked"], false);
    // A bad token is still inactive, database or not.
    assert_eq!(verify_at(&h, "a.b.c", NOW_MS), json!({ "active": false }));
    // /auth/me needs the database and says so.
    assert_problem(&h.me(&access, NOW_MS), 503, "service_unavailable");
}

#[test]
fn a_zero_grace_revokes_on_reuse_even_when_the_spend_looks_later_than_now() {
    let h = Harness::with_config(config_with(&[("REFRESH_REUSE_GRACE", "0")]));
    h.register("alice@example.com", PASSWORD);
    let pair = h.login("alice@example.com", PASSWORD).body_json();
    let first = pair["refresh_token"].as_str().unwrap();
    // The winner's clock read later than the loser's: the spend is "in the future".
    let winner = refresh_at(&h, first, NOW_MS + 5_000);
    assert_eq!(winner.status, 200);
    assert_problem(&refresh_at(&h, first, NOW_MS + 1_000), 401, "invalid_grant");
    assert_eq!(h.events("refresh_reuse_detected").len(), 1);
    let newer = winner.body_json()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_problem(
        &refresh_at(&h, &newer, NOW_MS + 6_000),
        401,
        "invalid_grant",
    );
}

#[test]
fn refresh_expiry_is_absolute_from_login_not_sliding() {
    let h = Harness::with_config(config_with(&[("REFRESH_TOKEN_TTL", "300")]));
    h.register("alice@example.com", PASSWORD);
    let mut token = h.login("alice@example.com", PASSWORD).body_json()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Refreshing just before the end works, and does not push the end back.
    for at in [100_000, 299_000] {
        let r = refresh_at(&h, &token, NOW_MS + at);
        assert_eq!(r.status, 200, "at +{at} ms");
        token = r.body_json()["refresh_token"].as_str().unwrap().to_owned();
    }
    assert_problem(
        &refresh_at(&h, &token, NOW_MS + 300_000),
        401,
        "invalid_grant",
    );
}

#[test]
fn a_malformed_refresh_token_is_refused_before_the_database_is_asked() {
    let h = Harness::new();
    let before = h.users.calls.get();
    for bad in [
        "",
        "short",
        &"A".repeat(44),
        "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
    ] {
        assert_problem(&refresh_at(&h, bad, NOW_MS), 401, "invalid_grant");
    }
    assert_eq!(h.users.calls.get(), before);
}

#[test]
fn an_unreadable_row_behind_a_session_is_a_500_that_never_counts_toward_the_breaker() {
    let h = Harness::new();
    h.register("alice@example.com", PASSWORD);
    let token = h.token("alice@example.com");
    let mut row = h.users.user_row("alice@example.com").unwrap();
    row.email = "no-at-sign".into();
    h.users.put_row(row);
    for _ in 0..6 {
        assert_problem(&h.me(&token, NOW_MS), 500, "internal_error");
    }
    assert!(h.events("storage_failure").is_empty());
    assert_eq!(h.events("stored_row_invalid").len(), 6);
    assert_eq!(h.register("bob@example.com", PASSWORD).status, 201);
    let body = h.send(ApiRequest::new("GET", "/health")).body_json();
    assert_eq!(body["checks"]["breaker"], "closed");
}

/// The claims of an access token, as its payload says them.
fn payload(access: &str) -> Value {
    let part = access.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// The token's claims without `amr`, signed with the harness's key: a token as issued before
/// sessions recorded how they were opened.
fn without_amr(access: &str) -> String {
    let mut claims = payload(access);
    claims.as_object_mut().unwrap().remove("amr").unwrap();
    let header = json!({"alg": "EdDSA", "kid": "k1", "typ": "JWT"});
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let key = KeyPair::from_seed(Seed::new([7; 32])).sk;
    let signature = key.sign(signed.as_bytes(), None);
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(*signature))
}

#[test]
fn a_password_login_and_its_refreshes_say_pwd_in_the_token_and_in_verify() {
    let h = Harness::new();
    let (access, refresh) = login_pair(&h);
    assert_eq!(payload(&access)["amr"], json!(["pwd"]));
    assert_eq!(verify_at(&h, &access, NOW_MS)["amr"], json!(["pwd"]));
    let sid = sid_of(&h, &access);
    assert_eq!(
        h.sessions.with_conn(|c| c.query_row(
            "SELECT amr FROM sessions WHERE id = ?1",
            [&sid],
            |r| r.get::<_, String>(0)
        )),
        r#"["pwd"]"#
    );

    let r = refresh_at(&h, &refresh, NOW_MS + 1_000);
    assert_eq!(r.status, 200, "{}", r.body_json());
    let renewed = r.body_json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(payload(&renewed)["amr"], json!(["pwd"]));
    assert_eq!(
        verify_at(&h, &renewed, NOW_MS + 1_000)["amr"],
        json!(["pwd"])
    );
}

#[test]
fn a_refresh_keeps_the_methods_its_session_was_opened_with() {
    let h = Harness::new();
    h.register("alice@example.com", PASSWORD);
    let user = h.users.get("alice@example.com").unwrap();
    // A session as a login with a TOTP code opens it, written through the store.
    let (refresh, refresh_hash) = tokens::new_refresh_token().unwrap();
    let session = NewSession {
        id: "totp-session".into(),
        user_id: user.id.clone(),
        refresh_hash,
        created_at: "2027-01-15T08:00:00.000Z".into(),
        expires_at_ms: NOW_MS + 86_400_000,
        user_agent: None,
        amr: Amr::totp(),
        password_version: user.password_version,
        clear_attempts_of: None,
        keep_at_most: 10,
        now_ms: NOW_MS,
        audit: Audit::none(),
        attempt_event: None,
    };
    assert_eq!(
        block_on(h.sessions.create_session(&session)).unwrap(),
        Some(vec![])
    );

    let mut refresh = refresh;
    for step in 1..=2 {
        let now = NOW_MS + step * 1_000;
        let r = refresh_at(&h, &refresh, now);
        assert_eq!(r.status, 200, "{}", r.body_json());
        let pair = r.body_json();
        let access = pair["access_token"].as_str().unwrap();
        let claims = payload(access);
        assert_eq!(claims["amr"], json!(["pwd", "otp", "mfa"]));
        assert_eq!(claims["sid"], "totp-session");
        let v = verify_at(&h, access, now);
        assert_eq!(v["active"], true);
        assert_eq!(v["revocation_checked"], true);
        assert_eq!(v["amr"], json!(["pwd", "otp", "mfa"]));
        refresh = pair["refresh_token"].as_str().unwrap().to_owned();
    }
    // The user's other logins are still password logins.
    assert_eq!(
        payload(&h.token("alice@example.com"))["amr"],
        json!(["pwd"])
    );
}

#[test]
fn a_session_row_whose_amr_does_not_read_is_bad_data_not_an_outage() {
    let h = Harness::new();
    let (access, refresh) = login_pair(&h);
    let sid = sid_of(&h, &access);
    h.sessions.with_conn(|c| {
        c.execute(
            r#"UPDATE sessions SET amr = '["sms"]' WHERE id = ?1"#,
            [&sid],
        )
    });
    let r = refresh_at(&h, &refresh, NOW_MS + 1_000);
    assert_problem(&r, 500, "internal_error");
    let bad = h.events("stored_row_invalid");
    assert_eq!(bad.len(), 1);
    assert!(bad[0]["cause"].as_str().unwrap().contains("sessions.amr"));
    assert!(h.events("storage_failure").is_empty());
    // The breaker did not count it: the next login is served.
    assert_eq!(h.login("alice@example.com", PASSWORD).status, 200);
}

#[test]
fn verify_answers_pwd_for_a_token_signed_without_amr() {
    let h = Harness::new();
    let (access, _) = login_pair(&h);
    let old = without_amr(&access);
    assert!(payload(&old).get("amr").is_none());
    let v = verify_at(&h, &old, NOW_MS);
    assert_eq!(v["active"], true);
    assert_eq!(v["revocation_checked"], true);
    assert_eq!(v["sid"], payload(&access)["sid"]);
    assert_eq!(v["amr"], json!(["pwd"]));
    // The bearer check accepts it as well.
    assert_eq!(h.me(&old, NOW_MS).status, 200);
}
