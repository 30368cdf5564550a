//! The passkey endpoints end to end over SQLite (the D1 SQL and migrations): each endpoint's
//! outcomes, with the software authenticator answering the options the service issued.

use crate::authenticator::{b64, Assertion, Authenticator, Registration, ORIGIN, RP_ID, UV};
use crate::common::{assert_problem, config_with, error_fields, Harness, NOW_MS, PASSWORD};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use edge_auth::app::passkeys::Algorithm;
use edge_auth::http::{ApiRequest, ApiResponse};
use serde_json::{json, Value};

const ALICE: &str = "alice@example.com";
const BOB: &str = "bob@example.com";

fn harness_with(extra: &[(&str, &str)]) -> Harness {
    let mut vars = vec![("WEBAUTHN_RP_ID", RP_ID), ("WEBAUTHN_ORIGINS", ORIGIN)];
    vars.extend_from_slice(extra);
    let h = Harness::with_config(config_with(&vars));
    for email in [ALICE, BOB] {
        assert_eq!(h.register(email, PASSWORD).status, 201);
    }
    h
}

fn harness() -> Harness {
    harness_with(&[])
}

fn post(h: &Harness, path: &str, token: Option<&str>, body: Option<Value>) -> ApiResponse {
    let mut req = ApiRequest::new("POST", path);
    if let Some(t) = token {
        req = req.header("authorization", &format!("Bearer {t}"));
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    h.send(req)
}

fn unb64(s: &Value) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(s.as_str().unwrap()).unwrap()
}

fn register_options(h: &Harness, token: &str) -> Value {
    let r = post(h, "/auth/passkeys/register/options", Some(token), None);
    assert_eq!(r.status, 200, "{}", r.body_json());
    r.body_json()["publicKey"].clone()
}

/// The authenticator's answer to fresh registration options of the token's user.
fn registration(h: &Harness, token: &str, a: &Authenticator) -> Registration {
    let options = register_options(h, token);
    let mut r = Registration::new(a);
    r.client_data["challenge"] = options["challenge"].clone();
    r
}

fn register(h: &Harness, token: &str, r: &Registration, name: Option<&str>) -> ApiResponse {
    let mut body = json!({ "credential": r.to_json() });
    if let Some(n) = name {
        body["name"] = json!(n);
    }
    post(h, "/auth/passkeys/register", Some(token), Some(body))
}

/// An assertion by `a` for fresh login options, with user handle `handle`.
fn assertion(h: &Harness, a: &Authenticator, count: u32, handle: &[u8]) -> Assertion {
    let r = post(h, "/auth/passkeys/login/options", None, None);
    assert_eq!(r.status, 200);
    let mut s = Assertion::new(a, count);
    s.client_data["challenge"] = r.body_json()["publicKey"]["challenge"].clone();
    s.user_handle = Some(handle.to_vec());
    s
}

fn login(h: &Harness, s: &Assertion, a: &Authenticator) -> ApiResponse {
    post(
        h,
        "/auth/passkeys/login",
        None,
        Some(json!({ "credential": s.to_json(a) })),
    )
}

/// Alice with a registered passkey of `alg`: her token, the authenticator and her handle.
fn alice_with_passkey(h: &Harness, alg: Algorithm) -> (String, Authenticator, Vec<u8>) {
    let token = h.token(ALICE);
    let a = Authenticator::new(alg, 1);
    let options = register_options(h, &token);
    let mut r = Registration::new(&a);
    r.client_data["challenge"] = options["challenge"].clone();
    assert_eq!(register(h, &token, &r, None).status, 201);
    (token, a, unb64(&options["user"]["id"]))
}

fn list(h: &Harness, token: &str) -> Vec<Value> {
    let r = h.send(
        ApiRequest::new("GET", "/auth/passkeys")
            .header("authorization", &format!("Bearer {token}")),
    );
    assert_eq!(r.status, 200);
    r.body_json()["passkeys"].as_array().unwrap().clone()
}

