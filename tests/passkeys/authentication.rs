//! Authentication (WebAuthn L3 §7.2): each check, the signature, the counter rule, the response's form.

use crate::authenticator::{b64, Assertion, Authenticator, Registration, BS, CHALLENGE, UP, UV};
use crate::{algorithms, authenticate, register};
use edge_auth::app::passkeys::{Algorithm, AuthenticationResponse, PasskeyError};
use serde_json::json;
use sha2::{Digest, Sha256};

#[test]
fn an_assertion_from_the_authenticator_passes_every_check_for_each_algorithm() {
    for a in algorithms() {
        let key = a.cose_key();
        assert_eq!(authenticate(&Assertion::new(&a, 8), &a, &key, 7), Ok(8));
        // Without a user handle (a credential the browser did not discover).
        let mut assertion = Assertion::new(&a, 8);
        assertion.user_handle = None;
        assert_eq!(authenticate(&assertion, &a, &key, 7), Ok(8));
    }
}

type AssertionTampering = (&'static str, fn(&mut Assertion), PasskeyError);

fn assertion_tamperings() -> Vec<AssertionTampering> {
    use PasskeyError::*;
    vec![
        (
            "type other than public-key",
            |s| s.kind = "password".into(),
            MalformedResponse,
        ),
        (
            "id other than rawId",
            |s| s.id = vec![1, 2, 3],
            CredentialIdMismatch,
        ),
        (
            "another credential's id",
            |s| {
                s.id = vec![9; 16];
                s.raw_id = vec![9; 16];
            },
            CredentialIdMismatch,
        ),
        (
            "another user's handle",
            |s| s.user_handle = Some(vec![43; 32]),
            UserHandleMismatch,
        ),
        (
            "client data not JSON",
            |s| s.client_data_bytes = Some(vec![0xff, 0xfe]),
            MalformedClientData,
        ),
        (
            "type webauthn.create",
            |s| s.client_data["type"] = json!("webauthn.create"),
            WrongCeremony,
        ),
        (
            "another challenge",
            |s| s.client_data["challenge"] = json!(b64(&[8; 32])),
            ChallengeMismatch,
        ),
        (
            "challenge cut short",
            |s| s.client_data["challenge"] = json!(b64(&[7; 31])),
            ChallengeMismatch,
        ),
        (
            "origin not accepted",
            |s| s.client_data["origin"] = json!("http://login.example.com"),
            OriginNotAllowed,
        ),
        (
            "authenticator data truncated",
            |s| {
                let mut bytes = s.auth_data.encode();
                bytes.truncate(36);
                s.auth_data_bytes = Some(bytes);
            },
            MalformedAuthenticatorData,
        ),
        (
            "rpIdHash of another RP ID",
            |s| s.auth_data.rp_id_hash = Sha256::digest("example.com").into(),
            RpIdMismatch,
        ),
        (
            "user not present",
            |s| s.auth_data.flags &= !UP,
            UserNotPresent,
        ),
        (
            "user not verified",
            |s| s.auth_data.flags &= !UV,
            UserNotVerified,
        ),
        (
            "backed up without backup eligibility",
            |s| s.auth_data.flags |= BS,
            InconsistentBackupFlags,
        ),
        (
            "signature changed",
            |s| {
                s.tamper_signature = Some(|sig| {
                    let last = sig.len() - 2;
                    sig[last] ^= 1;
                })
            },
            BadSignature,
        ),
        (
            "signature empty",
            |s| s.tamper_signature = Some(|sig| sig.clear()),
            BadSignature,
        ),
        (
            "authenticator data changed after signing",
            |s| s.tamper_after_signing = Some(|d| d[36] ^= 1),
            BadSignature,
        ),
        (
            "counter not above the stored one",
            |s| s.auth_data.sign_count = 7,
            CounterNotIncreased,
        ),
    ]
}

#[test]
fn each_authentication_check_fails_on_exactly_its_own_tampering_for_each_algorithm() {
    for a in algorithms() {
        let key = a.cose_key();
        for (name, tamper, expected) in assertion_tamperings() {
            let mut s = Assertion::new(&a, 8);
            tamper(&mut s);
            assert_eq!(
                authenticate(&s, &a, &key, 7),
                Err(expected),
                "{:?}: {name}",
                a.algorithm
            );
        }
    }
}

#[test]
fn an_assertion_signed_by_another_key_of_the_same_algorithm_is_refused() {
    for alg in [Algorithm::EdDsa, Algorithm::Es256] {
        let owner = Authenticator::new(alg, 1);
        let mut thief = Authenticator::new(alg, 2);
        thief.credential_id = owner.credential_id.clone();
        let s = Assertion::new(&thief, 8);
        assert_eq!(
            authenticate(&s, &thief, &owner.cose_key(), 7),
            Err(PasskeyError::BadSignature)
        );
    }
    // RSA: the owner's key with another modulus.
    let owner = Authenticator::new(Algorithm::Rs256, 1);
    let mut key = owner.cose_key();
    // The key ends with the modulus, then label -2 and the exponent 65537 (5 bytes).
    let last_modulus_byte = key.len() - 6;
    key[last_modulus_byte] ^= 2;
    let s = Assertion::new(&owner, 8);
    assert_eq!(
        authenticate(&s, &owner, &key, 7),
        Err(PasskeyError::BadSignature)
    );
}

#[test]
fn the_counter_rule_allows_zeros_or_growth_only() {
    use edge_auth::app::passkeys::counter_is_acceptable;
    let cases = [
        (0, 0, true),
        (0, 1, true),
        (7, 8, true),
        (7, u32::MAX, true),
        (7, 7, false),
        (7, 6, false),
        (7, 0, false),
        (u32::MAX, u32::MAX, false),
    ];
    for (stored, new, ok) in cases {
        assert_eq!(counter_is_acceptable(stored, new), ok, "{stored} -> {new}");
    }
    // The same rule through a whole assertion, for each algorithm.
    for a in algorithms() {
        let key = a.cose_key();
        for (stored, new, ok) in cases {
            let got = authenticate(&Assertion::new(&a, new), &a, &key, stored);
            let expected = if ok {
                Ok(new)
            } else {
                Err(PasskeyError::CounterNotIncreased)
            };
            assert_eq!(got, expected, "{:?}: {stored} -> {new}", a.algorithm);
        }
    }
}

#[test]
fn a_registered_credential_verifies_its_assertions() {
    for a in algorithms() {
        let c = register(&Registration::new(&a)).unwrap();
        assert_eq!(
            authenticate(&Assertion::new(&a, 1), &a, &c.public_key, c.sign_count),
            Ok(1)
        );
    }
}

#[test]
fn the_presented_challenge_is_read_before_the_checks() {
    let a = Authenticator::new(Algorithm::EdDsa, 1);
    let r = AuthenticationResponse::from_json(&Assertion::new(&a, 1).to_json(&a)).unwrap();
    assert_eq!(r.presented_challenge().unwrap(), CHALLENGE);
    let mut s = Assertion::new(&a, 1);
    s.client_data_bytes = Some(b"[]".to_vec());
    let r = AuthenticationResponse::from_json(&s.to_json(&a)).unwrap();
    assert_eq!(
        r.presented_challenge(),
        Err(PasskeyError::MalformedClientData)
    );
}

#[test]
fn responses_with_missing_or_mistyped_members_are_malformed() {
    let a = Authenticator::new(Algorithm::EdDsa, 1);
    let good = Assertion::new(&a, 1).to_json(&a);
    for pointer in [
        "/id",
        "/rawId",
        "/type",
        "/response",
        "/response/clientDataJSON",
        "/response/authenticatorData",
        "/response/signature",
    ] {
        let mut v = good.clone();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        v.pointer_mut(if parent.is_empty() { "" } else { parent })
            .unwrap()
            .as_object_mut()
            .unwrap()
            .remove(key);
        assert_eq!(
            AuthenticationResponse::from_json(&v),
            Err(PasskeyError::MalformedResponse),
            "{pointer}"
        );
        let mut v = good.clone();
        *v.pointer_mut(pointer).unwrap() = json!(12);
        assert_eq!(
            AuthenticationResponse::from_json(&v),
            Err(PasskeyError::MalformedResponse),
            "{pointer}"
        );
    }
    let mut v = good.clone();
    v["response"]["signature"] = json!("not base64url!");
    assert_eq!(
        AuthenticationResponse::from_json(&v),
        Err(PasskeyError::MalformedResponse)
    );
    assert_eq!(
        AuthenticationResponse::from_json(&json!("x")),
        Err(PasskeyError::MalformedResponse)
    );
    // base64url with padding, as some clients write it, is read too.
    let mut v = good.clone();
    v["rawId"] = json!(format!("{}==", b64(&a.credential_id)));
    assert!(AuthenticationResponse::from_json(&v).is_ok());
}
