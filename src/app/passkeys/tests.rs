//! The parsers on malformed input (CBOR edge cases, COSE keys, DER signatures) and the options'
//! JSON forms. The checks themselves run against a software authenticator in `tests/passkeys`.

use proptest::prelude::*;
use serde_json::json;

use super::attestation::AttestationObject;
use super::authenticator_data::AuthenticatorData;
use super::cose::{self, Algorithm, PublicKey};
use super::options::{creation_options, request_options, CredentialDescriptor, RegistrationUser};
use super::signature::der_to_raw_p256;
use super::PasskeyError;

/// A CBOR head: major type `major`, argument `n` in its shortest form.
fn head(major: u8, n: u64) -> Vec<u8> {
    let m = major << 5;
    match n {
        0..=23 => vec![m | n as u8],
        24..=0xff => vec![m | 24, n as u8],
        0x100..=0xffff => [vec![m | 25], (n as u16).to_be_bytes().to_vec()].concat(),
        0x1_0000..=0xffff_ffff => [vec![m | 26], (n as u32).to_be_bytes().to_vec()].concat(),
        _ => [vec![m | 27], n.to_be_bytes().to_vec()].concat(),
    }
}

fn text(s: &str) -> Vec<u8> {
    [head(3, s.len() as u64), s.as_bytes().to_vec()].concat()
}

fn bytes(b: &[u8]) -> Vec<u8> {
    [head(2, b.len() as u64), b.to_vec()].concat()
}

/// Authenticator data with UP and UV, counter 1, and no attested credential.
fn auth_data() -> Vec<u8> {
    [vec![0; 32], vec![0x05], vec![0, 0, 0, 1]].concat()
}

/// An attestation object of these entries, in order.
fn attestation(entries: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut out = head(5, entries.len() as u64);
    for (k, v) in entries {
        out.extend(k);
        out.extend(v);
    }
    out
}

fn good_entries() -> Vec<(Vec<u8>, Vec<u8>)> {
    vec![
        (text("fmt"), text("none")),
        (text("attStmt"), head(5, 0)),
        (text("authData"), bytes(&auth_data())),
    ]
}

#[test]
fn a_well_formed_attestation_object_parses() {
    let o = attestation(&good_entries());
    let parsed = AttestationObject::parse(&o).unwrap();
    assert_eq!(parsed.fmt, "none");
    assert_eq!(parsed.auth_data, auth_data());
}

#[test]
fn attestation_objects_cut_short_anywhere_are_malformed() {
    let o = attestation(&good_entries());
    for len in 0..o.len() {
        assert_eq!(
            AttestationObject::parse(&o[..len]),
            Err(PasskeyError::MalformedAttestation),
            "{len}"
        );
    }
}

#[test]
fn bytes_after_the_attestation_object_are_malformed() {
    let mut o = attestation(&good_entries());
    o.push(0);
    assert_eq!(
        AttestationObject::parse(&o),
        Err(PasskeyError::MalformedAttestation)
    );
}

#[test]
fn attestation_members_of_the_wrong_type_or_missing_or_repeated_are_malformed() {
    let cases: Vec<Vec<(Vec<u8>, Vec<u8>)>> = vec![
        // fmt as bytes, attStmt as an array, authData as text, a key as an integer.
        vec![
            (text("fmt"), bytes(b"none")),
            good_entries()[1].clone(),
            good_entries()[2].clone(),
        ],
        vec![
            good_entries()[0].clone(),
            (text("attStmt"), head(4, 0)),
            good_entries()[2].clone(),
        ],
        vec![
            good_entries()[0].clone(),
            good_entries()[1].clone(),
            (text("authData"), text("x")),
        ],
        [good_entries(), vec![(head(0, 1), head(0, 1))]].concat(),
        // Each member missing in turn.
        good_entries()[1..].to_vec(),
        vec![good_entries()[0].clone(), good_entries()[2].clone()],
        good_entries()[..2].to_vec(),
        // fmt twice.
        [good_entries(), vec![(text("fmt"), text("packed"))]].concat(),
    ];
    for (i, entries) in cases.iter().enumerate() {
        assert_eq!(
            AttestationObject::parse(&attestation(entries)),
            Err(PasskeyError::MalformedAttestation),
            "case {i}"
        );
    }
    // Not a map at all.
    for not_a_map in [head(4, 0), text("fmt"), vec![0xf6]] {
        assert_eq!(
            AttestationObject::parse(&not_a_map),
            Err(PasskeyError::MalformedAttestation)
        );
    }
}

