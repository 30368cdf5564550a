//! API-level tests: the whole router and handlers over the SQLite store, natively.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::*;
use edge_auth::config::Config;
use edge_auth::domain::{Email, User, UserId};
use edge_auth::http::{ApiRequest, ApiResponse};
use edge_auth::password::PasswordHash;
use serde_json::{json, Value};

#[test]
fn register_creates_a_user_with_normalized_email() {
    let h = Harness::new();
    let r = h.register("  Alice@Example.COM ", PASSWORD);
    assert_eq!(r.status, 201);
    assert_eq!(r.get_header("location"), Some("/auth/me"));
    assert_eq!(r.get_header("cache-control"), Some("no-store"));
    let body = r.body_json();
    assert_eq!(body["email"], "alice@example.com");
    assert!(UserId::parse(body["id"].as_str().unwrap()).is_ok());
    assert_eq!(body["created_at"], "2027-01-15T08:00:00.000Z");
    assert!(body.get("password_hash").is_none());
    let stored = h.users.get("alice@example.com").unwrap();
    assert!(stored
        .password_hash
        .starts_with("$pbkdf2-sha256$i=1000,l=32$"));
}

#[test]
fn register_with_an_existing_email_in_any_case_is_409() {
    let h = Harness::new();
    assert_eq!(h.register("alice@example.com", PASSWORD).status, 201);
    let r = h.register("ALICE@example.com", "another good password");
    assert_problem(&r, 409, "email_taken");
    assert_eq!(h.users.len(), 1);
}

#[test]
fn register_reports_every_broken_rule() {
    let h = Harness::new();
    let r = h.register("not-an-email", "short");
    assert_problem(&r, 422, "validation_failed");
    assert_eq!(
        error_fields(&r),
        [
            ("email".into(), "invalid_format".into()),
            ("password".into(), "too_short".into())
        ]
    );
    let r = h.register("bob@example.com", "password123");
    assert_eq!(error_fields(&r), [("password".into(), "too_common".into())]);
    let r = h.register("bob@example.com", "BOB@example.com");
    assert_eq!(
        error_fields(&r),
        [("password".into(), "equals_email".into())]
    );
    let r = h.register("bob@example.com", &"a1".repeat(65));
    assert_eq!(error_fields(&r), [("password".into(), "too_long".into())]);
    assert!(
        h.users.is_empty(),
        "nothing is written on a validation failure"
    );
}

#[test]
fn missing_and_mistyped_fields_are_422_naming_the_field() {
    let h = Harness::new();
    let r = h.send(ApiRequest::new("POST", "/auth/register").json(&json!({})));
    assert_problem(&r, 422, "validation_failed");
    assert_eq!(
        error_fields(&r),
        [
            ("email".into(), "required".into()),
            ("password".into(), "required".into())
        ]
    );
    let r = h
        .send(ApiRequest::new("POST", "/auth/login").json(&json!({"email": 5, "password": ["x"]})));
    assert_problem(&r, 422, "validation_failed");
    assert_eq!(
        error_fields(&r),
        [
            ("email".into(), "invalid_type".into()),
            ("password".into(), "invalid_type".into())
        ]
    );
}

#[test]
fn malformed_bodies_are_400_and_oversized_ones_413() {
    let h = Harness::new();
    let post = |ct: &str, body: &[u8]| {
        h.send(
            ApiRequest::new("POST", "/auth/register")
                .header("content-type", ct)
                .body(body.to_vec()),
        )
    };
    assert_problem(
        &post("application/json", b"{not json"),
        400,
        "malformed_request",
    );
    assert_problem(
        &post("application/json", b"[1,2]"),
        400,
        "malformed_request",
    );
    assert_problem(
        &post("application/json", b"\"str\""),
        400,
        "malformed_request",
    );
    assert_problem(
        &post("application/json", b"{\"a\":\"\xff\"}"),
        400,
        "malformed_request",
    );
    assert_problem(&post("text/plain", b"{}"), 400, "malformed_request");
    assert_problem(
        &post("application/x-www-form-urlencoded", b"email=a"),
        400,
        "malformed_request",
    );
    let big = vec![b' '; 16 * 1024 + 1];
    assert_problem(&post("application/json", &big), 413, "payload_too_large");
    let exactly = format!(
        "{{\"email\":\"x\",\"pad\":\"{}\"}}",
        "p".repeat(16 * 1024 - 22)
    );
    assert_eq!(exactly.len(), 16 * 1024);
    assert_eq!(post("application/json", exactly.as_bytes()).status, 422);
    assert_eq!(
        post("application/json; charset=utf-8", b"{}").status,
        422,
        "parameters on the media type are fine"
    );
}

