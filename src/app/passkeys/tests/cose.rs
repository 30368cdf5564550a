//! COSE keys of each algorithm, and the algorithms' identifiers.

use super::{bytes, cose_key, ed25519_key, head, int, p256_key, rsa_key, text};
use crate::app::passkeys::cose::{self, Algorithm, PublicKey};
use crate::app::passkeys::PasskeyError;

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
