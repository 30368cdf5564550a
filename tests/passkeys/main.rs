//! Passkeys' core against a software authenticator: every check of WebAuthn L3 §7.1 and §7.2
//! that the contract lists fails on exactly its own tampering, for each algorithm; the counter
//! rule; the signature vectors that the wasm tier runs through WebCrypto; the endpoints over
//! SQLite (`api`).

mod api;
mod authenticator;
#[path = "../common/mod.rs"]
mod common;
mod vectors;

use authenticator::{
    b64, cbor, Assertion, Authenticator, Registration, AT, BE, BS, CHALLENGE, ED, ORIGIN, RP_ID,
    UP, USER_HANDLE, UV,
};
use edge_auth::app::passkeys::registration::RegistrationCheck;
use edge_auth::app::passkeys::rustcrypto::RustCryptoVerifier;
use edge_auth::app::passkeys::{
    verify_authentication, verify_registration, Algorithm, AuthenticationResponse, NewCredential,
    PasskeyError, RegistrationResponse, RelyingParty, StoredCredential,
};
use futures::executor::block_on;
use serde_json::json;
use sha2::{Digest, Sha256};

fn origins() -> Vec<String> {
    vec!["https://other.example.com".into(), ORIGIN.into()]
}

fn register_with(
    r: &Registration,
    algorithms: &[Algorithm],
) -> Result<NewCredential, PasskeyError> {
    let origins = origins();
    let response = RegistrationResponse::from_json(&r.to_json())?;
    verify_registration(
        &response,
        &RegistrationCheck {
            rp: RelyingParty {
                id: RP_ID,
                origins: &origins,
            },
            challenge: &CHALLENGE,
            algorithms,
        },
    )
}

fn register(r: &Registration) -> Result<NewCredential, PasskeyError> {
    register_with(r, &Algorithm::ALL)
}

/// An assertion by `signer`, checked against `stored` (the credential `a` registered, with
/// stored counter `stored_count`).
fn authenticate(
    assertion: &Assertion,
    signer: &Authenticator,
    stored_key: &[u8],
    stored_count: u32,
) -> Result<u32, PasskeyError> {
    let origins = origins();
    let response = AuthenticationResponse::from_json(&assertion.to_json(signer))?;
    let stored = StoredCredential {
        credential_id: &signer.credential_id,
        public_key: stored_key,
        sign_count: stored_count,
        user_handle: &USER_HANDLE,
    };
    let rp = RelyingParty {
        id: RP_ID,
        origins: &origins,
    };
    block_on(verify_authentication(
        &response,
        &stored,
        &rp,
        &CHALLENGE,
        &RustCryptoVerifier,
    ))
    .map(|a| a.sign_count)
}

fn algorithms() -> [Authenticator; 3] {
    Algorithm::ALL.map(|a| Authenticator::new(a, 1))
}

#[test]
fn a_registration_from_the_authenticator_passes_every_check_for_each_algorithm() {
    for a in algorithms() {
        let mut r = Registration::new(&a);
        r.auth_data.sign_count = 9;
        r.auth_data.flags |= BE | BS;
        let c = register(&r).unwrap_or_else(|e| panic!("{:?}: {e:?}", a.algorithm));
        assert_eq!(c.credential_id, a.credential_id);
        assert_eq!(c.public_key, a.cose_key());
        assert_eq!(c.algorithm, a.algorithm);
        assert_eq!(c.sign_count, 9);
        assert_eq!(c.transports, ["internal", "hybrid"]);
        assert!(c.backup_eligible && c.backed_up);
    }
}

type RegistrationTampering = (
    &'static str,
    fn(&mut Registration, &Authenticator),
    PasskeyError,
);

