//! ECDSA signatures from DER to the raw `r‖s` WebCrypto verifies.

use crate::app::passkeys::signature::der_to_raw_p256;

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
