//! [`SignatureVerifier`] on RustCrypto, for native builds (tests and tools): the same answers
//! as the Worker's WebCrypto on the same vectors (`tests/passkeys/signature_vectors.json`).
//! Never compiled into the wasm.

use super::cose::PublicKey;
use super::signature::{SignatureError, SignatureVerifier};

/// Verifies with `ed25519-dalek`, `p256` and `rsa`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RustCryptoVerifier;

impl SignatureVerifier for RustCryptoVerifier {
    async fn verify(
        &self,
        key: &PublicKey,
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, SignatureError> {
        Ok(verify(key, message, signature))
    }
}

fn verify(key: &PublicKey, message: &[u8], signature: &[u8]) -> bool {
    match key {
        PublicKey::Ed25519(k) => {
            use ed25519_dalek::Verifier;
            let Ok(k) = ed25519_dalek::VerifyingKey::from_bytes(k) else {
                return false;
            };
            let Ok(s) = ed25519_dalek::Signature::from_slice(signature) else {
                return false;
            };
            k.verify(message, &s).is_ok()
        }
        PublicKey::P256(point) => {
            use p256::ecdsa::signature::Verifier;
            let Ok(k) = p256::ecdsa::VerifyingKey::from_sec1_bytes(point) else {
                return false;
            };
            let Ok(s) = p256::ecdsa::Signature::from_slice(signature) else {
                return false;
            };
            k.verify(message, &s).is_ok()
        }
        PublicKey::Rsa { n, e } => {
            use rsa::signature::Verifier;
            let n = rsa::BigUint::from_bytes_be(n);
            let e = rsa::BigUint::from_bytes_be(e);
            let Ok(k) = rsa::RsaPublicKey::new(n, e) else {
                return false;
            };
            let k = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(k);
            let Ok(s) = rsa::pkcs1v15::Signature::try_from(signature) else {
                return false;
            };
            k.verify(message, &s).is_ok()
        }
    }
}