fn registration_tamperings() -> Vec<RegistrationTampering> {
    use PasskeyError::*;
    vec![
        (
            "type other than public-key",
            |r, _| r.kind = "password".into(),
            MalformedResponse,
        ),
        (
            "id other than rawId",
            |r, _| r.id = vec![1, 2, 3],
            CredentialIdMismatch,
        ),
        (
            "client data not JSON",
            |r, _| r.client_data_bytes = Some(b"{\"type\":".to_vec()),
            MalformedClientData,
        ),
        (
            "client data without origin",
            |r, _| {
                r.client_data.as_object_mut().unwrap().remove("origin");
            },
            MalformedClientData,
        ),
        (
            "type webauthn.get",
            |r, _| r.client_data["type"] = json!("webauthn.get"),
            WrongCeremony,
        ),
        (
            "another challenge",
            |r, _| r.client_data["challenge"] = json!(b64(&[8; 32])),
            ChallengeMismatch,
        ),
        (
            "challenge not base64url",
            |r, _| r.client_data["challenge"] = json!("*"),
            ChallengeMismatch,
        ),
        (
            "origin not accepted",
            |r, _| r.client_data["origin"] = json!("https://login.example.com.evil.test"),
            OriginNotAllowed,
        ),
        (
            "origin differing in port",
            |r, _| r.client_data["origin"] = json!("https://login.example.com:8443"),
            OriginNotAllowed,
        ),
        (
            "attestation object without authData",
            |r, _| {
                let mut o = Vec::new();
                cbor::map(&mut o, 2);
                cbor::text(&mut o, "fmt");
                cbor::text(&mut o, "none");
                cbor::text(&mut o, "attStmt");
                cbor::map(&mut o, 0);
                r.attestation_object = Some(o);
            },
            MalformedAttestation,
        ),
        (
            "attestation statement not a map",
            |r, _| r.att_stmt = vec![0x80],
            MalformedAttestation,
        ),
        (
            "authenticator data truncated",
            |r, _| {
                let mut bytes = r.auth_data.encode();
                bytes.pop();
                let mut o = Vec::new();
                cbor::map(&mut o, 3);
                cbor::text(&mut o, "fmt");
                cbor::text(&mut o, "none");
                cbor::text(&mut o, "attStmt");
                cbor::map(&mut o, 0);
                cbor::text(&mut o, "authData");
                cbor::bytes(&mut o, &bytes);
                r.attestation_object = Some(o);
            },
            MalformedAuthenticatorData,
        ),
        (
            "bytes after the credential key",
            |r, _| r.auth_data.tail = vec![0],
            MalformedAuthenticatorData,
        ),
        (
            "rpIdHash of another RP ID",
            |r, _| r.auth_data.rp_id_hash = Sha256::digest("example.com").into(),
            RpIdMismatch,
        ),
        (
            "user not present",
            |r, _| r.auth_data.flags &= !UP,
            UserNotPresent,
        ),
        (
            "user not verified",
            |r, _| r.auth_data.flags &= !UV,
            UserNotVerified,
        ),
        (
            "backed up without backup eligibility",
            |r, _| r.auth_data.flags |= BS,
            InconsistentBackupFlags,
        ),
        (
            "no attested credential data",
            |r, _| {
                r.auth_data.flags &= !AT;
                r.auth_data.attested = None;
            },
            NoAttestedCredential,
        ),
        (
            "attested credential id not the response's",
            |r, _| {
                r.id = vec![9; 16];
                r.raw_id = vec![9; 16];
            },
            CredentialIdMismatch,
        ),
        (
            "key of an algorithm not offered",
            |r, a| {
                // The same key, relabelled ES384 (-35).
                let key = a.cose_key();
                let relabelled = relabel(&key, a.algorithm.cose_id(), -35);
                r.auth_data.attested.as_mut().unwrap().2 = relabelled;
            },
            AlgorithmNotAllowed,
        ),
        (
            "key not of its algorithm's shape",
            |r, a| {
                // The key type of another algorithm.
                let kty = match a.algorithm {
                    Algorithm::EdDsa => 2,
                    Algorithm::Es256 => 1,
                    Algorithm::Rs256 => 2,
                };
                let key = a.cose_key();
                // The first label is kty (1) with a one-byte value.
                let mut key = key.clone();
                assert_eq!(key[1], 0x01);
                key[2] = kty;
                r.auth_data.attested.as_mut().unwrap().2 = key;
            },
            MalformedPublicKey,
        ),
    ]
}