#[test]
fn registration_options_name_the_relying_party_and_a_stable_random_user_handle() {
    let h = harness();
    let token = h.token(ALICE);
    let o = register_options(&h, &token);
    assert_eq!(o["rp"], json!({ "id": RP_ID, "name": "edge-auth" }));
    assert_eq!(o["user"]["name"], ALICE);
    assert_eq!(o["user"]["displayName"], ALICE);
    let handle = unb64(&o["user"]["id"]);
    assert_eq!(handle.len(), 32);
    assert_ne!(handle, ALICE.as_bytes());
    assert_eq!(unb64(&o["challenge"]).len(), 32);
    let algs: Vec<i64> = o["pubKeyCredParams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["alg"].as_i64().unwrap())
        .collect();
    assert_eq!(algs, [-8, -7, -257]);
    assert_eq!(o["attestation"], "none");
    assert_eq!(
        o["authenticatorSelection"],
        json!({ "residentKey": "required", "userVerification": "required" })
    );
    assert_eq!(o["excludeCredentials"], json!([]));
    // The same handle on every call, a new challenge each time; `{}` works as a body too.
    let again = post(
        &h,
        "/auth/passkeys/register/options",
        Some(&token),
        Some(json!({})),
    );
    let again = &again.body_json()["publicKey"];
    assert_eq!(again["user"]["id"], o["user"]["id"]);
    assert_ne!(again["challenge"], o["challenge"]);
    // Another user has another handle.
    let bob = register_options(&h, &h.token(BOB));
    assert_ne!(bob["user"]["id"], o["user"]["id"]);
}

#[test]
fn the_passkey_endpoints_of_a_user_need_a_bearer_token() {
    let h = harness();
    for (method, path) in [
        ("POST", "/auth/passkeys/register/options"),
        ("POST", "/auth/passkeys/register"),
        ("GET", "/auth/passkeys"),
        ("DELETE", "/auth/passkeys/some-id"),
    ] {
        let r = h.send(ApiRequest::new(method, path).json(&json!({})));
        assert_problem(&r, 401, "invalid_token");
    }
}

#[test]
fn a_registration_for_each_algorithm_is_stored_listed_excluded_and_mailed() {
    let h = harness();
    let token = h.token(ALICE);
    let mut ids = Vec::new();
    for (seed, alg) in Algorithm::ALL.into_iter().enumerate() {
        let a = Authenticator::new(alg, seed as u8 + 1);
        let r = registration(&h, &token, &a);
        let resp = register(&h, &token, &r, Some(&format!("key {seed}")));
        assert_eq!(resp.status, 201, "{alg:?}: {}", resp.body_json());
        let view = resp.body_json();
        assert_eq!(view["name"], format!("key {seed}"));
        assert_eq!(view["created_at"], "2027-01-15T08:00:00.000Z");
        assert_eq!(view["last_used_at"], Value::Null);
        ids.push(view["id"].as_str().unwrap().to_owned());
    }
    let listed: Vec<String> = list(&h, &token)
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, [ids[2].clone(), ids[1].clone(), ids[0].clone()]);
    let excluded = register_options(&h, &token)["excludeCredentials"].clone();
    assert_eq!(excluded.as_array().unwrap().len(), 3);
    assert_eq!(excluded[0]["type"], "public-key");
    assert_eq!(
        excluded[0]["id"],
        b64(&Authenticator::new(Algorithm::EdDsa, 1).credential_id)
    );
    assert_eq!(excluded[0]["transports"], json!(["internal", "hybrid"]));
    let mails = h.inbox(ALICE);
    let added: Vec<_> = mails
        .iter()
        .filter(|m| m.subject == "A passkey was added to your account")
        .collect();
    assert_eq!(added.len(), 3);
}

#[test]
fn a_registration_without_a_name_is_named_passkey_and_the_date() {
    let h = harness();
    let token = h.token(ALICE);
    let r = registration(&h, &token, &Authenticator::new(Algorithm::EdDsa, 1));
    let resp = register(&h, &token, &r, None);
    assert_eq!(resp.status, 201);
    assert_eq!(resp.body_json()["name"], "Passkey 2027-01-15");
}

