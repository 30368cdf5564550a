//! Wasm tier: what only behaves like production when compiled to wasm32 and run on a JS engine
//! (randomness from the `wasm_js` backend, PBKDF2 and Ed25519 in wasm, the sliced PBKDF2 giving
//! the JS event loop its turn between slices). Runs under Node with `wasm-bindgen-test-runner`
//! (`make test-wasm`).
#![cfg(target_arch = "wasm32")]

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use edge_auth::password::PasswordHash;
use edge_auth::platform::token_keys::WebCryptoKeys;
use edge_auth::tokens::AccessClaims;
use js_sys::wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

type KeySet = edge_auth::tokens::KeySet<WebCryptoKeys>;

#[wasm_bindgen_test]
fn randomness_comes_from_the_js_backend() {
    let a = edge_auth::domain::random::bytes::<32>().unwrap();
    let b = edge_auth::domain::random::bytes::<32>().unwrap();
    assert_ne!(a, b);
    assert_ne!(a, [0u8; 32]);
    let id = edge_auth::domain::random::uuid_v4().unwrap();
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
async fn signing_keys_parse_and_sign_in_wasm() {
    let seed = edge_auth::domain::random::bytes::<32>().unwrap();
    let keys = format!(
        r#"[{{"kty":"OKP","crv":"Ed25519","kid":"w1","d":"{}"}}]"#,
        URL_SAFE_NO_PAD.encode(seed)
    );
    let keys = KeySet::from_jwks_json(&keys).unwrap();
    keys.ready().await.unwrap();
    assert_eq!(keys.signing_kid(), "w1");
    let claims = AccessClaims {
        iss: "i".into(),
        aud: "a".into(),
        sub: "s".into(),
        email: "e@example.com".into(),
        email_verified: true,
        sid: "sid".into(),
        jti: "j".into(),
        typ: "access".into(),
        amr: edge_auth::domain::amr::Amr::totp(),
    };
    let now = chrono::DateTime::from_timestamp_millis(js_sys::Date::now() as i64).unwrap();
    let token = keys.issue(&claims, now, 900).await.unwrap();
    let verified = keys.verify(&token, now, "i", "a").await.unwrap();
    assert_eq!(verified.claims, claims);
    assert_eq!(keys.jwks()["keys"][0]["kid"], "w1");
    // The public key WebCrypto derived from `d` alone is the one the native parser derives.
    let native_x = "iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w";
    let seeded = KeySet::from_jwks_json(
        r#"[{"kty":"OKP","crv":"Ed25519","kid":"p","d":"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE"}]"#,
    )
    .unwrap();
    seeded.ready().await.unwrap();
    assert_eq!(seeded.jwks()["keys"][0]["x"], native_x);
    assert!(seeded.jwks_text().contains(native_x));
}

const VECTORS: &str = include_str!("tokens/vectors.json");

fn b64(v: &serde_json::Value) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(v.as_str().unwrap()).unwrap()
}

#[wasm_bindgen_test]
async fn webcrypto_signs_and_verifies_the_shared_vectors() {
    use edge_auth::tokens::signer::{Ed25519Keys, KeyBytes};
    let vectors: serde_json::Value = serde_json::from_str(VECTORS).unwrap();
    for v in vectors["signatures"].as_array().unwrap() {
        let key = |part: &str| Some(<[u8; 32]>::try_from(b64(&v[part])).unwrap());
        let keys = WebCryptoKeys::new(vec![KeyBytes {
            d: key("d"),
            x: key("x"),
        }])
        .unwrap();
        let message = b64(&v["message"]);
        let expected: [u8; 64] = b64(&v["signature"]).try_into().unwrap();
        let signature = keys.sign(&message).await.unwrap();
        assert_eq!(signature, expected);
        assert!(keys.verify(0, &message, &signature).await.unwrap());
        let mut other = expected;
        other[0] ^= 1;
        assert!(!keys.verify(0, &message, &other).await.unwrap());
    }
}