#[test]
fn login_returns_a_bearer_token_that_opens_me() {
    let h = Harness::new();
    h.register("alice@example.com", PASSWORD);
    let r = h.login("Alice@Example.com", PASSWORD);
    assert_eq!(r.status, 200);
    assert_eq!(r.get_header("cache-control"), Some("no-store"));
    let body = r.body_json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    let token = body["access_token"].as_str().unwrap();
    let me = h.me(token, NOW_MS + 1_000);
    assert_eq!(me.status, 200);
    assert_eq!(me.body_json()["email"], "alice@example.com");
    assert_eq!(me.get_header("cache-control"), Some("no-store"));
}

#[test]
fn login_accepts_the_oauth2_password_form() {
    let h = Harness::new();
    h.register("alice@example.com", PASSWORD);
    let r = h.send(
        ApiRequest::new("POST", "/auth/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                "grant_type=password&username=alice%40example.com&password=correct+horse+battery",
            ),
    );
    assert_eq!(r.status, 200, "{}", r.body_json());
    assert!(r.body_json()["access_token"].is_string());
}

#[test]
fn unknown_email_and_wrong_password_look_the_same() {
    let h = Harness::new();
    h.register("alice@example.com", PASSWORD);
    let wrong = h.login("alice@example.com", "not the password");
    let unknown = h.login("nobody@example.com", PASSWORD);
    let invalid = h.login("not an email", PASSWORD);
    for r in [&wrong, &unknown, &invalid] {
        assert_problem(r, 401, "invalid_credentials");
    }
    let strip = |r: &ApiResponse| {
        let mut b = r.body_json();
        b.as_object_mut().unwrap().remove("request_id");
        b
    };
    assert_eq!(strip(&wrong), strip(&unknown));
    assert_eq!(strip(&wrong), strip(&invalid));
    let reasons: Vec<Value> = h
        .events("login_failed")
        .iter()
        .map(|e| e["reason"].clone())
        .collect();
    assert_eq!(
        reasons,
        ["wrong_password", "unknown_email", "unknown_email"]
    );
}

#[test]
fn login_rehashes_a_hash_with_fewer_iterations() {
    let h = Harness::new();
    let old = PasswordHash::create(PASSWORD, 1_000).unwrap().to_phc();
    let user = User {
        id: UserId::new_random().unwrap(),
        email: Email::parse("old@example.com").unwrap(),
        password_hash: old.clone(),
        password_version: 0,
        created_at: "2020-01-01T00:00:00.000Z".into(),
        email_verified: false,
    };
    h.users.put_raw(user);
    let stronger = Harness {
        config: config_with(&[]),
        ..h
    };
    let mut stronger = stronger;
    stronger.config.pbkdf2_iterations = 2_000;
    assert_eq!(stronger.login("old@example.com", PASSWORD).status, 200);
    let new = stronger.users.get("old@example.com").unwrap().password_hash;
    assert!(new.starts_with("$pbkdf2-sha256$i=2000,l=32$"), "{new}");
    assert_eq!(stronger.events("password_rehashed").len(), 1);
    // The new hash still verifies, and a second login does not rehash again.
    assert_eq!(stronger.login("old@example.com", PASSWORD).status, 200);
    assert_eq!(stronger.events("password_rehashed").len(), 1);
}

