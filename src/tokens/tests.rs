//! The key set, token issue and verification, the remembered tokens and the refresh tokens.
use super::*;
use ed25519_compact::{KeyPair, Seed};
use jwt_compact::alg::Ed25519;

/// The key set on the native backend.
type KeySet = super::KeySet<signer::CompactKeys>;

/// The key set's calls run to their end at once: the native backend never waits.
trait Blocking {
    fn issue_blocking(
        &self,
        claims: &AccessClaims,
        now: DateTime<Utc>,
        ttl_secs: i64,
    ) -> Result<String, String>;
    fn verify_blocking(
        &self,
        token: &str,
        now: DateTime<Utc>,
        issuer: &str,
        audience: &str,
    ) -> Result<VerifiedToken, TokenRejection>;
}

impl Blocking for KeySet {
    fn issue_blocking(
        &self,
        claims: &AccessClaims,
        now: DateTime<Utc>,
        ttl_secs: i64,
    ) -> Result<String, String> {
        futures::executor::block_on(self.issue(claims, now, ttl_secs))
    }

    fn verify_blocking(
        &self,
        token: &str,
        now: DateTime<Utc>,
        issuer: &str,
        audience: &str,
    ) -> Result<VerifiedToken, TokenRejection> {
        futures::executor::block_on(self.verify(token, now, issuer, audience))
    }
}

/// A deterministic JWK for tests: seed bytes all equal to `byte`.
pub fn test_jwk(kid: &str, byte: u8, private: bool) -> serde_json::Value {
    let pair = KeyPair::from_seed(Seed::new([byte; 32]));
    let mut jwk = serde_json::json!({
        "kty": "OKP", "crv": "Ed25519", "kid": kid,
        "x": URL_SAFE_NO_PAD.encode(*pair.pk),
    });
    if private {
        jwk["d"] = URL_SAFE_NO_PAD.encode([byte; 32]).into();
    }
    jwk
}

fn keyset(jwks: &[serde_json::Value]) -> KeySet {
    KeySet::from_jwks_json(&serde_json::Value::from(jwks.to_vec()).to_string()).unwrap()
}

fn claims() -> AccessClaims {
    AccessClaims {
        iss: "iss".into(),
        aud: "aud".into(),
        sub: "user".into(),
        email: "a@example.com".into(),
        email_verified: false,
        sid: "sid".into(),
        jti: "jti".into(),
        typ: ACCESS_TYPE.into(),
        amr: Amr::password(),
    }
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap()
}

#[test]
fn issued_token_verifies_and_carries_kid() {
    let keys = keyset(&[test_jwk("a", 1, true)]);
    let t = keys.issue_blocking(&claims(), at(1_000_000), 900).unwrap();
    let v = keys
        .verify_blocking(&t, at(1_000_100), "iss", "aud")
        .unwrap();
    assert_eq!(v.claims, claims());
    assert_eq!(v.exp, 1_000_900);
    assert_eq!(v.iat, 1_000_000);
    let header = URL_SAFE_NO_PAD
        .decode(t.split('.').next().unwrap())
        .unwrap();
    let header: serde_json::Value = serde_json::from_slice(&header).unwrap();
    assert_eq!(header["kid"], "a");
    assert_eq!(header["alg"], "EdDSA");
}

