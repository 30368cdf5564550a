//! Registration (WebAuthn L3 §7.1): each check, the offered algorithms, what is read and kept.

use crate::authenticator::{b64, cbor, Authenticator, Registration, AT, BE, BS, ED, UP, UV};
use crate::{algorithms, register, register_with};
use edge_auth::app::passkeys::{Algorithm, PasskeyError};
use serde_json::json;
use sha2::{Digest, Sha256};

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
            |r, _| r.attestation_object = Some(r.attestation_object_with(None)),
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
                r.attestation_object = Some(r.attestation_object_with(Some(&bytes)));
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
