//! The account's life after registration (contract v2): password change, the list of devices,
//! and deletion, over the SQLite store.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::*;
use edge_auth::http::{ApiRequest, ApiResponse};
use serde_json::{json, Value};

const NEW_PASSWORD: &str = "a brand new passphrase";

fn bearer(req: ApiRequest, token: &str) -> ApiRequest {
    req.header("authorization", &format!("Bearer {token}"))
}

fn login_pair(h: &Harness, email: &str, password: &str, user_agent: Option<&str>) -> Value {
    login_pair_at(h, email, password, user_agent, NOW_MS)
}

/// A login at `now_ms` that must succeed: its token pair.
fn login_pair_at(
    h: &Harness,
    email: &str,
    password: &str,
    user_agent: Option<&str>,
    now_ms: i64,
) -> Value {
    let mut req =
        ApiRequest::new("POST", "/auth/login").json(&json!({"email": email, "password": password}));
    if let Some(ua) = user_agent {
        req = req.header("user-agent", ua);
    }
    let r = h.send_at(req, now_ms);
    assert_eq!(r.status, 200, "{}", r.body_json());
    r.body_json()
}

fn access(pair: &Value) -> &str {
    pair["access_token"].as_str().unwrap()
}

fn refresh(h: &Harness, pair: &Value, now_ms: i64) -> ApiResponse {
    h.send_at(
        ApiRequest::new("POST", "/auth/refresh")
            .json(&json!({"refresh_token": pair["refresh_token"]})),
        now_ms,
    )
}

fn change(h: &Harness, token: &str, current: &str, new: &str) -> ApiResponse {
    h.send(bearer(
        ApiRequest::new("POST", "/auth/password/change")
            .json(&json!({"current_password": current, "new_password": new})),
        token,
    ))
}

fn sessions(h: &Harness, token: &str, now_ms: i64) -> Value {
    let r = h.send_at(
        bearer(ApiRequest::new("GET", "/auth/sessions"), token),
        now_ms,
    );
    assert_eq!(r.status, 200, "{}", r.body_json());
    assert_eq!(r.get_header("cache-control"), Some("no-store"));
    r.body_json()
}

fn delete_me(h: &Harness, token: &str, password: &str) -> ApiResponse {
    h.send(bearer(
        ApiRequest::new("DELETE", "/auth/me").json(&json!({ "password": password })),
        token,
    ))
}

#[test]
fn the_user_view_says_whether_the_email_is_verified() {
    let h = Harness::new();
    let created = h.register("alice@example.com", PASSWORD).body_json();
    assert_eq!(created["email_verified"], false);
    let token = h.token("alice@example.com");
    assert_eq!(h.me(&token, NOW_MS).body_json(), created);
    let v = h
        .send(ApiRequest::new("POST", "/auth/verify").json(&json!({ "token": token })))
        .body_json();
    assert_eq!(v["email_verified"], false);
}

#[test]
fn changing_the_password_signs_out_every_other_session_and_keeps_this_one() {
    let h = Harness::new();
    h.register("alice@example.com", PASSWORD);
    let mine = login_pair(&h, "alice@example.com", PASSWORD, None);
    let other = login_pair(&h, "alice@example.com", PASSWORD, None);
    let r = change(&h, access(&mine), PASSWORD, NEW_PASSWORD);
    assert_eq!(r.status, 204, "{}", r.body_json());
    assert!(r.body.is_empty());
    assert_eq!(r.get_header("cache-control"), Some("no-store"));
    // The other session's access and refresh tokens stop at once.
    assert_problem(&h.me(access(&other), NOW_MS), 401, "invalid_token");
    assert_problem(&refresh(&h, &other, NOW_MS), 401, "invalid_grant");
    // This one goes on.
    assert_eq!(h.me(access(&mine), NOW_MS).status, 200);
    assert_eq!(refresh(&h, &mine, NOW_MS).status, 200);
    // The old password stops working; the new one logs in.
    assert_problem(
        &h.login("alice@example.com", PASSWORD),
        401,
        "invalid_credentials",
    );
    assert_eq!(h.login("alice@example.com", NEW_PASSWORD).status, 200);
    let event = &h.events("password_changed")[0];
    assert_eq!(event["sessions_revoked"], 1);
}

