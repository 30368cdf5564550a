//! The key set, token issue and verification, the remembered tokens and the refresh tokens.
use super::*;

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
    let t = keys.issue(&claims(), at(1_000_000), 900).unwrap();
    let v = keys.verify(&t, at(1_000_100), "iss", "aud").unwrap();
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
    let t = keys.issue(&totp, at(1_000_000), 900).unwrap();
    let payload = URL_SAFE_NO_PAD
        .decode(t.split('.').nth(1).unwrap())
        .unwrap();
    let payload: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(payload["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    let v = keys.verify(&t, at(1_000_000), "iss", "aud").unwrap();
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
    let t = Ed25519.token(&header, &body, &keys.signing).unwrap();
    let v = keys.verify(&t, at(1_000_000), "iss", "aud").unwrap();
    assert_eq!(v.claims.amr, Amr::password());
    assert_eq!(v.claims.sub, "user");
}

#[test]
fn time_claims_are_enforced_with_leeway() {
    let keys = keyset(&[test_jwk("a", 1, true)]);
    let t = keys.issue(&claims(), at(1_000_000), 900).unwrap();
    assert!(keys
        .verify(&t, at(1_000_900 + LEEWAY_SECS), "iss", "aud")
        .is_ok());
    assert_eq!(
        keys.verify(&t, at(1_000_901 + LEEWAY_SECS), "iss", "aud"),
        Err(TokenRejection::Expired)
    );
    assert_eq!(
        keys.verify(&t, at(1_000_000 - LEEWAY_SECS - 1), "iss", "aud"),
        Err(TokenRejection::NotYetValid)
    );
}

#[test]
fn a_remembered_token_is_judged_exactly_as_a_fresh_check_would() {
    let jwk = test_jwk("a", 1, true);
    let remembering = keyset(std::slice::from_ref(&jwk));
    let t = remembering.issue(&claims(), at(1_000_000), 900).unwrap();
    // Remembered once verified...
    assert!(remembering.verify(&t, at(1_000_000), "iss", "aud").is_ok());
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
                remembering.verify(&t, now, "iss", "aud"),
                fresh.verify(&t, now, "iss", "aud"),
                "{} ms from the base",
                edge + delta - base
            );
            assert!(remembering.verify(&t, at(1_000_000), "iss", "aud").is_ok());
        }
    }
    assert_eq!(
        remembering.verify(&t, at(1_000_000), "other", "aud"),
        Err(TokenRejection::WrongIssuer)
    );
    assert_eq!(
        remembering.verify(&t, at(1_000_000), "iss", "other"),
        Err(TokenRejection::WrongAudience)
    );
    // Another string (one signature byte changed) is checked in full.
    let mut forged = t.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    assert!(remembering
        .verify(&forged, at(1_000_000), "iss", "aud")
        .is_err());
}

#[test]
fn issuer_audience_and_type_are_checked() {
    let keys = keyset(&[test_jwk("a", 1, true)]);
    let now = at(1_000_000);
    let t = keys.issue(&claims(), now, 900).unwrap();
    assert_eq!(
        keys.verify(&t, now, "other", "aud"),
        Err(TokenRejection::WrongIssuer)
    );
    assert_eq!(
        keys.verify(&t, now, "iss", "other"),
        Err(TokenRejection::WrongAudience)
    );
    let refresh_like = AccessClaims {
        typ: "refresh".into(),
        ..claims()
    };
    let t = keys.issue(&refresh_like, now, 900).unwrap();
    assert_eq!(
        keys.verify(&t, now, "iss", "aud"),
        Err(TokenRejection::WrongType)
    );
}

#[test]
fn unknown_kid_and_foreign_signature_are_rejected() {
    let a = keyset(&[test_jwk("a", 1, true)]);
    let b = keyset(&[test_jwk("b", 2, true)]);
    let imposter = keyset(&[test_jwk("a", 3, true)]);
    let now = at(1_000_000);
    let t = b.issue(&claims(), now, 900).unwrap();
    assert_eq!(
        a.verify(&t, now, "iss", "aud"),
        Err(TokenRejection::UnknownKey)
    );
    let t = imposter.issue(&claims(), now, 900).unwrap();
    assert_eq!(
        a.verify(&t, now, "iss", "aud"),
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
        keys.verify(&none, now, "iss", "aud"),
        Err(TokenRejection::BadAlgorithm)
    );
    let hs = format!(
        "{}.{body}.AAAA",
        enc(serde_json::json!({"alg": "HS256", "kid": "a"}))
    );
    assert_eq!(
        keys.verify(&hs, now, "iss", "aud"),
        Err(TokenRejection::BadAlgorithm)
    );
    assert_eq!(
        keys.verify("a.b", now, "iss", "aud"),
        Err(TokenRejection::Malformed)
    );
    assert_eq!(
        keys.verify("", now, "iss", "aud"),
        Err(TokenRejection::Malformed)
    );
    let huge = "a".repeat(MAX_TOKEN_LEN + 1);
    assert_eq!(
        keys.verify(&huge, now, "iss", "aud"),
        Err(TokenRejection::TooLarge)
    );
}

#[test]
fn rotation_keeps_old_tokens_valid_and_signs_with_the_first() {
    let old = keyset(&[test_jwk("a", 1, true)]);
    let rotated = keyset(&[test_jwk("b", 2, true), test_jwk("a", 1, false)]);
    let now = at(1_000_000);
    let t = old.issue(&claims(), now, 900).unwrap();
    assert!(rotated.verify(&t, now, "iss", "aud").is_ok());
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