#[test]
fn unknown_attestation_members_are_skipped_when_well_formed() {
    let entries = [good_entries(), vec![(text("epAtt"), vec![0xf5])]].concat();
    assert!(AttestationObject::parse(&attestation(&entries)).is_ok());
}

#[test]
fn huge_declared_lengths_fail_at_the_end_of_the_input_without_allocating() {
    // authData declaring 2^64 - 1 bytes, a map of 2^64 - 1 entries, a text of 2^32 bytes.
    let huge_bytes = [
        head(5, 3),
        text("fmt"),
        text("none"),
        text("attStmt"),
        head(5, 0),
        text("authData"),
        head(2, u64::MAX),
    ]
    .concat();
    let huge_map = [head(5, u64::MAX), text("fmt"), text("none")].concat();
    let huge_statement = [
        head(5, 3),
        text("fmt"),
        text("none"),
        text("attStmt"),
        head(5, u64::MAX),
        head(0, 1),
        head(0, 1),
    ]
    .concat();
    let huge_text = [head(5, 1), head(3, 1 << 32), b"fmt".to_vec()].concat();
    for o in [huge_bytes, huge_map, huge_statement, huge_text] {
        assert_eq!(
            AttestationObject::parse(&o),
            Err(PasskeyError::MalformedAttestation)
        );
    }
}

#[test]
fn indefinite_lengths_and_tags_are_refused() {
    let indefinite_map = [vec![0xbf], text("fmt"), text("none"), vec![0xff]].concat();
    let indefinite_statement = [
        head(5, 3),
        text("fmt"),
        text("none"),
        text("attStmt"),
        vec![0xbf, 0xff],
        text("authData"),
        bytes(&auth_data()),
    ]
    .concat();
    let indefinite_auth_data = [
        head(5, 3),
        text("fmt"),
        text("none"),
        text("attStmt"),
        head(5, 0),
        text("authData"),
        vec![0x5f],
        bytes(&auth_data()),
        vec![0xff],
    ]
    .concat();
    let indefinite_fmt = [
        head(5, 3),
        text("fmt"),
        vec![0x7f],
        text("none"),
        vec![0xff],
        text("attStmt"),
        head(5, 0),
        text("authData"),
        bytes(&auth_data()),
    ]
    .concat();
    let nested_indefinite = [
        head(5, 3),
        text("fmt"),
        text("none"),
        text("attStmt"),
        head(5, 1),
        text("x5c"),
        vec![0x9f, 0xff],
        text("authData"),
        bytes(&auth_data()),
    ]
    .concat();
    let tagged = [
        head(5, 3),
        text("fmt"),
        text("none"),
        text("attStmt"),
        head(5, 1),
        text("t"),
        vec![0xc1, 0x00],
        text("authData"),
        bytes(&auth_data()),
    ]
    .concat();
    let lone_break = [
        head(5, 3),
        text("fmt"),
        text("none"),
        text("attStmt"),
        head(5, 1),
        text("b"),
        vec![0xff],
        text("authData"),
        bytes(&auth_data()),
    ]
    .concat();
    for o in [
        indefinite_map,
        indefinite_statement,
        indefinite_auth_data,
        indefinite_fmt,
        nested_indefinite,
        tagged,
        lone_break,
    ] {
        assert_eq!(
            AttestationObject::parse(&o),
            Err(PasskeyError::MalformedAttestation)
        );
    }
}

#[test]
fn nesting_is_bounded() {
    let statement = |depth: usize| {
        let mut s = head(5, 1);
        s.extend(text("x"));
        s.extend(std::iter::repeat_n(0x81, depth));
        s.push(0x00);
        s
    };
    let with = |stmt: Vec<u8>| {
        attestation(&[
            good_entries()[0].clone(),
            (text("attStmt"), stmt),
            good_entries()[2].clone(),
        ])
    };
    assert!(AttestationObject::parse(&with(statement(14))).is_ok());
    assert_eq!(
        AttestationObject::parse(&with(statement(100_000))),
        Err(PasskeyError::MalformedAttestation)
    );
}