#[wasm_bindgen_test]
async fn the_shared_vector_token_is_issued_byte_for_byte_and_accepted_in_wasm() {
    let vectors: serde_json::Value = serde_json::from_str(VECTORS).unwrap();
    let v = &vectors["token"];
    let keys = KeySet::from_jwks_json(&serde_json::json!([v["jwk"]]).to_string()).unwrap();
    let claims = AccessClaims {
        iss: "i".into(),
        aud: "a".into(),
        sub: "s".into(),
        email: "e@example.com".into(),
        email_verified: true,
        sid: "sid".into(),
        jti: "j".into(),
        typ: "access".into(),
        amr: edge_auth::domain::amr::Amr::totp(),
    };
    let iat = chrono::DateTime::from_timestamp(v["iat"].as_i64().unwrap(), 0).unwrap();
    let token = keys
        .issue(&claims, iat, v["ttl"].as_i64().unwrap())
        .await
        .unwrap();
    assert_eq!(token, v["token"].as_str().unwrap());
    let fresh = KeySet::from_jwks_json(&serde_json::json!([v["jwk"]]).to_string()).unwrap();
    let verified = fresh
        .verify(v["token"].as_str().unwrap(), iat, "i", "a")
        .await
        .unwrap();
    assert_eq!(verified.claims, claims);
    // One character inside the signature changed: refused.
    let mut forged = token.clone().into_bytes();
    let inside = forged.len() - 10;
    forged[inside] = if forged[inside] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    assert_eq!(
        fresh.verify(&forged, iat, "i", "a").await,
        Err(edge_auth::http::error::TokenRejection::BadSignature)
    );
}

#[wasm_bindgen_test]
async fn a_private_key_whose_x_does_not_match_is_refused_in_wasm() {
    let vectors: serde_json::Value = serde_json::from_str(VECTORS).unwrap();
    let mut jwk = vectors["token"]["jwk"].clone();
    jwk["x"] = vectors["signatures"][0]["x"].clone();
    let keys = KeySet::from_jwks_json(&serde_json::json!([jwk]).to_string()).unwrap();
    let refused = keys.ready().await.unwrap_err();
    assert_eq!(refused.to_string(), "key 0: x does not match d");
}

#[wasm_bindgen_test]
fn blocklist_is_embedded_in_the_wasm() {
    assert!(edge_auth::password::blocklist::is_common("password1"));
    assert!(edge_auth::password::blocklist::len() > 2_000);
}

#[wasm_bindgen_test]
#[allow(clippy::disallowed_methods)] // std's lower-casing, compiled to wasm, is the reference
fn lower_casing_in_wasm_matches_std_for_every_character() {
    // The tables are made natively by build.rs; the wasm's own std must agree with them.
    let mut one = String::new();
    for c in (0..=0x10_FFFF_u32).filter_map(char::from_u32) {
        one.clear();
        one.push(c);
        assert_eq!(
            edge_auth::domain::lowercase::to_lowercase(&one),
            one.to_lowercase(),
            "{c:?}"
        );
    }
    let greek = "ΟΔΥΣΣΕΥΣ Σ.Α ΑΣ\u{301} İstanbul";
    assert_eq!(
        edge_auth::domain::lowercase::to_lowercase(greek),
        greek.to_lowercase()
    );
}

/// A promise that a JS timer of 0 ms resolves: a macrotask, so whatever else is queued on the
/// event loop (another request, a timer) runs before it.
fn zero_timer() -> js_sys::Promise {
    let set_timeout = js_sys::Function::from(
        js_sys::Reflect::get(&js_sys::global(), &"setTimeout".into()).unwrap(),
    );
    js_sys::Promise::new(&mut |resolve, _reject| {
        set_timeout
            .call2(&JsValue::UNDEFINED, &resolve, &0.into())
            .unwrap();
    })
}

fn ticks(counter: &js_sys::Object) -> f64 {
    js_sys::Reflect::get(counter, &"n".into())
        .unwrap()
        .as_f64()
        .unwrap_or(0.0)
}

/// A hash run in slices: PBKDF2 (`iterations`, `slice` per slice) or bcrypt (`cost`, `rounds`
/// per slice).
enum Sliced {
    Pbkdf2 { iterations: u32, slice: u32 },
    Bcrypt { cost: u32, rounds: u32 },
}

const SALT: &[u8; 16] = b"0123456789abcdef";

