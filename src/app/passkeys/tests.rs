//! The parsers on malformed input (CBOR edge cases, COSE keys, DER signatures) and the options'
//! JSON forms. The checks themselves run against a software authenticator in `tests/passkeys`.
//! This file builds the CBOR that the topic files feed the parsers.

mod attestation;
mod authenticator_data;
mod cose;
mod never_panic;
mod options;
mod signature;

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