#[test]
fn the_amr_claim_is_a_json_array_of_the_sessions_methods() {
    let keys = keyset(&[test_jwk("a", 1, true)]);
    let totp = AccessClaims {
        amr: Amr::totp(),
        ..claims()
    };
    let t = keys.issue_blocking(&totp, at(1_000_000), 900).unwrap();
    let payload = URL_SAFE_NO_PAD
        .decode(t.split('.').nth(1).unwrap())
        .unwrap();
    let payload: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(payload["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    let v = keys
        .verify_blocking(&t, at(1_000_000), "iss", "aud")
        .unwrap();
    assert_eq!(v.claims.amr, Amr::totp());
}

#[test]
fn a_token_signed_without_amr_verifies_as_opened_by_a_password() {
    let keys = keyset(&[test_jwk("a", 1, true)]);
    let mut body = serde_json::to_value(claims()).unwrap();
    body.as_object_mut().unwrap().remove("amr");
    let options = TimeOptions::new(Duration::seconds(LEEWAY_SECS), || at(1_000_000));
    let body = Claims::new(body)
        .set_duration_and_issuance(&options, Duration::seconds(900))
        .set_not_before(at(1_000_000));
    let header = Header::empty().with_key_id("a");
    let signing = KeyPair::from_seed(Seed::new([1; 32])).sk;
    let t = Ed25519.token(&header, &body, &signing).unwrap();
    let v = keys
        .verify_blocking(&t, at(1_000_000), "iss", "aud")
        .unwrap();
    assert_eq!(v.claims.amr, Amr::password());
    assert_eq!(v.claims.sub, "user");
}

#[test]
fn time_claims_are_enforced_with_leeway() {
    let keys = keyset(&[test_jwk("a", 1, true)]);
    let t = keys.issue_blocking(&claims(), at(1_000_000), 900).unwrap();
    assert!(keys
        .verify_blocking(&t, at(1_000_900 + LEEWAY_SECS), "iss", "aud")
        .is_ok());
    assert_eq!(
        keys.verify_blocking(&t, at(1_000_901 + LEEWAY_SECS), "iss", "aud"),
        Err(TokenRejection::Expired)
    );
    assert_eq!(
        keys.verify_blocking(&t, at(1_000_000 - LEEWAY_SECS - 1), "iss", "aud"),
        Err(TokenRejection::NotYetValid)
    );
}

#[test]
fn a_remembered_token_is_judged_exactly_as_a_fresh_check_would() {
    let jwk = test_jwk("a", 1, true);
    let remembering = keyset(std::slice::from_ref(&jwk));
    let t = remembering
        .issue_blocking(&claims(), at(1_000_000), 900)
        .unwrap();
    // Remembered once verified...
    assert!(remembering
        .verify_blocking(&t, at(1_000_000), "iss", "aud")
        .is_ok());
    let base = at(1_000_000).timestamp_millis();
    let edges = [
        (1_000_000 - LEEWAY_SECS) * 1000,
        (1_000_900 + LEEWAY_SECS) * 1000,
    ];
    for edge in edges {
        for delta in [-1_001, -1, 0, 1, 999, 1_000] {
            let now = DateTime::from_timestamp_millis(edge + delta).unwrap();
            // ...and judged at each time as a key set that never saw it judges it.
            let fresh = keyset(std::slice::from_ref(&jwk));
            assert_eq!(
                remembering.verify_blocking(&t, now, "iss", "aud"),
                fresh.verify_blocking(&t, now, "iss", "aud"),
                "{} ms from the base",
                edge + delta - base
            );
            assert!(remembering
                .verify_blocking(&t, at(1_000_000), "iss", "aud")
                .is_ok());
        }
    }
    assert_eq!(
        remembering.verify_blocking(&t, at(1_000_000), "other", "aud"),
        Err(TokenRejection::WrongIssuer)
    );
    assert_eq!(
        remembering.verify_blocking(&t, at(1_000_000), "iss", "other"),
        Err(TokenRejection::WrongAudience)
    );
    // Another string (one signature byte changed) is checked in full.
    let mut forged = t.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    assert!(remembering
        .verify_blocking(&forged, at(1_000_000), "iss", "aud")
        .is_err());
}

#[test]
fn issuer_audience_and_type_are_checked() {
    let keys = keyset(&[test_jwk("a", 1, true)]);
    let now = at(1_000_000);
    let t = keys.issue_blocking(&claims(), now, 900).unwrap();
    assert_eq!(
        keys.verify_blocking(&t, now, "other", "aud"),
        Err(TokenRejection::WrongIssuer)
    );
    assert_eq!(
        keys.verify_blocking(&t, now, "iss", "other"),
        Err(TokenRejection::WrongAudience)
    );
    let refresh_like = AccessClaims {
        typ: "refresh".into(),
        ..claims()
    };
    let t = keys.issue_blocking(&refresh_like, now, 900).unwrap();
    assert_eq!(
        keys.verify_blocking(&t, now, "iss", "aud"),
        Err(TokenRejection::WrongType)
    );
}

#[test]
fn unknown_kid_and_foreign_signature_are_rejected() {
    let a = keyset(&[test_jwk("a", 1, true)]);
    let b = keyset(&[test_jwk("b", 2, true)]);
    let imposter = keyset(&[test_jwk("a", 3, true)]);
    let now = at(1_000_000);
    let t = b.issue_blocking(&claims(), now, 900).unwrap();
    assert_eq!(
        a.verify_blocking(&t, now, "iss", "aud"),
        Err(TokenRejection::UnknownKey)
    );
    let t = imposter.issue_blocking(&claims(), now, 900).unwrap();
    assert_eq!(
        a.verify_blocking(&t, now, "iss", "aud"),
        Err(TokenRejection::BadSignature)
    );
}

#[test]
fn other_algorithms_and_garbage_are_rejected() {
    let keys = keyset(&[test_jwk("a", 1, true)]);
    let now = at(1_000_000);
    let enc = |v: serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let body = enc(serde_json::json!({"sub": "x"}));
    let none = format!(
        "{}.{body}.",
        enc(serde_json::json!({"alg": "none", "kid": "a"}))
    );
    assert_eq!(
        keys.verify_blocking(&none, now, "iss", "aud"),
        Err(TokenRejection::BadAlgorithm)
    );
    let hs = format!(
        "{}.{body}.AAAA",
        enc(serde_json::json!({"alg": "HS256", "kid": "a"}))
    );
    assert_eq!(
        keys.verify_blocking(&hs, now, "iss", "aud"),
        Err(TokenRejection::BadAlgorithm)
    );
    assert_eq!(
        keys.verify_blocking("a.b", now, "iss", "aud"),
        Err(TokenRejection::Malformed)
    );
    assert_eq!(
        keys.verify_blocking("", now, "iss", "aud"),
        Err(TokenRejection::Malformed)
    );
    let huge = "a".repeat(MAX_TOKEN_LEN + 1);
    assert_eq!(
        keys.verify_blocking(&huge, now, "iss", "aud"),
        Err(TokenRejection::TooLarge)
    );
}

#[test]
fn rotation_keeps_old_tokens_valid_and_signs_with_the_first() {
    let old = keyset(&[test_jwk("a", 1, true)]);
    let rotated = keyset(&[test_jwk("b", 2, true), test_jwk("a", 1, false)]);
    let now = at(1_000_000);
    let t = old.issue_blocking(&claims(), now, 900).unwrap();
    assert!(rotated.verify_blocking(&t, now, "iss", "aud").is_ok());
    assert_eq!(rotated.signing_kid(), "b");
    let jwks = rotated.jwks();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, ["b", "a"]);
    assert!(!jwks.to_string().contains("\"d\""));
}

#[test]
fn refresh_tokens_are_random_and_stored_as_hashes() {
    let (a, ha) = new_refresh_token().unwrap();
    let (b, hb) = new_refresh_token().unwrap();
    assert_ne!(a, b);
    assert_eq!(a.len(), REFRESH_TOKEN_LEN);
    assert_eq!(ha.len(), 64);
    assert_ne!(ha, hb);
    assert_eq!(refresh_token_hash(&a).unwrap(), ha);
    assert!(!ha.contains(&a));
    assert_eq!(refresh_token_hash("short"), None);
    assert_eq!(refresh_token_hash(&format!("{}=", &a[..42])), None);
}

#[test]
fn bad_key_sets_are_refused() {
    let err = |v: serde_json::Value| KeySet::from_jwks_json(&v.to_string()).unwrap_err();
    assert!(matches!(err(serde_json::json!([])), KeyError::Empty));
    assert!(matches!(
        err(serde_json::json!([test_jwk("a", 1, false)])),
        KeyError::FirstNotPrivate
    ));
    assert!(matches!(
        err(serde_json::json!([
            test_jwk("a", 1, true),
            test_jwk("a", 2, true)
        ])),
        KeyError::DuplicateKid(1)
    ));
    let mut mismatched = test_jwk("a", 1, true);
    mismatched["x"] = test_jwk("a", 2, false)["x"].clone();
    assert!(matches!(
        err(serde_json::json!([mismatched])),
        KeyError::Mismatch(0)
    ));
    assert!(matches!(
        KeySet::from_jwks_json("not json").unwrap_err(),
        KeyError::NotJson
    ));
}

const VECTORS: &str = include_str!("../../tests/tokens/vectors.json");

fn b64(v: &serde_json::Value) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(v.as_str().unwrap()).unwrap()
}

