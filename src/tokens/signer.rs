//! Ed25519 for access tokens behind one trait: the Worker signs and verifies with the runtime's
//! WebCrypto (`crate::platform::token_keys`), so its wasm carries no curve arithmetic and no
//! SHA-512; natively the same trait runs on `ed25519-compact`. Both give RFC 8032's
//! deterministic signatures, so one key and one message give the same bytes on either (the
//! vectors in tests/tokens/vectors.json are checked by both tiers).

use super::KeyError;

/// A configured key's raw parts: the private seed `d` and the public key `x` (at least one).
#[derive(Clone, Copy)]
pub struct KeyBytes {
    pub d: Option<[u8; 32]>,
    pub x: Option<[u8; 32]>,
}

impl std::fmt::Debug for KeyBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyBytes")
            .field("private", &self.d.is_some())
            .finish_non_exhaustive()
    }
}

/// The signing or verifying backend failed (not a bad signature: that is `Ok(false)`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SignerError(pub String);

/// The configured keys, ready to sign with the first and to verify with any.
#[allow(async_fn_in_trait)]
pub trait Ed25519Keys: Sized {
    /// Takes the configured keys (the first holds `d`). A backend that can check them at once
    /// refuses here a `d` whose public key is not the `x` given beside it.
    ///
    /// # Errors
    /// [`KeyError::Mismatch`] naming the first such key.
    fn new(keys: Vec<KeyBytes>) -> Result<Self, KeyError>;

    /// Every key's public half, in order, if already known without [`Self::ready`].
    fn publics(&self) -> Option<Vec<[u8; 32]>>;

    /// Makes the keys usable (once; later calls are cheap) and gives every key's public half,
    /// `x` derived from `d` where it was not given.
    ///
    /// # Errors
    /// [`KeyError::Mismatch`] when a `d` does not give its `x`; [`KeyError::Refused`] when the
    /// backend does not take a key.
    async fn ready(&self) -> Result<Vec<[u8; 32]>, KeyError>;

    /// Signs `message` with the first key.
    ///
    /// # Errors
    /// When the backend fails.
    async fn sign(&self, message: &[u8]) -> Result<[u8; 64], SignerError>;

    /// Whether `signature` (64 bytes) is the `key`-th key's signature of `message`.
    ///
    /// # Errors
    /// When the backend fails.
    async fn verify(
        &self,
        key: usize,
        message: &[u8],
        signature: &[u8; 64],
    ) -> Result<bool, SignerError>;
}

/// [`Ed25519Keys`] on `ed25519-compact`, for native builds (tests, tools).
#[cfg(not(target_arch = "wasm32"))]
pub struct CompactKeys {
    signing: ed25519_compact::SecretKey,
    publics: Vec<ed25519_compact::PublicKey>,
}

#[cfg(not(target_arch = "wasm32"))]
impl Ed25519Keys for CompactKeys {
    fn new(keys: Vec<KeyBytes>) -> Result<Self, KeyError> {
        use ed25519_compact::{KeyPair, PublicKey, Seed};
        let mut signing = None;
        let mut publics = Vec::with_capacity(keys.len());
        for (i, key) in keys.into_iter().enumerate() {
            let public = match (key.d, key.x) {
                (Some(d), x) => {
                    let pair = KeyPair::from_seed(Seed::new(d));
                    if x.is_some_and(|x| x != *pair.pk) {
                        return Err(KeyError::Mismatch(i));
                    }
                    if i == 0 {
                        signing = Some(pair.sk);
                    }
                    pair.pk
                }
                (None, Some(x)) => PublicKey::new(x),
                (None, None) => return Err(KeyError::Encoding(i)),
            };
            publics.push(public);
        }
        let signing = signing.ok_or(KeyError::FirstNotPrivate)?;
        Ok(Self { signing, publics })
    }

    fn publics(&self) -> Option<Vec<[u8; 32]>> {
        Some(self.publics.iter().map(|p| **p).collect())
    }

    async fn ready(&self) -> Result<Vec<[u8; 32]>, KeyError> {
        Ok(self.publics.iter().map(|p| **p).collect())
    }

    async fn sign(&self, message: &[u8]) -> Result<[u8; 64], SignerError> {
        // No noise: RFC 8032's deterministic signature, as WebCrypto gives.
        Ok(*self.signing.sign(message, None))
    }

    async fn verify(
        &self,
        key: usize,
        message: &[u8],
        signature: &[u8; 64],
    ) -> Result<bool, SignerError> {
        let public = self
            .publics
            .get(key)
            .ok_or_else(|| SignerError(format!("no key {key}")))?;
        Ok(public
            .verify(message, &ed25519_compact::Signature::new(*signature))
            .is_ok())
    }
}