#[test]
fn a_name_outside_1_to_64_code_points_is_a_422_on_name() {
    let h = harness();
    let token = h.token(ALICE);
    let a = Authenticator::new(Algorithm::EdDsa, 1);
    for name in [String::new(), "é".repeat(65)] {
        let r = registration(&h, &token, &a);
        let resp = register(&h, &token, &r, Some(&name));
        assert_problem(&resp, 422, "validation_failed");
        assert_eq!(error_fields(&resp)[0].0, "name");
    }
    // 64 code points of two bytes each is fine.
    let r = registration(&h, &token, &a);
    assert_eq!(register(&h, &token, &r, Some(&"é".repeat(64))).status, 201);
    // A body without a credential object is a 422 on credential.
    let resp = post(
        &h,
        "/auth/passkeys/register",
        Some(&token),
        Some(json!({ "credential": "x" })),
    );
    assert_problem(&resp, 422, "validation_failed");
    assert_eq!(
        error_fields(&resp),
        [("credential".into(), "invalid_type".into())]
    );
}

#[test]
fn a_registration_failing_a_check_is_400_and_spends_its_challenge() {
    let h = harness();
    let token = h.token(ALICE);
    let a = Authenticator::new(Algorithm::Es256, 1);
    let mut r = registration(&h, &token, &a);
    r.client_data["origin"] = json!("https://evil.example.com");
    assert_problem(&register(&h, &token, &r, None), 400, "invalid_passkey");
    // The same challenge with the right origin: spent.
    r.client_data["origin"] = json!(ORIGIN);
    assert_problem(&register(&h, &token, &r, None), 400, "invalid_passkey");
    // Without user verification.
    let mut r = registration(&h, &token, &a);
    r.auth_data.flags &= !UV;
    assert_problem(&register(&h, &token, &r, None), 400, "invalid_passkey");
    // A challenge issued to another user.
    let mut r = Registration::new(&a);
    r.client_data["challenge"] = register_options(&h, &h.token(BOB))["challenge"].clone();
    assert_problem(&register(&h, &token, &r, None), 400, "invalid_passkey");
    // A login's challenge.
    let mut r = Registration::new(&a);
    r.client_data["challenge"] = post(&h, "/auth/passkeys/login/options", None, None).body_json()
        ["publicKey"]["challenge"]
        .clone();
    assert_problem(&register(&h, &token, &r, None), 400, "invalid_passkey");
    // A challenge never issued, and one expired.
    let r = Registration::new(&a);
    assert_problem(&register(&h, &token, &r, None), 400, "invalid_passkey");
    let r = registration(&h, &token, &a);
    let late = h.send_at(
        ApiRequest::new("POST", "/auth/passkeys/register")
            .header("authorization", &format!("Bearer {token}"))
            .json(&json!({ "credential": r.to_json() })),
        NOW_MS + 300_000,
    );
    assert_problem(&late, 400, "invalid_passkey");
    assert!(list(&h, &token).is_empty());
    // Garbage of every kind is a 400, never a 500.
    for credential in [json!({}), json!({"id": 1}), json!({"type": "public-key"})] {
        let resp = post(
            &h,
            "/auth/passkeys/register",
            Some(&token),
            Some(json!({ "credential": credential })),
        );
        assert_problem(&resp, 400, "invalid_passkey");
    }
}

#[test]
fn a_credential_id_registered_by_anyone_is_409() {
    let h = harness();
    let (_, a, _) = alice_with_passkey(&h, Algorithm::EdDsa);
    let alice = h.token(ALICE);
    let r = registration(&h, &alice, &a);
    assert_problem(&register(&h, &alice, &r, None), 409, "passkey_exists");
    let bob = h.token(BOB);
    let r = registration(&h, &bob, &a);
    assert_problem(&register(&h, &bob, &r, None), 409, "passkey_exists");
}

#[test]
fn a_passkey_is_deleted_by_its_user_only_and_404_otherwise() {
    let h = harness();
    let (alice, _, _) = alice_with_passkey(&h, Algorithm::EdDsa);
    let id = list(&h, &alice)[0]["id"].as_str().unwrap().to_owned();
    let delete = |token: &str, id: &str| {
        h.send(
            ApiRequest::new("DELETE", &format!("/auth/passkeys/{id}"))
                .header("authorization", &format!("Bearer {token}")),
        )
    };
    assert_problem(&delete(&h.token(BOB), &id), 404, "not_found");
    assert_problem(&delete(&alice, "no-such-passkey"), 404, "not_found");
    assert_eq!(delete(&alice, &id).status, 204);
    assert_problem(&delete(&alice, &id), 404, "not_found");
    assert!(list(&h, &alice).is_empty());
}