/// `hash` with `pause` while a JS interval counts its own callbacks; returns the hash and the
/// interval's count before and after each pause.
async fn sliced_beside_an_interval<F, Fut>(hash: Sliced, mut pause: F) -> (Vec<u8>, Vec<(f64, f64)>)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let global = js_sys::global();
    let get =
        |name: &str| js_sys::Function::from(js_sys::Reflect::get(&global, &name.into()).unwrap());
    let counter = js_sys::Object::new();
    let tick = js_sys::Function::new_with_args("c", "c.n = (c.n || 0) + 1");
    let interval = get("setInterval")
        .call3(&JsValue::UNDEFINED, &tick, &0.into(), &counter)
        .unwrap();
    let seen = std::cell::RefCell::new(Vec::new());
    let counted_pause = || {
        let before = ticks(&counter);
        let paused = pause();
        let (counter, seen) = (&counter, &seen);
        async move {
            paused.await;
            seen.borrow_mut().push((before, ticks(counter)));
        }
    };
    let password = b"correct horse battery";
    let nonzero = |n| std::num::NonZeroU32::new(n).unwrap();
    let out = match hash {
        Sliced::Pbkdf2 { iterations, slice } => edge_auth::password::pbkdf2::derive_sliced(
            password,
            SALT,
            iterations,
            nonzero(slice),
            counted_pause,
        )
        .await
        .to_vec(),
        Sliced::Bcrypt { cost, rounds } => edge_auth::password::bcrypt::hash_yielding(
            cost,
            SALT,
            password,
            nonzero(rounds),
            counted_pause,
        )
        .await
        .to_vec(),
    };
    get("clearInterval")
        .call1(&JsValue::UNDEFINED, &interval)
        .unwrap();
    (out, seen.into_inner())
}

/// Runs `hash` with a zero JS timer as the pause, then with a pause that never reaches the
/// event loop, and checks both against `expected` and `pauses`.
async fn check_sliced_in_wasm(hash: impl Fn() -> Sliced, expected: &[u8], pauses: usize) {
    let (out, seen) = sliced_beside_an_interval(hash(), || async {
        js_sys::futures::JsFuture::from(zero_timer()).await.unwrap();
    })
    .await;
    assert_eq!(out, expected);
    assert_eq!(seen.len(), pauses);
    // The interval's callback ran during every pause: the event loop got the isolate back.
    for (before, after) in &seen {
        assert!(after > before, "no other work ran in a pause: {seen:?}");
    }

    // The control: a pause that does not reach the event loop lets nothing else run.
    let (out, seen) = sliced_beside_an_interval(hash(), || async {}).await;
    assert_eq!(out, expected);
    assert_eq!(seen.len(), pauses);
    assert!(seen.iter().all(|(before, after)| before == after));
    assert_eq!(seen.first().unwrap().0, seen.last().unwrap().1);
}

#[wasm_bindgen_test]
async fn sliced_pbkdf2_lets_other_work_run_between_slices_in_wasm() {
    let (iterations, slice) = (20_000, 2_000);
    let mut expected = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(b"correct horse battery", SALT, iterations, &mut expected);
    check_sliced_in_wasm(|| Sliced::Pbkdf2 { iterations, slice }, &expected, 9).await;
}