#[test]
fn a_wrong_current_password_is_a_failed_login_of_that_account() {
    let h = Harness::new();
    h.register("alice@example.com", PASSWORD);
    let token = h.token("alice@example.com");
    for _ in 0..5 {
        let r = change(&h, &token, "not my password", NEW_PASSWORD);
        assert_problem(&r, 401, "invalid_credentials");
    }
    assert!(h
        .events("login_failed")
        .iter()
        .all(|e| e["purpose"] == "password_change" && e["hash_iterations"] == ITERATIONS));
    // Throttled now, here and at login, even with the right password.
    assert_problem(
        &change(&h, &token, PASSWORD, NEW_PASSWORD),
        429,
        "too_many_attempts",
    );
    assert_problem(
        &h.login("alice@example.com", PASSWORD),
        429,
        "too_many_attempts",
    );
    assert_eq!(
        h.me(&token, NOW_MS).status,
        200,
        "a failed change signs nobody out"
    );
}

#[test]
fn the_new_password_follows_the_registration_rules() {
    let h = Harness::new();
    h.register("alice@example.com", PASSWORD);
    let token = h.token("alice@example.com");
    for (new, code) in [
        ("short", "too_short"),
        ("password123", "too_common"),
        ("Alice@Example.com", "equals_email"),
    ] {
        let r = change(&h, &token, PASSWORD, new);
        assert_problem(&r, 422, "validation_failed");
        assert!(
            error_fields(&r).contains(&("new_password".into(), code.into())),
            "{new}"
        );
    }
    let r = h.send(bearer(
        ApiRequest::new("POST", "/auth/password/change").json(&json!({"new_password": 5})),
        &token,
    ));
    assert_eq!(
        error_fields(&r),
        vec![
            ("current_password".into(), "required".into()),
            ("new_password".into(), "invalid_type".into())
        ]
    );
    // A rejected request costs no attempt and changes nothing.
    assert!(h.events("login_failed").is_empty());
    assert_eq!(h.login("alice@example.com", PASSWORD).status, 200);
}

#[test]
fn account_endpoints_need_a_live_bearer_token() {
    let h = Harness::new();
    for req in [
        ApiRequest::new("POST", "/auth/password/change").json(&json!({})),
        ApiRequest::new("GET", "/auth/sessions"),
        ApiRequest::new("DELETE", "/auth/sessions"),
        ApiRequest::new("DELETE", "/auth/sessions/abc"),
        ApiRequest::new("DELETE", "/auth/me").json(&json!({"password": PASSWORD})),
    ] {
        let r = h.send(req);
        assert_problem(&r, 401, "invalid_token");
        assert_eq!(r.get_header("www-authenticate"), Some("Bearer"));
    }
}

#[test]
fn an_oversized_body_is_refused_on_the_routes_that_read_no_body_too() {
    // The contract's 413 comes before anything else happens, whether the route reads a body
    // or not: a revocation with a 16 KiB + 1 body revokes nothing.
    let h = Harness::new();
    h.register("alice@example.com", PASSWORD);
    let keep = h.token("alice@example.com");
    let other = h.token("alice@example.com");
    let big = vec![b'x'; 16 * 1024 + 1];
    let bearer = format!("Bearer {keep}");
    for req in [
        ApiRequest::new("DELETE", "/auth/sessions"),
        ApiRequest::new("DELETE", "/auth/sessions/abc"),
        ApiRequest::new("POST", "/auth/email/verification"),
    ] {
        let r = h.send(req.header("authorization", &bearer).body(big.clone()));
        assert_problem(&r, 413, "payload_too_large");
    }
    assert_eq!(h.me(&other, NOW_MS).status, 200);
    assert_eq!(h.me(&keep, NOW_MS).status, 200);
    // The token endpoints keep their RFC 6749 shape for it.
    let r = h.send(ApiRequest::new("POST", "/auth/refresh").body(big));
    assert_problem(&r, 413, "payload_too_large");
    assert_eq!(r.body_json()["error"], "invalid_request");
}