#[test]
fn login_options_are_discoverable_with_a_single_use_challenge() {
    let h = harness();
    let r = post(&h, "/auth/passkeys/login/options", None, Some(json!({})));
    assert_eq!(r.status, 200);
    let o = &r.body_json()["publicKey"];
    assert_eq!(o["rpId"], RP_ID);
    assert_eq!(o["userVerification"], "required");
    assert_eq!(o["allowCredentials"], json!([]));
    assert_eq!(unb64(&o["challenge"]).len(), 32);
}

#[test]
fn a_passkey_login_opens_a_session_with_hwk_user_mfa_for_each_algorithm() {
    for alg in Algorithm::ALL {
        let h = harness();
        let (alice, a, handle) = alice_with_passkey(&h, alg);
        let s = assertion(&h, &a, 1, &handle);
        let r = login(&h, &s, &a);
        assert_eq!(r.status, 200, "{alg:?}: {}", r.body_json());
        let pair = r.body_json();
        assert_eq!(pair["token_type"], "Bearer");
        let access = pair["access_token"].as_str().unwrap();
        let me = h.me(access, NOW_MS);
        assert_eq!(me.status, 200);
        assert_eq!(me.body_json()["email"], ALICE);
        let verified = post(&h, "/auth/verify", None, Some(json!({ "token": access }))).body_json();
        assert_eq!(verified["amr"], json!(["hwk", "user", "mfa"]), "{verified}");
        // The use is recorded.
        assert_eq!(
            list(&h, &alice)[0]["last_used_at"],
            "2027-01-15T08:00:00.000Z"
        );
        // The refresh token works like a password login's.
        let refreshed = post(
            &h,
            "/auth/refresh",
            None,
            Some(json!({ "refresh_token": pair["refresh_token"] })),
        );
        assert_eq!(refreshed.status, 200);
    }
}

type Tamper = Box<dyn Fn(&mut Assertion)>;

#[test]
fn a_login_failing_any_check_is_401_and_changes_nothing() {
    let h = harness();
    let (alice, a, handle) = alice_with_passkey(&h, Algorithm::Es256);
    let bad: Vec<(&str, Tamper)> = vec![
        (
            "another user's handle",
            Box::new(|s| s.user_handle = Some(vec![1; 32])),
        ),
        (
            "type webauthn.create",
            Box::new(|s| s.client_data["type"] = json!("webauthn.create")),
        ),
        (
            "origin",
            Box::new(|s| s.client_data["origin"] = json!("https://evil.example.com")),
        ),
        ("user not verified", Box::new(|s| s.auth_data.flags &= !UV)),
        (
            "signature",
            Box::new(|s| s.tamper_signature = Some(|sig| sig[10] ^= 1)),
        ),
        (
            "unknown credential",
            Box::new(|s| {
                s.id = vec![5; 16];
                s.raw_id = vec![5; 16];
            }),
        ),
    ];
    for (name, tamper) in bad {
        let mut s = assertion(&h, &a, 1, &handle);
        tamper(&mut s);
        assert_problem(&login(&h, &s, &a), 401, "invalid_passkey");
        assert_eq!(list(&h, &alice)[0]["last_used_at"], Value::Null, "{name}");
    }
    // A challenge never issued, one of a registration, one expired, one spent.
    let s = Assertion::new(&a, 1);
    assert_problem(&login(&h, &s, &a), 401, "invalid_passkey");
    let mut s = Assertion::new(&a, 1);
    s.client_data["challenge"] = register_options(&h, &alice)["challenge"].clone();
    assert_problem(&login(&h, &s, &a), 401, "invalid_passkey");
    let s = assertion(&h, &a, 1, &handle);
    let late = h.send_at(
        ApiRequest::new("POST", "/auth/passkeys/login")
            .json(&json!({ "credential": s.to_json(&a) })),
        NOW_MS + 300_000,
    );
    assert_problem(&late, 401, "invalid_passkey");
    let s = assertion(&h, &a, 1, &handle);
    assert_eq!(login(&h, &s, &a).status, 200);
    assert_problem(&login(&h, &s, &a), 401, "invalid_passkey");
    // Malformed bodies.
    for credential in [json!({}), json!({"type": "public-key", "id": "!"})] {
        let r = post(
            &h,
            "/auth/passkeys/login",
            None,
            Some(json!({ "credential": credential })),
        );
        assert_problem(&r, 401, "invalid_passkey");
    }
}

