//! What a failed password check costs when `make import` has moved in hashes costlier than our
//! own: every failure (unknown email, wrong password on any account, an invalid email, a
//! refused hash, a re-authentication) is padded to the cost the import recorded in D1
//! (`settings.imported_hash_max_work`), with no operator setting. The cost is read from each
//! `login_failed` line's `hash_iterations` (the PBKDF2 iterations the request ran).
#![cfg(not(target_arch = "wasm32"))]

mod common;

use base64::{engine::general_purpose::STANDARD, Engine};
use common::*;
use edge_auth::http::ApiRequest;
use edge_auth::password::{self, PasswordHash};
use serde_json::json;

/// Django's `pbkdf2_sha256$<iterations>$<salt>$<hash>` of `password`.
fn django_hash(password: &str, iterations: u32) -> String {
    let salt = "padsaltpadsalt";
    let hash = password::derive(password, salt.as_bytes(), iterations);
    format!(
        "pbkdf2_sha256${iterations}${salt}${}",
        STANDARD.encode(hash)
    )
}

/// `(reason, hash_iterations)` of every `login_failed` line since the last call.
fn failures(h: &Harness, seen: &mut usize) -> Vec<(String, u64)> {
    let lines = h.events("login_failed");
    let new = lines[*seen..]
        .iter()
        .map(|e| {
            (
                e["reason"].as_str().unwrap().to_owned(),
                e["hash_iterations"].as_u64().unwrap(),
            )
        })
        .collect();
    *seen = lines.len();
    new
}

#[test]
fn every_failed_login_costs_what_the_costliest_imported_hash_costs() {
    // Our own hashes at ITERATIONS (1,000); an import brought in a Django hash of 5,000.
    const IMPORTED: u32 = 5 * ITERATIONS;
    let h = Harness::new();
    h.register("ours@example.com", PASSWORD);
    h.users.put_raw(stored_user(
        "moved@example.com",
        django_hash(PASSWORD, IMPORTED),
    ));
    let tampered = PasswordHash::create(PASSWORD, ITERATIONS)
        .unwrap()
        .to_phc()
        .replace("i=1000,", "i=4000000000,");
    h.users
        .put_raw(stored_user("tampered@example.com", tampered));
    let mut seen = 0;

    // Before the import is recorded, an unknown email costs only our own count: a wrong
    // password on the migrated account takes five times as long.
    h.login("ghost@example.com", PASSWORD);
    h.login("moved@example.com", "wrong password!");
    assert_eq!(
        failures(&h, &mut seen),
        [
            ("unknown_email".to_owned(), u64::from(ITERATIONS)),
            ("wrong_password".to_owned(), u64::from(IMPORTED)),
        ]
    );

    // What `make import` writes into D1 with the rows.
    h.users.record_imported_hash_work(u64::from(IMPORTED));
    for (email, password) in [
        ("ghost@example.com", PASSWORD),
        ("moved@example.com", "wrong password!"),
        ("ours@example.com", "wrong password!"),
        ("tampered@example.com", PASSWORD),
        ("not an email", PASSWORD),
    ] {
        assert_problem(&h.login(email, password), 401, "invalid_credentials");
    }
    let imported = u64::from(IMPORTED);
    assert_eq!(
        failures(&h, &mut seen),
        [
            ("unknown_email".to_owned(), imported),
            ("wrong_password".to_owned(), imported),
            ("wrong_password".to_owned(), imported),
            ("stored_hash_refused".to_owned(), imported),
            ("unknown_email".to_owned(), imported),
        ]
    );

    // A re-authentication goes through the same check: a wrong password on account deletion.
    let token = h.token("ours@example.com");
    let r = h.send(
        ApiRequest::new("DELETE", "/auth/me")
            .header("authorization", &format!("Bearer {token}"))
            .json(&json!({ "password": "wrong password!" })),
    );
    assert_problem(&r, 401, "invalid_credentials");
    assert_eq!(
        failures(&h, &mut seen),
        [("wrong_password".to_owned(), imported)]
    );

    // A later import of cheaper hashes does not lower it.
    h.users.record_imported_hash_work(u64::from(ITERATIONS));
    h.login("ghost@example.com", PASSWORD);
    assert_eq!(
        failures(&h, &mut seen),
        [("unknown_email".to_owned(), imported)]
    );
}

#[test]
fn a_configured_floor_above_the_recorded_import_cost_still_holds() {
    let mut h = Harness::new();
    h.config.login_failure_iterations = 4 * ITERATIONS;
    h.users.record_imported_hash_work(u64::from(2 * ITERATIONS));
    h.login("ghost@example.com", PASSWORD);
    let mut seen = 0;
    assert_eq!(
        failures(&h, &mut seen),
        [("unknown_email".to_owned(), u64::from(4 * ITERATIONS))]
    );
}