#[test]
fn a_login_replaces_each_legacy_hash_and_logs_its_algorithm() {
    // Written by Python's bcrypt (cost 4), argon2-cffi (m=1024,t=1,p=1) and Django's algorithm.
    let legacy = [
        (
            "$2b$04$t.WATwxaNmTnp7DnBXdR5uxPmmxKNosUc1XmjFs6TIZztvy3GtqIC",
            "bcrypt",
        ),
        (
            "$argon2id$v=19$m=1024,t=1,p=1$1P7VkxKiDYdAosPFgdn8EQ$MHUQXJJuWmChsn0LFgfdReEEbDYdYZk/DKEaV50Jeug",
            "argon2id",
        ),
        (
            "pbkdf2_sha256$1000$Nq8aPwgDjhMx5Rb0Jx3vXy$uP6t036DzJrUpiXQa5mW91eJg0F0gwBgqXcOUCKuYqA=",
            "django-pbkdf2-sha256",
        ),
    ];
    let h = Harness::new();
    for (i, (hash, _)) in legacy.iter().enumerate() {
        h.users.put_raw(User {
            id: UserId::new_random().unwrap(),
            email: Email::parse(&format!("legacy{i}@example.com")).unwrap(),
            password_hash: (*hash).to_owned(),
            password_version: 0,
            created_at: "2020-01-01T00:00:00.000Z".into(),
            email_verified: false,
        });
    }
    for (i, (hash, algorithm)) in legacy.iter().enumerate() {
        let email = format!("legacy{i}@example.com");
        assert_problem(
            &h.login(&email, "correct horse batterY"),
            401,
            "invalid_credentials",
        );
        assert_eq!(h.users.get(&email).unwrap().password_hash, *hash);
        assert_eq!(h.login(&email, PASSWORD).status, 200);
        let new = h.users.get(&email).unwrap().password_hash;
        assert!(new.starts_with("$pbkdf2-sha256$i=1000,l=32$"), "{new}");
        let rehashed = h.events("password_rehashed");
        assert_eq!(rehashed.len(), i + 1);
        assert_eq!(rehashed[i]["from"], *algorithm);
        assert_eq!(h.login(&email, PASSWORD).status, 200);
        assert_eq!(h.events("password_rehashed").len(), i + 1);
    }
}

#[test]
fn a_legacy_hash_out_of_bounds_is_refused_not_computed() {
    let h = Harness::with_config(config_with(&[("BCRYPT_MAX_COST", "10")]));
    for (email, hash) in [
        // Cost 31 would run for days; 12 is above this deployment's BCRYPT_MAX_COST.
        (
            "b31@example.com",
            "$2b$31$t.WATwxaNmTnp7DnBXdR5uxPmmxKNosUc1XmjFs6TIZztvy3GtqIC",
        ),
        (
            "b12@example.com",
            "$2b$12$t.WATwxaNmTnp7DnBXdR5uxPmmxKNosUc1XmjFs6TIZztvy3GtqIC",
        ),
        (
            "a1g@example.com",
            "$argon2id$v=19$m=1048576,t=1,p=1$1P7VkxKiDYdAosPFgdn8EQ$MHUQXJJuWmChsn0LFgfdReEEbDYdYZk/DKEaV50Jeug",
        ),
    ] {
        h.users.put_raw(User {
            id: UserId::new_random().unwrap(),
            email: Email::parse(email).unwrap(),
            password_hash: hash.to_owned(),
            password_version: 0,
            created_at: "2020-01-01T00:00:00.000Z".into(),
            email_verified: false,
        });
        assert_problem(&h.login(email, PASSWORD), 401, "invalid_credentials");
    }
    let reasons: Vec<Value> = h
        .events("stored_hash_refused")
        .iter()
        .map(|e| e["reason"].clone())
        .collect();
    assert_eq!(
        reasons,
        [
            "bcrypt cost out of bounds",
            "bcrypt cost out of bounds",
            "argon2 parameters out of bounds"
        ]
    );
}

#[test]
fn a_stored_hash_beyond_the_ceiling_is_refused_not_computed() {
    let h = Harness::new();
    let hash = PasswordHash::create(PASSWORD, 1_000).unwrap().to_phc();
    let tampered = hash.replace("i=1000,", "i=4000000000,");
    h.users.put_raw(User {
        id: UserId::new_random().unwrap(),
        email: Email::parse("t@example.com").unwrap(),
        password_hash: tampered,
        password_version: 0,
        created_at: "2020-01-01T00:00:00.000Z".into(),
        email_verified: false,
    });
    let r = h.login("t@example.com", PASSWORD);
    assert_problem(&r, 401, "invalid_credentials");
    assert_eq!(h.events("stored_hash_refused").len(), 1);
}