#[test]
fn sessions_are_listed_newest_first_with_their_device_and_the_current_one_marked() {
    let h = Harness::new();
    h.register("alice@example.com", PASSWORD);
    let long_ua = "x".repeat(300);
    let first = h.send_at(
        ApiRequest::new("POST", "/auth/login")
            .json(&json!({"email": "alice@example.com", "password": PASSWORD}))
            .header("user-agent", &long_ua),
        NOW_MS,
    );
    let first = first.body_json();
    let second = h.send_at(
        ApiRequest::new("POST", "/auth/login")
            .json(&json!({"email": "alice@example.com", "password": PASSWORD}))
            .header("user-agent", "curl/8.5"),
        NOW_MS + 1_000,
    );
    let second = second.body_json();
    let list = sessions(&h, access(&first), NOW_MS + 2_000)["sessions"].clone();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["user_agent"], "curl/8.5");
    assert_eq!(list[0]["current"], false);
    assert_eq!(list[1]["user_agent"].as_str().unwrap().chars().count(), 256);
    assert_eq!(list[1]["current"], true);
    assert_eq!(list[1]["last_used_at"], Value::Null);
    assert_eq!(list[1]["created_at"], "2027-01-15T08:00:00.000Z");
    assert_eq!(list[1]["expires_at"], "2027-02-14T08:00:00.000Z");
    // A refresh moves last_used_at, and the id is the token's sid.
    let r = refresh(&h, &second, NOW_MS + 5_000);
    assert_eq!(r.status, 200);
    let list = sessions(&h, access(&r.body_json()), NOW_MS + 6_000)["sessions"].clone();
    assert_eq!(list[0]["last_used_at"], "2027-01-15T08:00:05.000Z");
    assert_eq!(list[0]["current"], true);
    let keys: Vec<&str> = list[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 6, "{keys:?}");
}

