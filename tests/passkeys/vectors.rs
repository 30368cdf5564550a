//! The signature vectors both verifiers run (`signature_vectors.json`): made once by
//! `cargo test --test passkeys -- --ignored --nocapture print_signature_vectors` and kept as
//! fixed bytes, so that the wasm tier (`tests/wasm.rs`, WebCrypto under Node) and this one
//! check the same inputs.

use crate::authenticator::Authenticator;
use edge_auth::app::passkeys::rustcrypto::RustCryptoVerifier;
use edge_auth::app::passkeys::signature::verify_webauthn_signature;
use edge_auth::app::passkeys::{cose, Algorithm, PasskeyError};
use futures::executor::block_on;
use serde_json::{json, Value};

const VECTORS: &str = include_str!("signature_vectors.json");

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn the_signature_vectors_verify_as_recorded_with_rustcrypto() {
    let vectors: Vec<Value> = serde_json::from_str(VECTORS).unwrap();
    assert_eq!(vectors.len(), 13);
    for v in vectors {
        let name = v["name"].as_str().unwrap();
        let key = cose::parse(&unhex(v["cose_key"].as_str().unwrap())).unwrap();
        let outcome = block_on(verify_webauthn_signature(
            &RustCryptoVerifier,
            &key,
            &unhex(v["message"].as_str().unwrap()),
            &unhex(v["signature"].as_str().unwrap()),
        ));
        let expected = if v["valid"].as_bool().unwrap() {
            Ok(())
        } else {
            Err(PasskeyError::BadSignature)
        };
        assert_eq!(outcome, expected, "{name}");
    }
}

/// Prints the vectors (kept in `signature_vectors.json`).
#[test]
#[ignore = "prints the fixed vectors once; not a check"]
fn print_signature_vectors() {
    let message = b"authenticatorData || SHA-256(clientDataJSON)".to_vec();
    let mut other = message.clone();
    other[0] ^= 1;
    let mut out = Vec::new();
    for alg in Algorithm::ALL {
        let a = Authenticator::new(alg, 1);
        let key = a.cose_key();
        let sig = a.sign(&message);
        let mut flipped = sig.clone();
        let n = flipped.len();
        flipped[n - 2] ^= 0x10;
        let name = format!("{alg:?}");
        let vector = |what: &str, key: &[u8], m: &[u8], s: &[u8], valid: bool| json!({"name": format!("{name}: {what}"), "cose_key": hex(key), "message": hex(m), "signature": hex(s), "valid": valid});
        out.push(vector("valid", &key, &message, &sig, true));
        out.push(vector("another message", &key, &other, &sig, false));
        out.push(vector("signature changed", &key, &message, &flipped, false));
        match alg {
            Algorithm::Es256 => {
                // s replaced by n - s: valid for ECDSA, which neither verifier normalises.
                let parsed = p256::ecdsa::Signature::from_der(&sig).unwrap();
                let (r, s) = parsed.split_scalars();
                let high =
                    p256::ecdsa::Signature::from_scalars(r.to_bytes(), (-*s).to_bytes()).unwrap();
                out.push(vector(
                    "the other s",
                    &key,
                    &message,
                    high.to_der().as_bytes(),
                    true,
                ));
                // A point off the curve: y + 1.
                let mut off = key.clone();
                let last = off.len() - 1;
                off[last] ^= 1;
                out.push(vector("a point off the curve", &off, &message, &sig, false));
            }
            Algorithm::EdDsa => {
                out.push(vector(
                    "signature cut short",
                    &key,
                    &message,
                    &sig[..63],
                    false,
                ));
            }
            Algorithm::Rs256 => {
                out.push(vector(
                    "signature cut short",
                    &key,
                    &message,
                    &sig[1..],
                    false,
                ));
            }
        }
    }
    println!("{}", serde_json::to_string_pretty(&out).unwrap());
}