/// `key` with its `alg` value `from` replaced by `to` (both encodable in the same head size).
fn relabel(key: &[u8], from: i64, to: i64) -> Vec<u8> {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    cbor::int(&mut a, 3);
    cbor::int(&mut a, from);
    cbor::int(&mut b, 3);
    cbor::int(&mut b, to);
    let at = key.windows(a.len()).position(|w| w == a).unwrap();
    let mut out = key[..at].to_vec();
    out.extend(b);
    out.extend(&key[at + a.len()..]);
    out
}

#[test]
fn each_registration_check_fails_on_exactly_its_own_tampering_for_each_algorithm() {
    for a in algorithms() {
        for (name, tamper, expected) in registration_tamperings() {
            let mut r = Registration::new(&a);
            tamper(&mut r, &a);
            assert_eq!(register(&r), Err(expected), "{:?}: {name}", a.algorithm);
        }
    }
}

#[test]
fn a_registration_whose_algorithm_was_not_offered_is_refused() {
    for a in algorithms() {
        let others: Vec<Algorithm> = Algorithm::ALL
            .into_iter()
            .filter(|x| *x != a.algorithm)
            .collect();
        let r = Registration::new(&a);
        assert_eq!(
            register_with(&r, &others),
            Err(PasskeyError::AlgorithmNotAllowed)
        );
        assert!(register_with(&r, &[a.algorithm]).is_ok());
    }
}

#[test]
fn the_attestation_statement_is_not_verified_whatever_its_format() {
    let a = Authenticator::new(Algorithm::Es256, 3);
    let mut r = Registration::new(&a);
    r.fmt = "packed".into();
    // A packed statement whose signature is junk and whose chain is not a certificate.
    let mut stmt = Vec::new();
    cbor::map(&mut stmt, 3);
    cbor::text(&mut stmt, "alg");
    cbor::int(&mut stmt, -7);
    cbor::text(&mut stmt, "sig");
    cbor::bytes(&mut stmt, &[0; 70]);
    cbor::text(&mut stmt, "x5c");
    cbor::head(&mut stmt, 4, 1);
    cbor::bytes(&mut stmt, b"not a certificate");
    r.att_stmt = stmt;
    assert!(register(&r).is_ok());
}

#[test]
fn registration_keeps_only_known_transports_once_each() {
    let a = Authenticator::new(Algorithm::EdDsa, 4);
    let mut r = Registration::new(&a);
    r.transports = json!(["usb", "carrier-pigeon", "usb", "nfc"]);
    assert_eq!(register(&r).unwrap().transports, ["usb", "nfc"]);
    r.transports = json!([1]);
    assert_eq!(register(&r), Err(PasskeyError::MalformedResponse));
}

#[test]
fn authenticator_data_with_extensions_is_read_past_them() {
    let a = Authenticator::new(Algorithm::EdDsa, 5);
    let mut r = Registration::new(&a);
    r.auth_data.flags |= ED;
    let mut ext = Vec::new();
    cbor::map(&mut ext, 1);
    cbor::text(&mut ext, "credProtect");
    cbor::int(&mut ext, 2);
    r.auth_data.tail = ext.clone();
    assert!(register(&r).is_ok());
    // Extensions without the ED flag are bytes after the data.
    r.auth_data.flags &= !ED;
    assert_eq!(register(&r), Err(PasskeyError::MalformedAuthenticatorData));
    // The ED flag without extensions is data cut short.
    r.auth_data.flags |= ED;
    r.auth_data.tail.clear();
    assert_eq!(register(&r), Err(PasskeyError::MalformedAuthenticatorData));
}

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
