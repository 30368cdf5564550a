//! The signature check of an assertion, behind a trait: in the Worker the runtime's WebCrypto
//! verifies (`crate::platform::signatures`), so the wasm carries no curve or RSA code; natively
//! RustCrypto does (`super::rustcrypto`). Both take the signature in WebCrypto's form, so the
//! one conversion WebAuthn needs (ES256's DER to raw `r ‖ s`) happens here, once.

use super::cose::{Algorithm, PublicKey};
use super::PasskeyError;

/// The runtime failed (no WebCrypto, an algorithm it lacks): not the credential's fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SignatureError(pub String);

/// Verifies a signature over `message` with a public key.
#[allow(async_fn_in_trait)]
pub trait SignatureVerifier {
    /// Whether `signature` is a valid signature of `message` under `key`: EdDSA's 64 bytes,
    /// ES256's raw `r ‖ s` (64 bytes), RS256's PKCS #1 v1.5 block. A key the verifier refuses
    /// to import (a P-256 point off the curve) is `Ok(false)`.
    ///
    /// # Errors
    /// When the runtime could not verify at all.
    async fn verify(
        &self,
        key: &PublicKey,
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, SignatureError>;
}

/// Verifies a WebAuthn signature (ES256's in DER, as authenticators write it) with `verifier`.
///
/// # Errors
/// [`PasskeyError::BadSignature`] when it is malformed or does not verify;
/// [`PasskeyError::Platform`] when the verifier failed.
pub async fn verify_webauthn_signature(
    verifier: &impl SignatureVerifier,
    key: &PublicKey,
    message: &[u8],
    signature: &[u8],
) -> Result<(), PasskeyError> {
    let raw;
    let signature = match key.algorithm() {
        Algorithm::Es256 => {
            raw = der_to_raw_p256(signature).ok_or(PasskeyError::BadSignature)?;
            &raw[..]
        }
        Algorithm::EdDsa | Algorithm::Rs256 => signature,
    };
    match verifier.verify(key, message, signature).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(PasskeyError::BadSignature),
        Err(e) => Err(PasskeyError::Platform(e.0)),
    }
}

/// An ECDSA P-256 signature in strict DER (`SEQUENCE { INTEGER r, INTEGER s }`, shortest
/// encodings, nothing after it) as WebCrypto's raw `r ‖ s`, each left-padded to 32 bytes.
#[must_use]
pub fn der_to_raw_p256(der: &[u8]) -> Option<[u8; 64]> {
    let (&tag, rest) = der.split_first()?;
    let (&len, body) = rest.split_first()?;
    // Two INTEGERs of at most 33 bytes: under 128, so the length is in short form.
    if tag != 0x30 || len >= 0x80 || usize::from(len) != body.len() {
        return None;
    }
    let (r, rest) = der_integer(body)?;
    let (s, rest) = der_integer(rest)?;
    if !rest.is_empty() {
        return None;
    }
    let mut out = [0u8; 64];
    out.get_mut(32 - r.len()..32)?.copy_from_slice(r);
    out.get_mut(64 - s.len()..)?.copy_from_slice(s);
    Some(out)
}

/// One positive DER INTEGER of at most 32 significant bytes: its magnitude, and what follows.
fn der_integer(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&tag, rest) = bytes.split_first()?;
    let (&len, rest) = rest.split_first()?;
    let len = usize::from(len);
    if tag != 0x02 || len == 0 || len > 33 || rest.len() < len {
        return None;
    }
    let (value, rest) = rest.split_at(len);
    let magnitude = match value {
        // A leading zero only where the next byte's top bit would read as negative.
        [0, next, ..] if next & 0x80 != 0 => value.get(1..)?,
        [0, _, ..] => return None,
        [first, ..] if first & 0x80 != 0 => return None,
        _ => value,
    };
    (magnitude.len() <= 32).then_some((magnitude, rest))
}
