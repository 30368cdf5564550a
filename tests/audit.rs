//! The audit trail natively, through the handlers over the SQLite store: each change writes its
//! event in its own batch (no extra round trip), with the request's id, address and user
//! agent; a change that does not happen writes none, and a batch that fails leaves neither.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::email::*;
use common::*;
use edge_auth::http::{ApiRequest, ApiResponse};
use serde_json::json;

const IP: &str = "198.51.100.23";
const AGENT: &str = "audit-test/1.0";

/// An event as stored: type, user id, ip, user agent, request id.
type Event = (String, String, Option<String>, Option<String>, String);

fn events(h: &Harness) -> Vec<Event> {
    h.users.with_conn(|c| {
        let mut stmt = c.prepare(
            "SELECT type, user_id, ip, user_agent, request_id FROM audit_events ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?;
        rows.collect()
    })
}

fn types(h: &Harness) -> Vec<String> {
    events(h).into_iter().map(|e| e.0).collect()
}

/// `req` from the test's client, at `now_ms`.
fn send(h: &Harness, req: ApiRequest, now_ms: i64) -> ApiResponse {
    h.send_at(
        req.header("cf-connecting-ip", IP)
            .header("user-agent", AGENT),
        now_ms,
    )
}

fn post(h: &Harness, path: &str, body: serde_json::Value, now_ms: i64) -> ApiResponse {
    send(h, ApiRequest::new("POST", path).json(&body), now_ms)
}

fn bearer(req: ApiRequest, access: &str) -> ApiRequest {
    req.header("authorization", &format!("Bearer {access}"))
}

fn request_id(r: &ApiResponse) -> String {
    r.get_header("x-request-id").unwrap().to_owned()
}

fn user_id(h: &Harness, email: &str) -> String {
    h.users.get(email).unwrap().id.to_string()
}

#[test]
fn a_login_sequence_records_one_event_per_change_with_each_responses_request_id() {
    let h = Harness::new();
    let creds = |password: &str| json!({"email": ALICE, "password": password});
    let registered = post(&h, "/auth/register", creds(PASSWORD), NOW_MS);
    assert_eq!(registered.status, 201);
    let wrong = post(&h, "/auth/login", creds("not the password"), NOW_MS);
    assert_problem(&wrong, 401, "invalid_credentials");
    let right = post(&h, "/auth/login", creds(PASSWORD), NOW_MS);
    assert_eq!(right.status, 200);
    let pair = right.body_json();
    let first_refresh = pair["refresh_token"].as_str().unwrap();
    let refresh =
        |token: &str, at: i64| post(&h, "/auth/refresh", json!({ "refresh_token": token }), at);
    assert_eq!(refresh(first_refresh, NOW_MS + 1_000).status, 200);
    // The spent token again, past the reuse grace: a replay, and the session is revoked.
    let replay = refresh(first_refresh, NOW_MS + 60_000);
    assert_problem(&replay, 401, "invalid_grant");
    // The same replay once the session is revoked changes nothing, and records nothing.
    assert_problem(
        &refresh(first_refresh, NOW_MS + 61_000),
        401,
        "invalid_grant",
    );
    // An unknown address is no account: its failed login records nothing.
    let unknown = post(
        &h,
        "/auth/login",
        json!({"email": "nobody@example.com", "password": PASSWORD}),
        NOW_MS,
    );
    assert_problem(&unknown, 401, "invalid_credentials");

    let uid = user_id(&h, ALICE);
    let expected: Vec<Event> = [
        ("user_registered", &registered),
        ("login_failed", &wrong),
        ("login_succeeded", &right),
        ("refresh_reuse_detected", &replay),
    ]
    .into_iter()
    .map(|(kind, r)| {
        (
            kind.to_owned(),
            uid.clone(),
            Some(IP.to_owned()),
            Some(AGENT.to_owned()),
            request_id(r),
        )
    })
    .collect();
    assert_eq!(events(&h), expected);

    // Reads write none.
    let access = h.token(ALICE);
    let before = events(&h).len();
    assert_eq!(h.me(&access, NOW_MS).status, 200);
    let verify = send(
        &h,
        ApiRequest::new("POST", "/auth/verify").json(&json!({ "token": access })),
        NOW_MS,
    );
    assert_eq!(verify.status, 200);
    assert_eq!(
        send(&h, ApiRequest::new("GET", "/health"), NOW_MS).status,
        200
    );
    let jwks = send(&h, ApiRequest::new("GET", "/.well-known/jwks.json"), NOW_MS);
    assert_eq!(jwks.status, 200);
    assert_eq!(events(&h).len(), before);
}

#[test]
fn throttled_attempts_record_login_throttled_and_a_right_password_withdraws_its_failure() {
    let h = Harness::with_config(config_with(&[("LOGIN_MAX_FAILURES", "2")]));
    h.register(ALICE, PASSWORD);
    let login = |password: &str| {
        post(
            &h,
            "/auth/login",
            json!({"email": ALICE, "password": password}),
            NOW_MS,
        )
    };
    assert_problem(&login("wrong one"), 401, "invalid_credentials");
    assert_eq!(login(PASSWORD).status, 200);
    assert_problem(&login("wrong one"), 401, "invalid_credentials");
    assert_problem(&login("wrong two"), 401, "invalid_credentials");
    assert_problem(&login(PASSWORD), 429, "too_many_attempts");
    assert_eq!(
        types(&h),
        [
            "user_registered",
            "login_failed",
            "login_succeeded",
            "login_failed",
            "login_failed",
            "login_throttled"
        ]
    );
}

#[test]
fn account_changes_each_record_their_event_and_refused_ones_record_none() {
    let h = Harness::new();
    h.register(ALICE, PASSWORD);
    let uid = user_id(&h, ALICE);
    // Email verification, through the link of the welcome mail.
    let token = last_token(&h, ALICE, "Verify your email address");
    let verified = post(&h, "/auth/email/verify", json!({ "token": token }), NOW_MS);
    assert_eq!(verified.status, 200);
    let spent = post(&h, "/auth/email/verify", json!({ "token": token }), NOW_MS);
    assert_problem(&spent, 400, "invalid_email_token");
    // The devices: revoking one, then all others.
    let access = h.token(ALICE);
    let other = h.login(ALICE, PASSWORD).body_json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let sid_of = |jwt: &str| -> String {
        use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
        let claims = URL_SAFE_NO_PAD
            .decode(jwt.split('.').nth(1).unwrap())
            .unwrap();
        serde_json::from_slice::<serde_json::Value>(&claims).unwrap()["sid"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let path = format!("/auth/sessions/{}", sid_of(&other));
    let revoke_one = || {
        send(
            &h,
            bearer(ApiRequest::new("DELETE", &path), &access),
            NOW_MS,
        )
    };
    let revoked_one = revoke_one();
    assert_eq!(revoked_one.status, 204);
    assert_problem(&revoke_one(), 404, "not_found");
    h.login(ALICE, PASSWORD);
    let others = || {
        send(
            &h,
            bearer(ApiRequest::new("DELETE", "/auth/sessions"), &access),
            NOW_MS,
        )
    };
    let revoked_others = others();
    assert_eq!(revoked_others.status, 204);
    assert_eq!(others().status, 204, "nothing left to revoke");
    // A password change, a reset, and the account's deletion.
    let change = send(
        &h,
        bearer(ApiRequest::new("POST", "/auth/password/change"), &access)
            .json(&json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD})),
        NOW_MS,
    );
    assert_eq!(change.status, 204);
    forgot(&h, ALICE);
    let reset = post(
        &h,
        "/auth/password/reset",
        json!({"token": reset_token(&h, ALICE), "new_password": PASSWORD}),
        NOW_MS,
    );
    assert_eq!(reset.status, 204);
    let duplicate = post(
        &h,
        "/auth/register",
        json!({"email": ALICE, "password": PASSWORD}),
        NOW_MS,
    );
    assert_problem(&duplicate, 409, "email_taken");
    let access = h.token(ALICE);
    let delete = send(
        &h,
        bearer(ApiRequest::new("DELETE", "/auth/me"), &access).json(&json!({"password": PASSWORD})),
        NOW_MS,
    );
    assert_eq!(delete.status, 204);
    let recorded: Vec<(String, String)> = events(&h)
        .into_iter()
        .filter(|e| !e.0.starts_with("login_"))
        .map(|e| (e.0, e.4))
        .collect();
    let expected: Vec<(String, String)> = [
        ("user_registered", None),
        ("email_verified", Some(&verified)),
        ("session_revoked", Some(&revoked_one)),
        ("session_revoked", Some(&revoked_others)),
        ("password_changed", Some(&change)),
        ("password_reset", Some(&reset)),
        ("account_deleted", Some(&delete)),
    ]
    .into_iter()
    .zip(&recorded)
    .map(|((kind, r), (_, id))| (kind.to_owned(), r.map_or(id.clone(), request_id)))
    .collect();
    assert_eq!(recorded, expected);
    // The events outlive the account, and name it by id only.
    assert!(h.users.get(ALICE).is_none());
    assert!(events(&h).iter().all(|e| e.1 == uid));
}

#[test]
fn a_batch_that_fails_leaves_neither_the_change_nor_its_event() {
    let h = Harness::new();
    // The database is unreachable: nothing is written.
    h.users.fail.set(true);
    let r = post(
        &h,
        "/auth/register",
        json!({"email": ALICE, "password": PASSWORD}),
        NOW_MS,
    );
    assert_problem(&r, 503, "service_unavailable");
    h.users.fail.set(false);
    assert!(h.users.get(ALICE).is_none());
    assert!(events(&h).is_empty());

    // The event's own insert fails inside the batch: the change it records is rolled back.
    h.register(ALICE, PASSWORD);
    let access = h.token(ALICE);
    let before = events(&h).len();
    let hash = h.users.user_row(ALICE).unwrap().password_hash;
    h.users.with_conn(|c| {
        c.execute_batch(
            "CREATE TEMP TRIGGER refuse_events BEFORE INSERT ON audit_events \
             WHEN NEW.type = 'password_changed' BEGIN SELECT RAISE(ABORT, 'injected'); END;",
        )
    });
    let change = send(
        &h,
        bearer(ApiRequest::new("POST", "/auth/password/change"), &access)
            .json(&json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD})),
        NOW_MS,
    );
    assert_problem(&change, 503, "service_unavailable");
    assert_eq!(h.users.user_row(ALICE).unwrap().password_hash, hash);
    assert_eq!(events(&h).len(), before);
    assert_eq!(h.me(&access, NOW_MS).status, 200, "no session was revoked");
}