#[test]
fn the_counter_must_grow_once_it_is_not_zero() {
    let h = harness();
    let (_, a, handle) = alice_with_passkey(&h, Algorithm::EdDsa);
    // Registered with 0: zeros pass, as an authenticator without a counter sends.
    assert_eq!(login(&h, &assertion(&h, &a, 0, &handle), &a).status, 200);
    assert_eq!(login(&h, &assertion(&h, &a, 0, &handle), &a).status, 200);
    assert_eq!(login(&h, &assertion(&h, &a, 5, &handle), &a).status, 200);
    for count in [5, 4, 0] {
        assert_problem(
            &login(&h, &assertion(&h, &a, count, &handle), &a),
            401,
            "invalid_passkey",
        );
    }
    assert_eq!(login(&h, &assertion(&h, &a, 6, &handle), &a).status, 200);
}

#[test]
fn an_unverified_account_is_403_after_every_check_holds_when_verification_is_required() {
    let h = harness_with(&[("REQUIRE_EMAIL_VERIFICATION", "true")]);
    let a = Authenticator::new(Algorithm::EdDsa, 1);
    // Alice's passkey, registered while verification was not required (the same database).
    let lax = h.elsewhere(config_with(&[
        ("WEBAUTHN_RP_ID", RP_ID),
        ("WEBAUTHN_ORIGINS", ORIGIN),
    ]));
    let token = lax.token(ALICE);
    let options = register_options(&lax, &token);
    let mut r = Registration::new(&a);
    r.client_data["challenge"] = options["challenge"].clone();
    assert_eq!(register(&lax, &token, &r, None).status, 201);
    let handle = unb64(&options["user"]["id"]);
    let s = assertion(&h, &a, 1, &handle);
    assert_problem(&login(&h, &s, &a), 403, "email_not_verified");
    // A failed check still comes first.
    let mut s = assertion(&h, &a, 2, &handle);
    s.tamper_signature = Some(|sig| sig[3] ^= 1);
    assert_problem(&login(&h, &s, &a), 401, "invalid_passkey");
}

#[test]
fn login_options_and_passkey_login_count_toward_logins_per_ip_limit() {
    let h = harness();
    h.ip_limiter.limit.set(2);
    let from = |path: &str| {
        h.send(
            ApiRequest::new("POST", path)
                .header("cf-connecting-ip", "203.0.113.9")
                .json(&json!({})),
        )
    };
    assert_eq!(from("/auth/passkeys/login/options").status, 200);
    assert_problem(&from("/auth/passkeys/login"), 422, "validation_failed");
    let r = from("/auth/passkeys/login/options");
    assert_problem(&r, 429, "too_many_requests");
    assert_problem(&from("/auth/passkeys/login"), 429, "too_many_requests");
    let r = h.send(
        ApiRequest::new("POST", "/auth/login")
            .header("cf-connecting-ip", "203.0.113.9")
            .json(&json!({ "email": ALICE, "password": PASSWORD })),
    );
    assert_problem(&r, 429, "too_many_requests");
}

#[test]
fn the_relying_party_defaults_to_the_requests_origin() {
    let h = Harness::new();
    assert_eq!(h.register(ALICE, PASSWORD).status, 201);
    let r = h.send(
        ApiRequest::new("POST", "/auth/passkeys/login/options").origin("http://localhost:8787"),
    );
    assert_eq!(r.body_json()["publicKey"]["rpId"], "localhost");
}