#[test]
fn me_rejects_missing_malformed_expired_and_foreign_tokens() {
    let h = Harness::new();
    h.register("alice@example.com", PASSWORD);
    let token = h.token("alice@example.com");

    let r = h.send(ApiRequest::new("GET", "/auth/me"));
    assert_problem(&r, 401, "invalid_token");
    assert_eq!(r.get_header("www-authenticate"), Some("Bearer"));

    let r = h.me("garbage", NOW_MS);
    assert_problem(&r, 401, "invalid_token");
    assert_eq!(
        r.get_header("www-authenticate"),
        Some("Bearer error=\"invalid_token\"")
    );

    let after_expiry = NOW_MS + (900 + 31) * 1_000;
    assert_problem(&h.me(&token, after_expiry), 401, "invalid_token");
    let before_issue = NOW_MS - 31 * 1_000;
    assert_problem(&h.me(&token, before_issue), 401, "invalid_token");

    // The same user, a token from a key this service does not have.
    let keys = json!([jwk("k1", 9)]).to_string();
    let other = Harness::with_config(
        Config::from_lookup(|n| match n {
            "JWT_SIGNING_KEYS" => Some(keys.clone()),
            "PBKDF2_ITERATIONS" => Some("1000".into()),
            _ => None,
        })
        .unwrap(),
    );
    other.register("alice@example.com", PASSWORD);
    let forged = other.token("alice@example.com");
    assert_problem(&h.me(&forged, NOW_MS), 401, "invalid_token");

    let reasons: Vec<Value> = h
        .events("token_rejected")
        .iter()
        .map(|e| e["reason"].clone())
        .collect();
    assert_eq!(
        reasons,
        [
            "missing",
            "malformed",
            "expired",
            "not_yet_valid",
            "bad_signature"
        ]
    );
}

#[test]
fn a_token_for_a_deleted_user_is_rejected() {
    let h = Harness::new();
    h.register("alice@example.com", PASSWORD);
    let token = h.token("alice@example.com");
    let fresh = Harness::new(); // same key, empty store
    assert_problem(&fresh.me(&token, NOW_MS), 401, "invalid_token");
}

#[test]
fn oversized_authorization_is_refused_before_parsing() {
    let h = Harness::new();
    let huge = format!("Bearer {}", "a".repeat(8 * 1024));
    let r = h.send(ApiRequest::new("GET", "/auth/me").header("authorization", &huge));
    assert_problem(&r, 401, "invalid_token");
    assert_eq!(h.events("token_rejected")[0]["reason"], "too_large");
}

#[test]
fn jwks_lists_public_keys_and_is_cacheable() {
    let h = Harness::new();
    let r = h.send(ApiRequest::new("GET", "/.well-known/jwks.json"));
    assert_eq!(r.status, 200);
    assert_eq!(r.get_header("cache-control"), Some("public, max-age=300"));
    let keys = r.body_json()["keys"].clone();
    assert_eq!(keys[0]["kid"], "k1");
    assert_eq!(keys[0]["kty"], "OKP");
    assert_eq!(keys[0]["alg"], "EdDSA");
    assert!(keys[0].get("d").is_none());
}

#[test]
fn unknown_paths_are_404_and_wrong_methods_405_with_allow() {
    let h = Harness::new();
    assert_problem(&h.send(ApiRequest::new("GET", "/nope")), 404, "not_found");
    let r = h.send(ApiRequest::new("GET", "/auth/login"));
    assert_problem(&r, 405, "method_not_allowed");
    assert_eq!(r.get_header("allow"), Some("POST"));
    let r = h.send(ApiRequest::new("PUT", "/auth/me"));
    assert_problem(&r, 405, "method_not_allowed");
    assert_eq!(r.get_header("allow"), Some("GET, DELETE"));
}

#[test]
fn request_ids_are_echoed_when_safe_and_replaced_otherwise() {
    let h = Harness::new();
    let r = h.send(ApiRequest::new("GET", "/health").header("x-request-id", "trace-42"));
    assert_eq!(r.get_header("x-request-id"), Some("trace-42"));
    let r = h.send(ApiRequest::new("GET", "/nope").header("x-request-id", "bad id\n"));
    let id = r.get_header("x-request-id").unwrap();
    assert!(uuid::Uuid::try_parse(id).is_ok());
    assert_eq!(r.body_json()["request_id"], id);
}