fn vector_claims() -> AccessClaims {
    AccessClaims {
        iss: "i".into(),
        aud: "a".into(),
        sub: "s".into(),
        email: "e@example.com".into(),
        email_verified: true,
        sid: "sid".into(),
        jti: "j".into(),
        typ: ACCESS_TYPE.into(),
        amr: Amr::totp(),
    }
}

#[test]
fn the_native_backend_signs_and_verifies_the_shared_vectors() {
    let vectors: serde_json::Value = serde_json::from_str(VECTORS).unwrap();
    for v in vectors["signatures"].as_array().unwrap() {
        let key = |part: &str| Some(<[u8; 32]>::try_from(b64(&v[part])).unwrap());
        let keys = signer::CompactKeys::new(vec![KeyBytes {
            d: key("d"),
            x: key("x"),
        }])
        .unwrap();
        let message = b64(&v["message"]);
        let expected: [u8; 64] = b64(&v["signature"]).try_into().unwrap();
        let signature = futures::executor::block_on(keys.sign(&message)).unwrap();
        assert_eq!(signature, expected);
        assert!(futures::executor::block_on(keys.verify(0, &message, &signature)).unwrap());
        let mut other = expected;
        other[0] ^= 1;
        assert!(!futures::executor::block_on(keys.verify(0, &message, &other)).unwrap());
    }
}