#[test]
fn revoking_one_session_ends_it_at_once_and_only_for_its_owner() {
    let h = Harness::new();
    h.register("alice@example.com", PASSWORD);
    h.register("bob@example.com", PASSWORD);
    let laptop = login_pair(&h, "alice@example.com", PASSWORD, Some("laptop"));
    let phone = login_pair(&h, "alice@example.com", PASSWORD, Some("phone"));
    let bob = login_pair(&h, "bob@example.com", PASSWORD, None);
    let list = sessions(&h, access(&laptop), NOW_MS);
    let phone_id = list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["user_agent"] == "phone")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/auth/sessions/{phone_id}");
    // Bob cannot touch it, and an unknown id is the same 404.
    assert_problem(
        &h.send(bearer(ApiRequest::new("DELETE", &path), access(&bob))),
        404,
        "not_found",
    );
    assert_problem(
        &h.send(bearer(
            ApiRequest::new("DELETE", "/auth/sessions/nope"),
            access(&laptop),
        )),
        404,
        "not_found",
    );
    assert_eq!(h.me(access(&phone), NOW_MS).status, 200);
    let r = h.send(bearer(ApiRequest::new("DELETE", &path), access(&laptop)));
    assert_eq!(r.status, 204);
    assert_problem(&h.me(access(&phone), NOW_MS), 401, "invalid_token");
    assert_problem(&refresh(&h, &phone, NOW_MS), 401, "invalid_grant");
    assert_eq!(
        sessions(&h, access(&laptop), NOW_MS)["sessions"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // A second revocation of the same session is a 404: it is no longer active.
    assert_problem(
        &h.send(bearer(ApiRequest::new("DELETE", &path), access(&laptop))),
        404,
        "not_found",
    );
}

#[test]
fn a_login_over_the_session_limit_ends_the_oldest_session_at_once() {
    let h = Harness::with_config(config_with(&[("MAX_SESSIONS_PER_USER", "3")]));
    h.register("alice@example.com", PASSWORD);
    h.register("bob@example.com", PASSWORD);
    let bobs = login_pair(&h, "bob@example.com", PASSWORD, None);
    let mut pairs: Vec<Value> = (0..2)
        .map(|_| login_pair(&h, "alice@example.com", PASSWORD, None))
        .collect();
    for old in &pairs {
        assert_eq!(h.me(access(old), NOW_MS).status, 200); // now in this isolate's memory
    }
    pairs.extend((0..3).map(|_| login_pair(&h, "alice@example.com", PASSWORD, None)));
    // The two oldest ended, as a logout ends one: their access tokens at once (this location's
    // caches were purged), their refresh tokens too.
    for old in &pairs[..2] {
        assert_problem(&h.me(access(old), NOW_MS), 401, "invalid_token");
        assert_problem(&refresh(&h, old, NOW_MS), 401, "invalid_grant");
    }
    for kept in &pairs[2..] {
        assert_eq!(h.me(access(kept), NOW_MS).status, 200);
    }
    let list = sessions(&h, access(&pairs[4]), NOW_MS);
    assert_eq!(list["sessions"].as_array().unwrap().len(), 3);
    // One line per login that went over, naming the session it ended; another user untouched.
    let sids: Vec<Value> = h.events("login_succeeded")[1..]
        .iter()
        .map(|l| l["sid"].clone())
        .collect();
    let ended: Vec<Value> = h
        .events("session_limit")
        .iter()
        .map(|l| l["sids"].clone())
        .collect();
    assert_eq!(ended, [json!([sids[0]]), json!([sids[1]])]);
    assert_eq!(h.me(access(&bobs), NOW_MS).status, 200);
}

#[test]
fn expired_and_ended_sessions_do_not_count_toward_the_session_limit() {
    let h = Harness::with_config(config_with(&[
        ("MAX_SESSIONS_PER_USER", "2"),
        ("REFRESH_TOKEN_TTL", "300"),
    ]));
    h.register("alice@example.com", PASSWORD);
    let login_at = |now_ms| login_pair_at(&h, "alice@example.com", PASSWORD, None, now_ms);
    let logged_out = login_at(NOW_MS);
    let r = h.send(
        ApiRequest::new("POST", "/auth/logout")
            .json(&json!({"refresh_token": logged_out["refresh_token"]})),
    );
    assert_eq!(r.status, 204);
    login_at(NOW_MS); // expired by `later`
    let later = NOW_MS + 301_000;
    login_at(later);
    login_at(later);
    // Two active: the logged-out and the expired session are not counted, nothing ended.
    assert!(h.events("session_limit").is_empty());
    login_at(later);
    let first_active = h.events("login_succeeded")[2]["sid"].clone();
    let ended = h.events("session_limit");
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0]["sids"], json!([first_active]));
    assert_eq!(ended[0]["revoked"], 1);
}

#[test]
fn a_lowered_session_limit_ends_the_whole_surplus_at_the_next_login() {
    let h = Harness::with_config(config_with(&[("MAX_SESSIONS_PER_USER", "5")]));
    h.register("alice@example.com", PASSWORD);
    for _ in 0..5 {
        login_pair(&h, "alice@example.com", PASSWORD, None);
    }
    assert!(h.events("session_limit").is_empty());
    // A new deployment with a limit of 2, on the same database.
    let lowered = h.elsewhere(config_with(&[("MAX_SESSIONS_PER_USER", "2")]));
    let newest = login_pair(&lowered, "alice@example.com", PASSWORD, None);
    let ended = lowered.events("session_limit");
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0]["revoked"], 4);
    let list = sessions(&lowered, access(&newest), NOW_MS);
    assert_eq!(list["sessions"].as_array().unwrap().len(), 2);
}