#[test]
fn the_scheduled_cleanup_deletes_expired_challenges_and_keeps_live_ones() {
    use edge_auth::app::cleanup;
    use edge_auth::http::Ctx;
    let h = harness();
    let (_, a, handle) = alice_with_passkey(&h, Algorithm::EdDsa);
    let options_at = |now_ms| {
        let r = h.send_at(
            ApiRequest::new("POST", "/auth/passkeys/login/options"),
            now_ms,
        );
        r.body_json()["publicKey"]["challenge"].clone()
    };
    options_at(NOW_MS - 300_000);
    let live = options_at(NOW_MS);
    let ctx = Ctx::new("cleanup".into(), NOW_MS);
    let report = futures::executor::block_on(cleanup::run(&*h.users, &h.config, &ctx));
    assert_eq!(report.passkey_challenges, 1);
    assert!(!report.incomplete);
    let mut s = Assertion::new(&a, 1);
    s.client_data["challenge"] = live;
    s.user_handle = Some(handle);
    assert_eq!(login(&h, &s, &a).status, 200);
}

const ADMIN_KEY: &str = "an-admin-key-of-at-least-32-characters!";

fn set_disabled(h: &Harness, email: &str, disabled: bool) {
    let id = h.users.get(email).unwrap().id.to_string();
    let r = h.send(
        ApiRequest::new("PATCH", &format!("/admin/users/{id}"))
            .header("authorization", &format!("Bearer {ADMIN_KEY}"))
            .json(&json!({ "disabled": disabled })),
    );
    assert_eq!(r.status, 200, "{}", r.body_json());
}

#[test]
fn a_disabled_account_is_403_after_every_check_holds_and_enabling_restores_login() {
    let h = harness_with(&[("ADMIN_API_KEY", ADMIN_KEY)]);
    let (_, a, handle) = alice_with_passkey(&h, Algorithm::EdDsa);
    set_disabled(&h, ALICE, true);
    let s = assertion(&h, &a, 1, &handle);
    assert_problem(&login(&h, &s, &a), 403, "account_disabled");
    // A failed check still comes first.
    let mut s = assertion(&h, &a, 2, &handle);
    s.tamper_signature = Some(|sig| sig[3] ^= 1);
    assert_problem(&login(&h, &s, &a), 401, "invalid_passkey");
    set_disabled(&h, ALICE, false);
    let s = assertion(&h, &a, 3, &handle);
    assert_eq!(login(&h, &s, &a).status, 200);
}

/// Alice's events, oldest first.
fn event_types(h: &Harness) -> Vec<String> {
    let id = h.users.get(ALICE).unwrap().id.to_string();
    h.users.with_conn(|c| {
        let mut stmt = c.prepare("SELECT type FROM audit_events WHERE user_id = ?1 ORDER BY id")?;
        let rows = stmt.query_map([&id], |r| r.get(0))?;
        rows.collect()
    })
}

#[test]
fn adding_using_and_removing_a_passkey_each_record_their_event_and_refusals_none() {
    let h = harness();
    let (alice, a, handle) = alice_with_passkey(&h, Algorithm::EdDsa);
    // The registration's own login, then the passkey.
    assert_eq!(
        event_types(&h),
        ["user_registered", "login_succeeded", "passkey_added"]
    );
    // Registering it again is a 409: nothing recorded.
    let again = registration(&h, &alice, &a);
    assert_problem(&register(&h, &alice, &again, None), 409, "passkey_exists");
    let s = assertion(&h, &a, 1, &handle);
    assert_eq!(login(&h, &s, &a).status, 200);
    let mut bad = assertion(&h, &a, 2, &handle);
    bad.tamper_signature = Some(|sig| sig[3] ^= 1);
    assert_problem(&login(&h, &bad, &a), 401, "invalid_passkey");
    let id = list(&h, &alice)[0]["id"].as_str().unwrap().to_owned();
    let delete = |token: &str| {
        h.send(
            ApiRequest::new("DELETE", &format!("/auth/passkeys/{id}"))
                .header("authorization", &format!("Bearer {token}")),
        )
    };
    assert_problem(&delete(&h.token(BOB)), 404, "not_found");
    assert_eq!(delete(&alice).status, 204);
    assert_problem(&delete(&alice), 404, "not_found");
    assert_eq!(
        event_types(&h),
        [
            "user_registered",
            "login_succeeded",
            "passkey_added",
            "login_succeeded",
            "passkey_removed"
        ]
    );
}
