//! The cryptography the service runs on, named by one type that whoever puts an [`App`] together
//! chooses: the runtime's WebCrypto in the Worker (`platform`), so its wasm carries no curve or
//! cipher code, and RustCrypto in native builds ([`NativeCrypto`]: tests and tools).
//!
//! [`App`]: super::App

use super::mfa::crypto::MfaCrypto;
use super::passkeys::SignatureVerifier;
use crate::tokens::signer::Ed25519Keys;

/// The backends of one build.
pub trait Crypto {
    /// HMAC-SHA1 and AES-256-GCM for two-step verification.
    type Mfa: MfaCrypto + Default;
    /// The passkeys' signature check.
    type Signatures: SignatureVerifier + Default;
    /// The access tokens' Ed25519 keys.
    type TokenKeys: Ed25519Keys;
}

/// RustCrypto and `ed25519-compact`, for native builds.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Clone, Copy, Default)]
pub struct NativeCrypto;

#[cfg(not(target_arch = "wasm32"))]
impl Crypto for NativeCrypto {
    type Mfa = super::mfa::crypto::RustCrypto;
    type Signatures = super::passkeys::rustcrypto::RustCryptoVerifier;
    type TokenKeys = crate::tokens::signer::CompactKeys;
}
