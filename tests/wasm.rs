//! Wasm tier: what only behaves like production when compiled to wasm32 and run on a JS engine
//! (randomness from the `wasm_js` backend, PBKDF2 and Ed25519 in wasm). Runs under Node with
//! `wasm-bindgen-test-runner` (`make test-wasm`).
#![cfg(target_arch = "wasm32")]

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use edge_auth::password::PasswordHash;
use edge_auth::tokens::{AccessClaims, KeySet};
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
fn randomness_comes_from_the_js_backend() {
    let a = edge_auth::random::bytes::<32>().unwrap();
    let b = edge_auth::random::bytes::<32>().unwrap();
    assert_ne!(a, b);
    assert_ne!(a, [0u8; 32]);
    let id = edge_auth::random::uuid_v4().unwrap();
    assert_eq!(id.get_version_num(), 4);
}

#[wasm_bindgen_test]
fn password_hash_round_trips_in_wasm() {
    let h = PasswordHash::create("correct horse battery", 10_000).unwrap();
    let phc = h.to_phc();
    let parsed = PasswordHash::parse(&phc, 10_000_000).unwrap();
    assert!(parsed.verify("correct horse battery"));
    assert!(!parsed.verify("correct horse batterY"));
    // Two hashes of one password differ: the salt is random.
    let other = PasswordHash::create("correct horse battery", 10_000).unwrap();
    assert_ne!(other.to_phc(), phc);
}

#[wasm_bindgen_test]
fn pbkdf2_matches_the_published_vector_in_wasm() {
    // PBKDF2-HMAC-SHA256, P="passwd", S="salt", c=1 (RFC 7914 §11).
    let out = edge_auth::password::derive("passwd", b"salt", 1);
    assert_eq!(out[..4], [0x55, 0xac, 0x04, 0x6e]);
}

#[wasm_bindgen_test]
fn signing_keys_parse_and_sign_in_wasm() {
    let seed = edge_auth::random::bytes::<32>().unwrap();
    let keys = format!(
        r#"[{{"kty":"OKP","crv":"Ed25519","kid":"w1","d":"{}"}}]"#,
        URL_SAFE_NO_PAD.encode(seed)
    );
    let keys = KeySet::from_jwks_json(&keys).unwrap();
    assert_eq!(keys.signing_kid(), "w1");
    let claims = AccessClaims {
        iss: "i".into(),
        aud: "a".into(),
        sub: "s".into(),
        email: "e@example.com".into(),
        sid: "sid".into(),
        jti: "j".into(),
        typ: "access".into(),
    };
    let now = chrono::DateTime::from_timestamp_millis(js_sys::Date::now() as i64).unwrap();
    let token = keys.issue(&claims, now, 900).unwrap();
    let verified = keys.verify(&token, now, "i", "a").unwrap();
    assert_eq!(verified.claims, claims);
    assert_eq!(keys.jwks()["keys"][0]["kid"], "w1");
}

#[wasm_bindgen_test]
fn blocklist_is_embedded_in_the_wasm() {
    assert!(edge_auth::blocklist::is_common("password1"));
    assert!(edge_auth::blocklist::len() > 2_000);
}

/// A hash pwdlib wrote with its defaults (fastapi-users' Argon2id: m=65536 KiB, t=3, p=4).
const PWDLIB_DEFAULT_ARGON2: &str = "$argon2id$v=19$m=65536,t=3,p=4$Q8ejsXjS1Q7OEc7/VE9U9Q$fmSeUH9XFuRCTDOYWfM8tI362GmqsD+FqLFkq6fzk74";

#[wasm_bindgen_test]
fn argon2id_at_64_mib_fits_the_workers_memory() {
    use edge_auth::password::{HashBounds, StoredHash};
    let bounds = HashBounds {
        pbkdf2_max_iterations: 10_000_000,
        bcrypt_max_cost: 13,
    };
    let page = 65_536usize;
    let before = core::arch::wasm32::memory_size::<0>() * page;
    let h = StoredHash::parse(PWDLIB_DEFAULT_ARGON2, &bounds).unwrap();
    assert!(h.verify("Argon2 pass phrase"));
    // Linear memory only grows: its size now is the peak of everything so far.
    let after = core::arch::wasm32::memory_size::<0>() * page;
    assert!(!h.verify("Argon2 pass phrasE"));
    let again = core::arch::wasm32::memory_size::<0>() * page;
    wasm_bindgen_test::console_log!(
        "argon2id m=65536,t=3,p=4: wasm linear memory {} KiB before, {} KiB at peak, {} KiB after a second verify",
        before / 1024,
        after / 1024,
        again / 1024
    );
    // The Worker's isolate has 128 MB for everything: the 64 MiB of blocks must fit with room.
    assert!(after < 100 * 1024 * 1024, "{after}");
    // The blocks are freed and reused: a second verification does not grow memory again.
    assert_eq!(again, after);
}

#[wasm_bindgen_test]
fn bcrypt_verifies_in_wasm() {
    use edge_auth::password::{HashBounds, StoredHash};
    let bounds = HashBounds {
        pbkdf2_max_iterations: 10_000_000,
        bcrypt_max_cost: 13,
    };
    let h = StoredHash::parse(
        "$2b$04$t.WATwxaNmTnp7DnBXdR5uxPmmxKNosUc1XmjFs6TIZztvy3GtqIC",
        &bounds,
    )
    .unwrap();
    assert!(h.verify("correct horse battery"));
    assert!(!h.verify("correct horse batterY"));
}
