//! Attestation objects: CBOR cut short, mistyped, repeated, huge, indefinite, tagged, nested.

use super::{attestation, auth_data, bytes, good_entries, head, text};
use crate::app::passkeys::attestation::AttestationObject;
use crate::app::passkeys::PasskeyError;

/// An attestation object whose `attStmt` is `statement` (CBOR), its other members good.
fn with_statement(statement: Vec<u8>) -> Vec<u8> {
    attestation(&[
        good_entries()[0].clone(),
        (text("attStmt"), statement),
        good_entries()[2].clone(),
    ])
}

/// An attestation object whose `authData` member is `data` (CBOR), its other members good.
fn with_auth_data(data: Vec<u8>) -> Vec<u8> {
    attestation(&[
        good_entries()[0].clone(),
        good_entries()[1].clone(),
        (text("authData"), data),
    ])
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
    let huge_bytes = with_auth_data(head(2, u64::MAX));
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
    let indefinite_statement = with_statement(vec![0xbf, 0xff]);
    let indefinite_auth_data =
        with_auth_data([vec![0x5f], bytes(&auth_data()), vec![0xff]].concat());
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
    let nested_indefinite = with_statement([head(5, 1), text("x5c"), vec![0x9f, 0xff]].concat());
    let tagged = with_statement([head(5, 1), text("t"), vec![0xc1, 0x00]].concat());
    let lone_break = with_statement([head(5, 1), text("b"), vec![0xff]].concat());
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
    assert!(AttestationObject::parse(&with_statement(statement(14))).is_ok());
    assert_eq!(
        AttestationObject::parse(&with_statement(statement(100_000))),
        Err(PasskeyError::MalformedAttestation)
    );
}
