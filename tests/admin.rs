//! The admin API through the router, over the SQLite store: the gate, the account views and
//! flags, and what disabling an account does to its logins and sessions.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::collections::BTreeSet;

use common::*;
use edge_auth::http::{ApiRequest, ApiResponse};
use serde_json::{json, Value};

const KEY: &str = "an-admin-key-of-at-least-32-characters!";

fn admin_harness() -> Harness {
    Harness::with_config(config_with(&[("ADMIN_API_KEY", KEY)]))
}

fn admin(h: &Harness, method: &str, target: &str) -> ApiResponse {
    h.send(ApiRequest::new(method, target).header("authorization", &format!("Bearer {KEY}")))
}

fn admin_json(h: &Harness, method: &str, target: &str, body: Value) -> ApiResponse {
    h.send(
        ApiRequest::new(method, target)
            .header("authorization", &format!("Bearer {KEY}"))
            .json(&body),
    )
}

fn user_id(h: &Harness, email: &str) -> String {
    let r = admin(h, "GET", &format!("/admin/users?email={email}"));
    assert_eq!(r.status, 200, "{}", r.body_json());
    r.body_json()["users"][0]["id"].as_str().unwrap().to_owned()
}

fn refresh(h: &Harness, refresh_token: &str) -> ApiResponse {
    h.send(
        ApiRequest::new("POST", "/auth/refresh").json(&json!({ "refresh_token": refresh_token })),
    )
}

#[test]
fn without_a_usable_key_every_admin_path_and_the_console_are_not_found() {
    let short = "x".repeat(31);
    for config in [config_with(&[]), config_with(&[("ADMIN_API_KEY", &short)])] {
        let h = Harness::with_config(config);
        for (method, path) in [
            ("GET", "/admin"),
            ("GET", "/admin/users"),
            ("GET", "/admin/"),
            ("DELETE", "/admin/users/abc/sessions"),
            ("POST", "/admin/nothing-here"),
        ] {
            let r = h.send(
                ApiRequest::new(method, path).header("authorization", &format!("Bearer {short}")),
            );
            assert_problem(&r, 404, "not_found");
        }
    }
}

#[test]
fn the_gate_refuses_anything_but_the_key_before_routing_or_reading_the_body() {
    let h = admin_harness();
    h.register("alice@example.com", PASSWORD);
    let user_token = h.token("alice@example.com");
    let near_miss = format!("{KEY}x");
    let credentials: [Option<String>; 6] = [
        None,
        Some(format!("Bearer {user_token}")),
        Some(format!("Basic {KEY}")),
        Some(format!("Bearer {near_miss}")),
        Some(format!("Bearer {}", &KEY[..KEY.len() - 1])),
        Some(KEY.to_owned()),
    ];
    for credential in credentials {
        for (method, path) in [
            ("GET", "/admin/users"),
            ("GET", "/admin/no-such-path"),
            ("PUT", "/admin/users"),
            ("PATCH", "/admin/users/not-a-uuid"),
        ] {
            let mut req = ApiRequest::new(method, path).body(vec![b'x'; 20_000]);
            if let Some(c) = &credential {
                req = req.header("authorization", c);
            }
            let r = h.send(req);
            assert_problem(&r, 401, "invalid_token");
            assert_eq!(r.get_header("www-authenticate"), Some("Bearer"));
        }
    }
    // The scheme is case-insensitive; the console page needs no key.
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let r = h.send(
            ApiRequest::new("GET", "/admin/users")
                .header("authorization", &format!("{scheme} {KEY}")),
        );
        assert_eq!(r.status, 200);
    }
    let page = h.send(ApiRequest::new("GET", "/admin"));
    assert_eq!(page.status, 200);
    assert!(page
        .get_header("content-security-policy")
        .unwrap()
        .contains("script-src 'self'"));
    // With the key, the API's own answers: an unknown path, a method the route lacks.
    assert_problem(&admin(&h, "GET", "/admin/no-such-path"), 404, "not_found");
    assert_problem(&admin(&h, "PUT", "/admin/users"), 405, "method_not_allowed");
}