#[test]
fn the_shared_vector_token_is_issued_byte_for_byte_and_accepted() {
    let vectors: serde_json::Value = serde_json::from_str(VECTORS).unwrap();
    let v = &vectors["token"];
    let keys = keyset(&[v["jwk"].clone()]);
    let iat = v["iat"].as_i64().unwrap();
    let t = keys
        .issue_blocking(&vector_claims(), at(iat), v["ttl"].as_i64().unwrap())
        .unwrap();
    assert_eq!(t, v["token"].as_str().unwrap());
    let verified = keys.verify_blocking(&t, at(iat), "i", "a").unwrap();
    assert_eq!(verified.claims, vector_claims());
}

#[test]
fn tokens_are_written_as_jwt_compacts_own_ed25519_writes_them_and_each_accepts_the_others() {
    let keys = keyset(&[test_jwk("a", 1, true)]);
    let pair = KeyPair::from_seed(Seed::new([1; 32]));
    let now = at(1_000_000);
    let ours = keys.issue_blocking(&claims(), now, 900).unwrap();
    let options = TimeOptions::new(Duration::seconds(LEEWAY_SECS), move || now);
    let body = Claims::new(claims())
        .set_duration_and_issuance(&options, Duration::seconds(900))
        .set_not_before(now);
    let header = Header::empty().with_key_id("a").with_token_type("JWT");
    let theirs = Ed25519.token(&header, &body, &pair.sk).unwrap();
    // The same header and claims, byte for byte (jwt-compact's signatures carry random noise,
    // so only the signed part can be compared).
    let (ours_signed, _) = ours.rsplit_once('.').unwrap();
    let (theirs_signed, _) = theirs.rsplit_once('.').unwrap();
    assert_eq!(ours_signed, theirs_signed);
    assert_eq!(
        keys.verify_blocking(&theirs, now, "iss", "aud")
            .unwrap()
            .claims,
        claims()
    );
    let untrusted = UntrustedToken::new(&ours).unwrap();
    let validated = Ed25519
        .validator::<AccessClaims>(&pair.pk)
        .validate(&untrusted)
        .unwrap();
    assert_eq!(validated.claims().custom, claims());
}

#[test]
fn a_token_whose_claims_and_signature_are_both_bad_is_malformed() {
    // jwt-compact's order: the claims are read before the signature is checked.
    let keys = keyset(&[test_jwk("a", 1, true)]);
    let t = keys.issue_blocking(&claims(), at(1_000_000), 900).unwrap();
    let mut parts: Vec<&str> = t.split('.').collect();
    let garbage = URL_SAFE_NO_PAD.encode("not json");
    parts[1] = &garbage;
    assert_eq!(
        keys.verify_blocking(&parts.join("."), at(1_000_000), "iss", "aud"),
        Err(TokenRejection::Malformed)
    );
    let short = format!("{}.{}.AAAA", parts[0], t.split('.').nth(1).unwrap());
    assert_eq!(
        keys.verify_blocking(&short, at(1_000_000), "iss", "aud"),
        Err(TokenRejection::BadSignature)
    );
}