#[wasm_bindgen_test]
async fn sliced_bcrypt_lets_other_work_run_between_slices_in_wasm() {
    // Cost 6: 64 rounds, in slices of 10: seven slices, six pauses.
    let (cost, rounds) = (6, 10);
    let reference = bcrypt::hash_with_salt("correct horse battery", cost, *SALT)
        .unwrap()
        .to_string();
    let bcrypt64 = base64::engine::general_purpose::GeneralPurpose::new(
        &base64::alphabet::BCRYPT,
        base64::engine::general_purpose::NO_PAD,
    );
    let expected = bcrypt64.decode(&reference[29..]).unwrap();
    check_sliced_in_wasm(|| Sliced::Bcrypt { cost, rounds }, &expected, 6).await;
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

mod two_step_verification_on_webcrypto {
    //! The native tests' vectors on the runtime's WebCrypto (Node's here, workerd's in the
    //! Worker): both implementations of `MfaCrypto` give the same bytes.
    use edge_auth::app::mfa::crypto::{CryptoError, MfaCrypto};
    use edge_auth::app::mfa::known_answers as kat;
    use edge_auth::app::mfa::secret_box::{self, SecretBoxError};
    use edge_auth::app::mfa::totp::{self, TotpSecret};
    use edge_auth::config::MfaKeys;
    use edge_auth::platform::webcrypto::WebCrypto;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    async fn hmac_sha1_matches_the_rfc_2202_vector() {
        let mac = WebCrypto
            .hmac_sha1(kat::HMAC_KEY, kat::HMAC_MESSAGE)
            .await
            .unwrap();
        assert_eq!(kat::hex(&mac), kat::HMAC_SHA1);
    }

    #[wasm_bindgen_test]
    async fn totp_codes_match_the_rfc_6238_sha1_vectors() {
        for (time, expected) in kat::TOTP_SHA1_8_DIGITS {
            let step = totp::step_at(time);
            let eight = totp::code_at(&WebCrypto, kat::TOTP_SEED, step, 8)
                .await
                .unwrap();
            assert_eq!(eight, expected, "T = {time}");
            let six = totp::code_at(&WebCrypto, kat::TOTP_SEED, step, totp::DIGITS)
                .await
                .unwrap();
            assert_eq!(six, expected[2..], "T = {time}");
        }
        let secret = TotpSecret::from_bytes(*kat::TOTP_SEED);
        let accepted = totp::verify(&WebCrypto, &secret, "287082", 59, None)
            .await
            .unwrap();
        assert_eq!(accepted, Some(1));
        let replayed = totp::verify(&WebCrypto, &secret, "287082", 59, Some(1))
            .await
            .unwrap();
        assert_eq!(replayed, None);
    }

    #[wasm_bindgen_test]
    async fn aes_256_gcm_matches_the_gcm_specification_vector() {
        let key: [u8; 32] = kat::unhex(kat::GCM_KEY).try_into().unwrap();
        let nonce: [u8; 12] = kat::unhex(kat::GCM_IV).try_into().unwrap();
        let aad = kat::unhex(kat::GCM_AAD);
        let plaintext = kat::unhex(kat::GCM_PLAINTEXT);
        let sealed = WebCrypto
            .aes_256_gcm_seal(&key, &nonce, &aad, &plaintext)
            .await
            .unwrap();
        assert_eq!(
            kat::hex(&sealed),
            format!("{}{}", kat::GCM_CIPHERTEXT, kat::GCM_TAG)
        );
        let opened = WebCrypto
            .aes_256_gcm_open(&key, &nonce, &aad, &sealed)
            .await
            .unwrap();
        assert_eq!(opened, plaintext);
        let mut altered = sealed.clone();
        altered[3] ^= 1;
        assert_eq!(
            WebCrypto
                .aes_256_gcm_open(&key, &nonce, &aad, &altered)
                .await,
            Err(CryptoError::Unauthentic)
        );
        assert_eq!(
            WebCrypto
                .aes_256_gcm_open(&key, &nonce, b"other", &sealed)
                .await,
            Err(CryptoError::Unauthentic)
        );
    }

    #[wasm_bindgen_test]
    async fn a_secret_sealed_natively_opens_on_webcrypto_and_not_for_another_user() {
        let keys = MfaKeys::from_config(Some(kat::SEALED_KEY), None).unwrap();
        let opened = secret_box::open(&WebCrypto, &keys, kat::SEALED_USER, kat::SEALED)
            .await
            .unwrap();
        assert_eq!(opened.secret.expose(), kat::SEALED_SECRET);
        assert!(opened.current_key);
        let other = secret_box::open(
            &WebCrypto,
            &keys,
            "7c9e6679-7425-40de-944b-e07fc1f90ae7",
            kat::SEALED,
        )
        .await;
        assert_eq!(other.unwrap_err(), SecretBoxError::Unauthentic);

        // A seal in wasm opens again, under a fresh nonce each time.
        let secret = TotpSecret::from_bytes(*kat::SEALED_SECRET);
        let a = secret_box::seal(&WebCrypto, &keys, kat::SEALED_USER, &secret)
            .await
            .unwrap();
        let b = secret_box::seal(&WebCrypto, &keys, kat::SEALED_USER, &secret)
            .await
            .unwrap();
        assert_ne!(a, b);
        let again = secret_box::open(&WebCrypto, &keys, kat::SEALED_USER, &a)
            .await
            .unwrap();
        assert_eq!(again.secret.expose(), kat::SEALED_SECRET);
    }
}

/// The passkey signature vectors that `tests/passkeys` runs through RustCrypto, here through
/// the runtime's WebCrypto: the same verdict on the same bytes.
#[wasm_bindgen_test]
async fn passkey_signature_vectors_verify_as_recorded_with_webcrypto() {
    use edge_auth::app::passkeys::signature::verify_webauthn_signature;
    use edge_auth::app::passkeys::{cose, PasskeyError};
    use edge_auth::platform::signatures::WebCryptoVerifier;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
    let vectors: Vec<serde_json::Value> =
        serde_json::from_str(include_str!("passkeys/signature_vectors.json")).unwrap();
    assert_eq!(vectors.len(), 13);
    for v in vectors {
        let name = v["name"].as_str().unwrap();
        let key = cose::parse(&unhex(v["cose_key"].as_str().unwrap())).unwrap();
        let outcome = verify_webauthn_signature(
            &WebCryptoVerifier,
            &key,
            &unhex(v["message"].as_str().unwrap()),
            &unhex(v["signature"].as_str().unwrap()),
        )
        .await;
        let expected = if v["valid"].as_bool().unwrap() {
            Ok(())
        } else {
            Err(PasskeyError::BadSignature)
        };
        assert_eq!(outcome, expected, "{name}");
    }
}