#[test]
fn authenticator_data_shorter_than_its_fixed_part_or_its_flags_announce_is_malformed() {
    let d = auth_data();
    for len in 0..d.len() {
        assert_eq!(
            AuthenticatorData::parse(&d[..len]),
            Err(PasskeyError::MalformedAuthenticatorData)
        );
    }
    assert_eq!(AuthenticatorData::parse(&d).unwrap().sign_count, 1);

    // AT set: aaguid, id length, id, then a COSE map; each cut short.
    let key = [head(5, 1), head(0, 3), head(1, 7)].concat();
    let mut attested = d.clone();
    attested[32] |= 0x40;
    attested.extend([0; 16]);
    attested.extend([0, 2, 9, 9]);
    attested.extend(&key);
    let parsed = AuthenticatorData::parse(&attested).unwrap();
    let credential = parsed.attested.unwrap();
    assert_eq!(credential.credential_id, [9, 9]);
    assert_eq!(credential.public_key, key);
    for len in d.len()..attested.len() {
        assert_eq!(
            AuthenticatorData::parse(&attested[..len]),
            Err(PasskeyError::MalformedAuthenticatorData),
            "{len}"
        );
    }
}

#[test]
fn credential_ids_of_zero_or_more_than_1023_bytes_are_malformed() {
    let key = [head(5, 1), head(0, 3), head(1, 7)].concat();
    let with_id = |len: usize| {
        let mut d = auth_data();
        d[32] |= 0x40;
        d.extend([0; 16]);
        d.extend((len as u16).to_be_bytes());
        d.extend(vec![1; len]);
        d.extend(&key);
        d
    };
    assert!(AuthenticatorData::parse(&with_id(1023)).is_ok());
    for len in [0, 1024, 0xffff] {
        assert_eq!(
            AuthenticatorData::parse(&with_id(len)),
            Err(PasskeyError::MalformedAuthenticatorData)
        );
    }
}

#[test]
fn a_credential_key_that_is_not_a_map_is_malformed() {
    for key in [head(4, 0), bytes(&[1]), vec![0xbf, 0xff]] {
        let mut d = auth_data();
        d[32] |= 0x40;
        d.extend([0; 16]);
        d.extend([0, 1, 9]);
        d.extend(&key);
        assert_eq!(
            AuthenticatorData::parse(&d),
            Err(PasskeyError::MalformedAuthenticatorData)
        );
    }
}

fn cose_key(entries: &[(i64, Vec<u8>)]) -> Vec<u8> {
    let mut out = head(5, entries.len() as u64);
    for (label, value) in entries {
        out.extend(if *label >= 0 {
            head(0, *label as u64)
        } else {
            head(1, (-1 - *label) as u64)
        });
        out.extend(value);
    }
    out
}

fn int(v: i64) -> Vec<u8> {
    if v >= 0 {
        head(0, v as u64)
    } else {
        head(1, (-1 - v) as u64)
    }
}

fn ed25519_key() -> Vec<(i64, Vec<u8>)> {
    vec![
        (1, int(1)),
        (3, int(-8)),
        (-1, int(6)),
        (-2, bytes(&[3; 32])),
    ]
}

fn p256_key() -> Vec<(i64, Vec<u8>)> {
    vec![
        (1, int(2)),
        (3, int(-7)),
        (-1, int(1)),
        (-2, bytes(&[1; 32])),
        (-3, bytes(&[2; 32])),
    ]
}

fn rsa_key(n: &[u8], e: &[u8]) -> Vec<(i64, Vec<u8>)> {
    vec![(1, int(3)), (3, int(-257)), (-1, bytes(n)), (-2, bytes(e))]
}

#[test]
fn cose_keys_of_each_algorithm_become_what_webcrypto_imports() {
    assert_eq!(
        cose::parse(&cose_key(&ed25519_key())),
        Ok(PublicKey::Ed25519([3; 32]))
    );
    let PublicKey::P256(point) = cose::parse(&cose_key(&p256_key())).unwrap() else {
        panic!("not P-256");
    };
    assert_eq!(point[0], 4);
    assert_eq!(point[1..33], [1; 32]);
    assert_eq!(point[33..], [2; 32]);
    // A modulus with a leading zero byte (as a signed encoding writes it) loses it.
    let n = [vec![0], vec![0x80; 256]].concat();
    assert_eq!(
        cose::parse(&cose_key(&rsa_key(&n, &[1, 0, 1]))),
        Ok(PublicKey::Rsa {
            n: vec![0x80; 256],
            e: vec![1, 0, 1]
        })
    );
    // Labels in another order, and a `kid`, change nothing.
    let mut shuffled = ed25519_key();
    shuffled.reverse();
    shuffled.push((2, bytes(b"kid")));
    assert_eq!(
        cose::parse(&cose_key(&shuffled)),
        Ok(PublicKey::Ed25519([3; 32]))
    );
}