const KEY: &str = "an-admin-key-of-at-least-32-characters!";

fn list(h: &Harness, query: &str) -> ApiResponse {
    h.send(
        ApiRequest::new("GET", &format!("/admin/events{query}"))
            .header("authorization", &format!("Bearer {KEY}")),
    )
}

/// Every page of the listing with `filter`, `limit` at a time: the events' ids, in order.
fn all_pages(h: &Harness, filter: &str, limit: u32) -> Vec<String> {
    let (mut ids, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let query = match &cursor {
            Some(c) => format!("?limit={limit}{filter}&cursor={c}"),
            None => format!("?limit={limit}{filter}"),
        };
        let page = list(h, &query);
        assert_eq!(page.status, 200, "{}", page.body_json());
        let body = page.body_json();
        let events = body["events"].as_array().unwrap();
        assert!(events.len() <= limit as usize);
        ids.extend(events.iter().map(|e| e["id"].as_str().unwrap().to_owned()));
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return ids,
        }
    }
}

#[test]
fn the_events_list_pages_newest_first_by_user_and_type_without_repeats() {
    let h = Harness::with_config(config_with(&[("ADMIN_API_KEY", KEY)]));
    for (i, email) in ["a@example.com", "b@example.com", "c@example.com"]
        .iter()
        .enumerate()
    {
        post(
            &h,
            "/auth/register",
            json!({"email": email, "password": PASSWORD}),
            NOW_MS + i as i64,
        );
        post(
            &h,
            "/auth/login",
            json!({"email": email, "password": "wrong"}),
            NOW_MS + 10,
        );
        post(
            &h,
            "/auth/login",
            json!({"email": email, "password": PASSWORD}),
            NOW_MS + 10,
        );
    }
    // Newest first: by time, then by id within one millisecond.
    let stored: Vec<(String, String, String)> = h.users.with_conn(|c| {
        let mut stmt = c.prepare(
            "SELECT CAST(id AS TEXT), user_id, type FROM audit_events ORDER BY at DESC, id DESC",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect()
    });
    assert_eq!(stored.len(), 9);
    let ids = |keep: &dyn Fn(&(String, String, String)) -> bool| -> Vec<String> {
        stored
            .iter()
            .filter(|e| keep(e))
            .map(|e| e.0.clone())
            .collect()
    };
    assert_eq!(all_pages(&h, "", 2), ids(&|_| true));
    assert_eq!(all_pages(&h, "", 200), ids(&|_| true));
    let b = user_id(&h, "b@example.com");
    assert_eq!(
        all_pages(&h, &format!("&user_id={b}"), 1),
        ids(&|e| e.1 == b)
    );
    assert_eq!(
        all_pages(&h, "&type=login_failed", 2),
        ids(&|e| e.2 == "login_failed")
    );
    assert_eq!(
        all_pages(&h, &format!("&user_id={b}&type=login_succeeded"), 1),
        ids(&|e| e.1 == b && e.2 == "login_succeeded")
    );
    assert!(all_pages(&h, "&type=no_such_type", 5).is_empty());

    // The view: `id` a string, `at` RFC 3339 with milliseconds.
    let first = &list(&h, "?limit=1").body_json()["events"][0];
    assert_eq!(first["id"].as_str(), Some(stored[0].0.as_str()));
    assert_eq!(first["at"], "2027-01-15T08:00:00.010Z");
    assert_eq!(first["ip"], IP);
    assert_eq!(first["user_agent"], AGENT);
}

#[test]
fn the_events_list_refuses_bad_limits_cursors_and_user_ids() {
    let h = Harness::with_config(config_with(&[("ADMIN_API_KEY", KEY)]));
    for i in 0..3 {
        post(
            &h,
            "/auth/register",
            json!({"email": format!("u{i}@example.com"), "password": PASSWORD}),
            NOW_MS,
        );
    }
    let page = list(&h, "?limit=1").body_json();
    let cursor = page["next_cursor"].as_str().unwrap();
    for (query, field) in [
        ("?limit=0", "limit"),
        ("?limit=201", "limit"),
        ("?limit=ten", "limit"),
        ("?cursor=not-ours", "cursor"),
        (
            &format!("?type=login_failed&cursor={cursor}") as &str,
            "cursor",
        ),
        ("?user_id=not-a-uuid", "user_id"),
    ] {
        let r = list(&h, query);
        assert_problem(&r, 422, "validation_failed");
        assert_eq!(error_fields(&r)[0].0, field, "{query}");
    }
    assert_eq!(list(&h, &format!("?limit=1&cursor={cursor}")).status, 200);
    // Without the key the listing is not there.
    let r = h.send(ApiRequest::new("GET", "/admin/events"));
    assert_problem(&r, 401, "invalid_token");
}

#[test]
fn an_admin_action_whose_event_fails_leaves_the_account_as_it_was() {
    let h = Harness::with_config(config_with(&[("ADMIN_API_KEY", KEY)]));
    h.register(ALICE, PASSWORD);
    let access = h.token(ALICE);
    let uid = user_id(&h, ALICE);
    let before = events(&h).len();
    h.users.with_conn(|c| {
        c.execute_batch(
            "CREATE TEMP TRIGGER refuse_events BEFORE INSERT ON audit_events \
             WHEN NEW.type = 'account_disabled' BEGIN SELECT RAISE(ABORT, 'injected'); END;",
        )
    });
    let patch = h.send(
        ApiRequest::new("PATCH", &format!("/admin/users/{uid}"))
            .header("authorization", &format!("Bearer {KEY}"))
            .json(&json!({"disabled": true})),
    );
    assert_problem(&patch, 503, "service_unavailable");
    assert_eq!(events(&h).len(), before, "not even admin_user_updated");
    assert_eq!(h.me(&access, NOW_MS).status, 200, "no session was revoked");
    assert_eq!(h.login(ALICE, PASSWORD).status, 200, "still enabled");
}

#[test]
fn a_second_factor_logins_events_carry_each_responses_request_id() {
    let h = Harness::with_config(config_with(&[(
        "MFA_ENCRYPTION_KEY",
        "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA",
    )]));
    h.register(ALICE, PASSWORD);
    let uid = user_id(&h, ALICE);
    // Two-step verification on, as the store holds it, with one recovery code.
    let code = "abcde-fghij";
    let hash = edge_auth::app::mfa::recovery_codes::hash(&uid, code).unwrap();
    h.users.with_conn(|c| {
        c.execute_batch(&format!(
            "INSERT INTO mfa_totp (user_id, sealed_secret, enabled_at, recovery_batch, \
                 updated_at) VALUES ('{uid}', 'v1.k.x', 1, 'b1', 1); \
             INSERT INTO mfa_recovery_codes (code_hash, user_id, batch) \
                 VALUES ('{hash}', '{uid}', 'b1');"
        ))
    });
    let before = events(&h).len();
    let creds = json!({"email": ALICE, "password": PASSWORD});
    let first_half = post(&h, "/auth/login", creds, NOW_MS);
    assert_problem(&first_half, 403, "mfa_required");
    let token = first_half.body_json()["mfa_token"].clone();
    let wrong = post(
        &h,
        "/auth/mfa/verify",
        json!({"mfa_token": token, "recovery_code": "zzzzz-zzzzz"}),
        NOW_MS,
    );
    assert_problem(&wrong, 401, "invalid_mfa_code");
    let right = post(
        &h,
        "/auth/mfa/verify",
        json!({"mfa_token": token, "recovery_code": code}),
        NOW_MS,
    );
    assert_eq!(right.status, 200, "{}", right.body_json());
    let recorded: Vec<(String, String)> = events(&h)
        .split_off(before)
        .into_iter()
        .map(|e| (e.0, e.4))
        .collect();
    let expected: Vec<(String, String)> = [
        ("mfa_required", &first_half),
        ("mfa_failed", &wrong),
        ("recovery_code_used", &right),
        ("login_succeeded", &right),
    ]
    .into_iter()
    .map(|(kind, r)| (kind.to_owned(), request_id(r)))
    .collect();
    assert_eq!(recorded, expected);
}