#[test]
fn the_admin_view_shows_the_account_and_an_unknown_or_malformed_id_is_not_found() {
    let h = admin_harness();
    h.register("bob@example.com", PASSWORD);
    let id = user_id(&h, "bob@example.com");
    let r = admin(&h, "GET", &format!("/admin/users/{id}"));
    assert_eq!(r.status, 200);
    let view = r.body_json();
    let keys: BTreeSet<&str> = view
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "id",
            "email",
            "created_at",
            "email_verified",
            "mfa_enabled",
            "passkeys",
            "disabled",
            "last_login_at"
        ])
    );
    assert_eq!(view["email"], "bob@example.com");
    assert_eq!(view["disabled"], false);
    assert_eq!(view["mfa_enabled"], false);
    assert_eq!(view["passkeys"], 0);
    assert_eq!(view["last_login_at"], Value::Null);
    // A login sets it, in the login's own batch; a failed login or a refresh does not.
    let login = h
        .login_at("bob@example.com", PASSWORD, NOW_MS + 5_000)
        .body_json();
    h.login("bob@example.com", "wrong password!");
    refresh(&h, login["refresh_token"].as_str().unwrap());
    let view = admin(&h, "GET", &format!("/admin/users/{id}")).body_json();
    assert_eq!(
        view["last_login_at"],
        edge_auth::app::rfc3339(NOW_MS + 5_000)
    );

    for path in [
        "/admin/users/00000000-0000-4000-8000-000000000000".to_owned(),
        "/admin/users/not-a-uuid".to_owned(),
        "/admin/users/00000000-0000-4000-8000-000000000000/sessions".to_owned(),
    ] {
        let method = if path.ends_with("sessions") {
            "DELETE"
        } else {
            "GET"
        };
        assert_problem(&admin(&h, method, &path), 404, "not_found");
    }
}

#[test]
fn a_login_adds_no_round_trip_for_last_login_at_or_the_disabled_flag() {
    let h = admin_harness();
    h.register("count@example.com", PASSWORD);
    let before = h.users.calls.get();
    assert_eq!(h.login("count@example.com", PASSWORD).status, 200);
    // The login's reservation-and-lookup batch, then the session's batch.
    assert_eq!(h.users.calls.get() - before, 2);
}