#[test]
fn revoking_the_other_sessions_keeps_only_the_callers() {
    let h = Harness::new();
    h.register("alice@example.com", PASSWORD);
    let mine = login_pair(&h, "alice@example.com", PASSWORD, None);
    let others: Vec<Value> = (0..3)
        .map(|_| login_pair(&h, "alice@example.com", PASSWORD, None))
        .collect();
    let r = h.send(bearer(
        ApiRequest::new("DELETE", "/auth/sessions"),
        access(&mine),
    ));
    assert_eq!(r.status, 204);
    for other in &others {
        assert_problem(&h.me(access(other), NOW_MS), 401, "invalid_token");
    }
    let list = sessions(&h, access(&mine), NOW_MS);
    assert_eq!(list["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(list["sessions"][0]["current"], true);
}

#[test]
fn deleting_the_account_needs_the_password_and_leaves_nothing_behind() {
    let h = Harness::new();
    h.register("alice@example.com", PASSWORD);
    h.register("bob@example.com", PASSWORD);
    let bob = login_pair(&h, "bob@example.com", PASSWORD, None);
    let before_alice = h.users.counts();
    let a = login_pair(&h, "alice@example.com", PASSWORD, None);
    let b = login_pair(&h, "alice@example.com", PASSWORD, None);
    assert_eq!(refresh(&h, &b, NOW_MS).status, 200);
    // A wrong password is refused and counted (as at login).
    assert_problem(
        &delete_me(&h, access(&a), "not my password"),
        401,
        "invalid_credentials",
    );
    assert_eq!(
        h.users.attempts_of("alice@example.com").unwrap().failures,
        1
    );
    let r = delete_me(&h, access(&a), PASSWORD);
    assert_eq!(r.status, 204, "{}", r.body_json());
    assert_problem(&h.me(access(&a), NOW_MS), 401, "invalid_token");
    assert_problem(&refresh(&h, &a, NOW_MS), 401, "invalid_grant");
    // Users, attempts, sessions, spent tokens, email tokens (each registration stored one):
    // only Bob's rows remain.
    assert_eq!(
        h.users.counts(),
        [
            before_alice[0] - 1,
            0,
            before_alice[2],
            0,
            before_alice[4] - 1
        ]
    );
    assert_eq!(h.me(access(&bob), NOW_MS).status, 200);
    assert_eq!(h.events("account_deleted").len(), 1);
    // Its id is remembered, so that an import run again does not bring it back; only its.
    let alice_id = h.events("account_deleted")[0]["user_id"].clone();
    let deleted = h.users.deleted_users();
    assert_eq!(
        deleted.into_iter().collect::<Vec<_>>(),
        [alice_id.as_str().unwrap()]
    );
    // The email can be registered again.
    assert_eq!(h.register("alice@example.com", NEW_PASSWORD).status, 201);
}

#[test]
fn deleting_the_account_is_throttled_like_a_login() {
    let h = Harness::new();
    h.register("alice@example.com", PASSWORD);
    let token = h.token("alice@example.com");
    for _ in 0..5 {
        assert_problem(
            &delete_me(&h, &token, "not my password"),
            401,
            "invalid_credentials",
        );
    }
    assert_problem(&delete_me(&h, &token, PASSWORD), 429, "too_many_attempts");
    assert_eq!(h.me(&token, NOW_MS).status, 200);
    let r = h.send(bearer(
        ApiRequest::new("DELETE", "/auth/me").json(&json!({})),
        &token,
    ));
    assert_problem(&r, 422, "validation_failed");
}