#[test]
fn cose_keys_that_do_not_fit_their_algorithm_are_malformed() {
    use PasskeyError::{AlgorithmNotAllowed, MalformedPublicKey};
    let with = |mut entries: Vec<(i64, Vec<u8>)>, label: i64, value: Option<Vec<u8>>| {
        entries.retain(|(l, _)| *l != label);
        if let Some(v) = value {
            entries.push((label, v));
        }
        cose_key(&entries)
    };
    let cases = [
        (
            with(ed25519_key(), -2, Some(bytes(&[3; 31]))),
            MalformedPublicKey,
        ),
        (with(ed25519_key(), -1, Some(int(7))), MalformedPublicKey),
        (with(ed25519_key(), 1, Some(int(2))), MalformedPublicKey),
        (with(ed25519_key(), 1, None), MalformedPublicKey),
        (with(ed25519_key(), 3, None), MalformedPublicKey),
        (
            with(ed25519_key(), 3, Some(text("EdDSA"))),
            MalformedPublicKey,
        ),
        (with(ed25519_key(), 3, Some(int(-35))), AlgorithmNotAllowed),
        (with(p256_key(), -3, None), MalformedPublicKey),
        (
            with(p256_key(), -3, Some(bytes(&[2; 33]))),
            MalformedPublicKey,
        ),
        (with(p256_key(), -1, Some(int(2))), MalformedPublicKey),
        (with(p256_key(), -2, Some(int(1))), MalformedPublicKey),
        // RSA: 2047 bits, 4097 bits, an even exponent, exponent 1, a 5-byte exponent.
        (
            cose_key(&rsa_key(&[0x7f; 256], &[1, 0, 1])),
            MalformedPublicKey,
        ),
        (
            cose_key(&rsa_key(&[1; 513], &[1, 0, 1])),
            MalformedPublicKey,
        ),
        (
            cose_key(&rsa_key(&[0x80; 256], &[1, 0, 0])),
            MalformedPublicKey,
        ),
        (cose_key(&rsa_key(&[0x80; 256], &[1])), MalformedPublicKey),
        (
            cose_key(&rsa_key(&[0x80; 256], &[1, 0, 0, 0, 1])),
            MalformedPublicKey,
        ),
    ];
    for (i, (key, expected)) in cases.into_iter().enumerate() {
        assert_eq!(cose::parse(&key), Err(expected), "case {i}");
    }
    // A label twice, too many labels, bytes after the map, not a map.
    let twice = [ed25519_key(), vec![(-1, int(6))]].concat();
    let many: Vec<_> = ed25519_key()
        .into_iter()
        .chain((10..30).map(|l| (l, int(0))))
        .collect();
    let mut trailing = cose_key(&ed25519_key());
    trailing.push(0);
    for key in [cose_key(&twice), cose_key(&many), trailing, head(4, 0)] {
        assert_eq!(cose::parse(&key), Err(MalformedPublicKey));
    }
}

#[test]
fn algorithms_have_their_cose_identifiers_in_the_offered_order() {
    let ids: Vec<i64> = Algorithm::ALL.iter().map(|a| a.cose_id()).collect();
    assert_eq!(ids, [-8, -7, -257]);
    for a in Algorithm::ALL {
        assert_eq!(Algorithm::from_cose_id(a.cose_id()), Some(a));
    }
    assert_eq!(Algorithm::from_cose_id(-35), None);
}

/// DER of an ECDSA signature with these INTEGER contents.
fn der(r: &[u8], s: &[u8]) -> Vec<u8> {
    let body = [
        vec![2, r.len() as u8],
        r.to_vec(),
        vec![2, s.len() as u8],
        s.to_vec(),
    ]
    .concat();
    [vec![0x30, body.len() as u8], body].concat()
}