#[test]
fn a_disabled_account_is_refused_only_once_its_password_is_right_and_enabling_restores_login() {
    let h = admin_harness();
    h.register("carol@example.com", PASSWORD);
    let id = user_id(&h, "carol@example.com");
    let pair = h.login("carol@example.com", PASSWORD).body_json();
    let access = pair["access_token"].as_str().unwrap().to_owned();

    let r = admin_json(
        &h,
        "PATCH",
        &format!("/admin/users/{id}"),
        json!({"disabled": true}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.body_json()["disabled"], true);

    // Every session ended at once: the access token, the refresh token.
    assert_problem(&h.me(&access, NOW_MS), 401, "invalid_token");
    assert_problem(
        &refresh(&h, pair["refresh_token"].as_str().unwrap()),
        401,
        "invalid_grant",
    );
    // A wrong password stays 401; the right one is 403 account_disabled.
    assert_problem(
        &h.login("carol@example.com", "not the password"),
        401,
        "invalid_credentials",
    );
    assert_problem(
        &h.login("carol@example.com", PASSWORD),
        403,
        "account_disabled",
    );
    // A reset does not enable it.
    let r = admin(&h, "POST", &format!("/admin/users/{id}/password-reset"));
    assert_eq!(r.status, 202);
    assert_eq!(
        r.body_json()["message"],
        "A reset link is on its way to the account's address."
    );
    let token = email::reset_token(&h, "carol@example.com");
    assert_eq!(
        email::reset(&h, &token, "a brand new passphrase").status,
        204
    );
    assert_problem(
        &h.login("carol@example.com", "a brand new passphrase"),
        403,
        "account_disabled",
    );

    let r = admin_json(
        &h,
        "PATCH",
        &format!("/admin/users/{id}"),
        json!({"disabled": false}),
    );
    assert_eq!(r.body_json()["disabled"], false);
    assert_eq!(
        h.login("carol@example.com", "a brand new passphrase")
            .status,
        200
    );
    // Old sessions stay dead.
    assert_problem(&h.me(&access, NOW_MS), 401, "invalid_token");
}

#[test]
fn a_patch_sets_only_booleans_and_ignores_other_members() {
    let h = admin_harness();
    h.register("dave@example.com", PASSWORD);
    let id = user_id(&h, "dave@example.com");
    let path = format!("/admin/users/{id}");
    for bad in [
        json!({"disabled": null}),
        json!({"disabled": "true"}),
        json!({"email_verified": 1}),
    ] {
        let r = admin_json(&h, "PATCH", &path, bad);
        assert_problem(&r, 422, "validation_failed");
    }
    let r = admin_json(&h, "PATCH", &path, json!({}));
    assert_eq!(r.status, 200);
    assert_eq!(r.body_json()["email_verified"], false);
    let r = admin_json(
        &h,
        "PATCH",
        &path,
        json!({"email_verified": true, "email": "other@example.com"}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.body_json()["email_verified"], true);
    assert_eq!(r.body_json()["email"], "dave@example.com");
    assert_problem(
        &admin_json(
            &h,
            "PATCH",
            "/admin/users/00000000-0000-4000-8000-000000000000",
            json!({"disabled": true}),
        ),
        404,
        "not_found",
    );
}

#[test]
fn the_list_pages_by_a_literal_email_prefix_and_refuses_foreign_cursors_and_limits() {
    let h = admin_harness();
    for email in [
        "a_1@example.com",
        "ab1@example.com",
        "a%2@example.com",
        "b@example.com",
    ] {
        assert_eq!(h.register(email, PASSWORD).status, 201);
    }
    let emails = |r: &ApiResponse| -> Vec<String> {
        r.body_json()["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["email"].as_str().unwrap().to_owned())
            .collect()
    };
    // `_` and `%` are literal characters.
    let r = admin(&h, "GET", "/admin/users?email=A_");
    assert_eq!(emails(&r), ["a_1@example.com"]);
    let r = admin(&h, "GET", "/admin/users?email=a%25");
    assert_eq!(emails(&r), ["a%2@example.com"]);
    // Two pages of the `a` users, then nothing follows.
    let first = admin(&h, "GET", "/admin/users?email=+a&limit=2");
    assert_eq!(first.status, 200);
    let cursor = first.body_json()["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = admin(
        &h,
        "GET",
        &format!("/admin/users?email=a&limit=2&cursor={cursor}"),
    );
    assert_eq!(second.body_json()["next_cursor"], Value::Null);
    let mut seen = emails(&first);
    seen.extend(emails(&second));
    assert_eq!(seen.len(), 3);
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 3);
    // The cursor belongs to its filter; a made-up one is not ours.
    for target in [
        format!("/admin/users?email=b&cursor={cursor}"),
        format!("/admin/users?cursor={cursor}"),
        "/admin/users?cursor=bm90LWEtY3Vyc29y".to_owned(),
        "/admin/users?cursor=%%%".to_owned(),
    ] {
        let r = admin(&h, "GET", &target);
        assert_problem(&r, 422, "validation_failed");
        assert_eq!(error_fields(&r)[0].0, "cursor", "{target}");
    }
    for limit in ["0", "201", "-1", "ten", ""] {
        let r = admin(&h, "GET", &format!("/admin/users?limit={limit}"));
        assert_problem(&r, 422, "validation_failed");
        assert_eq!(error_fields(&r)[0].0, "limit");
    }
    let r = admin(&h, "GET", "/admin/users?limit=200");
    assert_eq!(emails(&r).len(), 4);
}

#[test]
fn revoking_sessions_ends_every_session_and_deleting_removes_the_account() {
    let h = admin_harness();
    h.register("erin@example.com", PASSWORD);
    let id = user_id(&h, "erin@example.com");
    let a = h.token("erin@example.com");
    let b = h.token("erin@example.com");
    assert_eq!(h.me(&a, NOW_MS).status, 200);
    assert_eq!(h.me(&b, NOW_MS).status, 200);
    let r = admin(&h, "DELETE", &format!("/admin/users/{id}/sessions"));
    assert_eq!(r.status, 204);
    assert_problem(&h.me(&a, NOW_MS), 401, "invalid_token");
    assert_problem(&h.me(&b, NOW_MS), 401, "invalid_token");
    // Login still works: revoking is not disabling.
    assert_eq!(h.login("erin@example.com", PASSWORD).status, 200);

    assert_eq!(
        admin(&h, "DELETE", &format!("/admin/users/{id}")).status,
        204
    );
    assert_problem(
        &admin(&h, "GET", &format!("/admin/users/{id}")),
        404,
        "not_found",
    );
    assert_problem(
        &h.login("erin@example.com", PASSWORD),
        401,
        "invalid_credentials",
    );
    assert_problem(
        &admin(&h, "DELETE", &format!("/admin/users/{id}")),
        404,
        "not_found",
    );
    // The address can be registered again.
    assert_eq!(h.register("erin@example.com", PASSWORD).status, 201);
}

#[test]
fn removing_mfa_answers_204_whether_or_not_it_was_on_and_mails_only_when_it_was() {
    let h = admin_harness();
    h.register("fay@example.com", PASSWORD);
    let id = user_id(&h, "fay@example.com");
    assert_eq!(
        admin(&h, "DELETE", &format!("/admin/users/{id}/mfa")).status,
        204
    );
    let turned_off = |h: &Harness| {
        email::subjects(h, "fay@example.com")
            .into_iter()
            .filter(|s| s == "Two-step verification was turned off")
            .count()
    };
    assert_eq!(turned_off(&h), 0);
    h.users.with_conn(|c| {
        c.execute_batch(&format!(
            "INSERT INTO mfa_totp (user_id, sealed_secret, enabled_at, recovery_batch, \
                 updated_at) VALUES ('{id}', 'v1.k.x', 1, 'b1', 1); \
             INSERT INTO mfa_recovery_codes (code_hash, user_id, batch) \
                 VALUES ('h1', '{id}', 'b1');"
        ))
    });
    assert_eq!(
        admin(&h, "GET", &format!("/admin/users/{id}")).body_json()["mfa_enabled"],
        true
    );
    assert_eq!(
        admin(&h, "DELETE", &format!("/admin/users/{id}/mfa")).status,
        204
    );
    assert_eq!(
        admin(&h, "GET", &format!("/admin/users/{id}")).body_json()["mfa_enabled"],
        false
    );
    let codes: i64 = h
        .users
        .with_conn(|c| c.query_row("SELECT COUNT(*) FROM mfa_recovery_codes", [], |r| r.get(0)));
    assert_eq!(codes, 0);
    assert_eq!(turned_off(&h), 1);
}

#[test]
fn an_operator_reset_is_sent_past_the_hourly_cap_and_voids_older_links() {
    let h = Harness::with_config(config_with(&[
        ("ADMIN_API_KEY", KEY),
        ("EMAIL_MAX_PER_HOUR", "1"),
    ]));
    h.register("gus@example.com", PASSWORD);
    let id = user_id(&h, "gus@example.com");
    assert_eq!(email::forgot(&h, "gus@example.com").status, 202);
    let own = email::reset_token(&h, "gus@example.com");
    let resets = |h: &Harness| {
        email::subjects(h, "gus@example.com")
            .into_iter()
            .filter(|s| s == "Reset your password")
            .count()
    };
    // The account's own cap is reached: a second forgot sends nothing.
    email::forgot(&h, "gus@example.com");
    assert_eq!(resets(&h), 1);
    for _ in 0..2 {
        assert_eq!(
            admin(&h, "POST", &format!("/admin/users/{id}/password-reset")).status,
            202
        );
    }
    assert_eq!(resets(&h), 3);
    let latest = email::reset_token(&h, "gus@example.com");
    assert_problem(
        &email::reset(&h, &own, "a brand new passphrase"),
        400,
        "invalid_email_token",
    );
    assert_eq!(
        email::reset(&h, &latest, "a brand new passphrase").status,
        204
    );
}

/// The types of the events about user `id` written since it had `before`, oldest first.
fn events_since(h: &Harness, id: &str, before: usize) -> Vec<String> {
    let all: Vec<String> = h.users.with_conn(|c| {
        let mut stmt = c.prepare("SELECT type FROM audit_events WHERE user_id = ?1 ORDER BY id")?;
        let rows = stmt.query_map([id], |r| r.get(0))?;
        rows.collect()
    });
    all[before..].to_vec()
}

#[test]
fn each_admin_action_records_its_event_and_what_it_did_and_reads_record_none() {
    let h = admin_harness();
    h.register("hal@example.com", PASSWORD);
    let id = user_id(&h, "hal@example.com");
    let _ = h.token("hal@example.com");
    let mut seen = events_since(&h, &id, 0).len();
    let mut expect = |h: &Harness, r: ApiResponse, status: u16, types: &[&str]| {
        assert_eq!(r.status, status, "{}", r.body_json());
        assert_eq!(events_since(h, &id, seen), types);
        seen += types.len();
        if !types.is_empty() {
            let request: String = h.users.with_conn(|c| {
                c.query_row(
                    "SELECT request_id FROM audit_events ORDER BY id DESC LIMIT 1",
                    [],
                    |r| r.get(0),
                )
            });
            assert_eq!(Some(request.as_str()), r.get_header("x-request-id"));
        }
    };
    let user = format!("/admin/users/{id}");
    let patch = |body: Value| admin_json(&h, "PATCH", &user, body);
    // Reads record nothing.
    expect(&h, admin(&h, "GET", &user), 200, &[]);
    expect(&h, admin(&h, "GET", "/admin/users"), 200, &[]);
    expect(&h, admin(&h, "GET", "/admin/events"), 200, &[]);
    // Flags: the action always, the account's change only when the flag changes.
    expect(&h, patch(json!({})), 200, &["admin_user_updated"]);
    expect(
        &h,
        patch(json!({"email_verified": true})),
        200,
        &["admin_user_updated"],
    );
    expect(
        &h,
        patch(json!({"disabled": true})),
        200,
        &["admin_user_updated", "account_disabled"],
    );
    expect(
        &h,
        patch(json!({"disabled": true})),
        200,
        &["admin_user_updated"],
    );
    expect(
        &h,
        patch(json!({"disabled": false})),
        200,
        &["admin_user_updated", "account_enabled"],
    );
    expect(
        &h,
        patch(json!({"disabled": false})),
        200,
        &["admin_user_updated"],
    );
    let unknown = "/admin/users/00000000-0000-4000-8000-000000000000";
    let r = admin_json(&h, "PATCH", unknown, json!({"disabled": true}));
    assert_problem(&r, 404, "not_found");
    expect(&h, admin(&h, "GET", &user), 200, &[]);

    // Sessions: `session_revoked` only when one was revoked.
    let sessions = format!("{user}/sessions");
    let _ = h.token("hal@example.com");
    expect(
        &h,
        admin(&h, "DELETE", &sessions),
        204,
        &[
            "login_succeeded",
            "admin_sessions_revoked",
            "session_revoked",
        ],
    );
    expect(
        &h,
        admin(&h, "DELETE", &sessions),
        204,
        &["admin_sessions_revoked"],
    );

    // Two-step verification: `mfa_disabled` only when it was on.
    let mfa = format!("{user}/mfa");
    expect(&h, admin(&h, "DELETE", &mfa), 204, &["admin_mfa_removed"]);
    h.users.with_conn(|c| {
        c.execute_batch(&format!(
            "INSERT INTO mfa_totp (user_id, sealed_secret, enabled_at, recovery_batch, \
                 updated_at) VALUES ('{id}', 'v1.k.x', 1, 'b1', 1);"
        ))
    });
    expect(
        &h,
        admin(&h, "DELETE", &mfa),
        204,
        &["admin_mfa_removed", "mfa_disabled"],
    );

    let reset = format!("{user}/password-reset");
    expect(
        &h,
        admin(&h, "POST", &reset),
        202,
        &["admin_password_reset_sent"],
    );
    expect(
        &h,
        admin(&h, "DELETE", &user),
        204,
        &["admin_user_deleted", "account_deleted"],
    );
}