#[test]
fn der_signatures_become_raw_r_and_s_left_padded() {
    let raw = der_to_raw_p256(&der(&[0x00, 0x80, 1], &[5])).unwrap();
    assert_eq!(raw[..30], [0; 30]);
    assert_eq!(raw[30..32], [0x80, 1]);
    assert_eq!(raw[32..63], [0; 31]);
    assert_eq!(raw[63], 5);
    let full = der_to_raw_p256(&der(&[[0].as_slice(), &[0xff; 32]].concat(), &[0x7f; 32])).unwrap();
    assert_eq!(full[..32], [0xff; 32]);
    assert_eq!(full[32..], [0x7f; 32]);
}

#[test]
fn der_signatures_that_are_not_strict_der_are_refused() {
    let cases = [
        // Negative r; a needless leading zero; 33 significant bytes; an empty integer.
        der(&[0x80], &[1]),
        der(&[0, 1], &[1]),
        der(&[1; 33], &[1]),
        der(&[], &[1]),
        // A wrong outer length, a wrong tag, bytes after, a long-form length.
        [vec![0x30, 7], der(&[1], &[1])[2..].to_vec()].concat(),
        [vec![0x31], der(&[1], &[1])[1..].to_vec()].concat(),
        [der(&[1], &[1]), vec![0]].concat(),
        [vec![0x30, 0x81, 6], der(&[1], &[1])[2..].to_vec()].concat(),
        vec![],
        vec![0x30],
    ];
    for (i, sig) in cases.iter().enumerate() {
        assert_eq!(der_to_raw_p256(sig), None, "case {i}");
    }
}

#[test]
fn creation_options_are_the_webauthn_json_form() {
    let options = creation_options(
        "example.com",
        "Example",
        RegistrationUser {
            handle: &[0xfb; 3],
            email: "ada@example.com",
        },
        &[0xff; 32],
        vec![
            CredentialDescriptor::new(&[1, 2], vec!["internal".into()]),
            CredentialDescriptor::new(&[3], vec![]),
        ],
    );
    let challenge = "_".repeat(42) + "8";
    assert_eq!(
        serde_json::to_value(&options).unwrap(),
        json!({"publicKey": {
            "rp": {"id": "example.com", "name": "Example"},
            "user": {"id": "-_v7", "name": "ada@example.com", "displayName": "ada@example.com"},
            "challenge": challenge,
            "pubKeyCredParams": [
                {"type": "public-key", "alg": -8},
                {"type": "public-key", "alg": -7},
                {"type": "public-key", "alg": -257},
            ],
            "excludeCredentials": [
                {"type": "public-key", "id": "AQI", "transports": ["internal"]},
                {"type": "public-key", "id": "Aw"},
            ],
            "authenticatorSelection": {"residentKey": "required", "userVerification": "required"},
            "attestation": "none",
        }})
    );
}

#[test]
fn request_options_are_the_webauthn_json_form() {
    assert_eq!(
        serde_json::to_value(request_options("example.com", &[0; 32])).unwrap(),
        json!({"publicKey": {
            "challenge": "A".repeat(43),
            "rpId": "example.com",
            "userVerification": "required",
            "allowCredentials": [],
        }})
    );
}

proptest! {
    #[test]
    fn the_parsers_never_panic(input in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = AttestationObject::parse(&input);
        let _ = AuthenticatorData::parse(&input);
        let _ = cose::parse(&input);
        let _ = der_to_raw_p256(&input);
    }

    #[test]
    fn mutated_attestation_objects_never_panic(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)
    ) {
        let key = cose_key(&p256_key());
        let mut d = auth_data();
        d[32] |= 0x40;
        d.extend([0; 16]);
        d.extend([0, 1, 9]);
        d.extend(&key);
        let mut o = attestation(&[good_entries()[0].clone(), good_entries()[1].clone(), (text("authData"), bytes(&d))]);
        for (at, value) in flips {
            let i = at.index(o.len());
            o[i] = value;
        }
        if let Ok(parsed) = AttestationObject::parse(&o) {
            if let Ok(data) = AuthenticatorData::parse(parsed.auth_data) {
                if let Some(c) = data.attested {
                    let _ = cose::parse(c.public_key);
                }
            }
        }
    }
}
