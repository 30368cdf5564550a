//! The two primitives two-step verification needs (HMAC-SHA1 for TOTP, AES-256-GCM for the
//! secret at rest), as a trait: the Worker implements it with the runtime's WebCrypto
//! (`crate::platform::webcrypto`), so the wasm carries no cipher of its own; natively,
//! [`RustCrypto`] implements it with RustCrypto's crates. Async because WebCrypto is.

/// Length of an AES-GCM nonce (96 bits, the size GCM is specified for).
pub const NONCE_LEN: usize = 12;
/// Length of an AES-GCM tag, appended to the ciphertext (WebCrypto's layout).
pub const TAG_LEN: usize = 16;

/// A primitive failed. Never carries key or plaintext bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// AES-GCM refused the ciphertext: a wrong key, associated data or nonce, or altered
    /// bytes.
    #[error("the ciphertext does not authenticate")]
    Unauthentic,
    /// The implementation itself failed (for WebCrypto: the exception's name).
    #[error("crypto backend failed: {0}")]
    Backend(String),
}

/// HMAC-SHA1 and AES-256-GCM, the same bytes from every implementation (tests/wasm.rs runs the
/// native tests' vectors on WebCrypto).
#[allow(async_fn_in_trait)]
pub trait MfaCrypto {
    /// HMAC-SHA1 of `message` under `key` (RFC 2104).
    ///
    /// # Errors
    /// [`CryptoError::Backend`] when the implementation fails.
    async fn hmac_sha1(&self, key: &[u8], message: &[u8]) -> Result<[u8; 20], CryptoError>;

    /// AES-256-GCM encryption of `plaintext` with `aad` authenticated alongside: the
    /// ciphertext followed by the 16-byte tag.
    ///
    /// # Errors
    /// [`CryptoError::Backend`] when the implementation fails.
    async fn aes_256_gcm_seal(
        &self,
        key: &[u8; 32],
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError>;

    /// The inverse of [`MfaCrypto::aes_256_gcm_seal`].
    ///
    /// # Errors
    /// [`CryptoError::Unauthentic`] when the tag does not verify (wrong key, `aad` or nonce,
    /// altered bytes, too short); [`CryptoError::Backend`] when the implementation fails.
    async fn aes_256_gcm_open(
        &self,
        key: &[u8; 32],
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Vec<u8>, CryptoError>;
}

/// The native implementation, on RustCrypto's `hmac`, `sha1` and `aes-gcm` (native-only
/// dependencies: the Worker uses WebCrypto).
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Clone, Copy, Default)]
pub struct RustCrypto;

#[cfg(not(target_arch = "wasm32"))]
impl MfaCrypto for RustCrypto {
    async fn hmac_sha1(&self, key: &[u8], message: &[u8]) -> Result<[u8; 20], CryptoError> {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(key)
            .map_err(|_| CryptoError::Backend("HMAC key rejected".into()))?;
        mac.update(message);
        Ok(mac.finalize().into_bytes().into())
    }

    async fn aes_256_gcm_seal(
        &self,
        key: &[u8; 32],
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        use aes_gcm::aead::{Aead, KeyInit, Payload};
        let cipher = aes_gcm::Aes256Gcm::new(key.into());
        let payload = Payload {
            msg: plaintext,
            aad,
        };
        cipher
            .encrypt(nonce.into(), payload)
            .map_err(|_| CryptoError::Backend("AES-GCM encryption failed".into()))
    }

    async fn aes_256_gcm_open(
        &self,
        key: &[u8; 32],
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        use aes_gcm::aead::{Aead, KeyInit, Payload};
        let cipher = aes_gcm::Aes256Gcm::new(key.into());
        let payload = Payload { msg: sealed, aad };
        cipher
            .decrypt(nonce.into(), payload)
            .map_err(|_| CryptoError::Unauthentic)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::super::known_answers as kat;
    use super::*;
    use futures::executor::block_on;

    #[test]
    fn hmac_sha1_matches_the_rfc_2202_vector() {
        let mac = block_on(RustCrypto.hmac_sha1(kat::HMAC_KEY, kat::HMAC_MESSAGE)).unwrap();
        assert_eq!(kat::hex(&mac), kat::HMAC_SHA1);
    }

    #[test]
    fn aes_256_gcm_matches_the_gcm_specification_vector() {
        let key: [u8; 32] = kat::unhex(kat::GCM_KEY).try_into().unwrap();
        let nonce: [u8; 12] = kat::unhex(kat::GCM_IV).try_into().unwrap();
        let aad = kat::unhex(kat::GCM_AAD);
        let plaintext = kat::unhex(kat::GCM_PLAINTEXT);
        let sealed = block_on(RustCrypto.aes_256_gcm_seal(&key, &nonce, &aad, &plaintext)).unwrap();
        assert_eq!(
            kat::hex(&sealed),
            format!("{}{}", kat::GCM_CIPHERTEXT, kat::GCM_TAG)
        );
        let opened = block_on(RustCrypto.aes_256_gcm_open(&key, &nonce, &aad, &sealed)).unwrap();
        assert_eq!(opened, plaintext);
    }

    #[test]
    fn aes_256_gcm_refuses_altered_bytes_and_other_associated_data() {
        let (key, nonce) = ([7u8; 32], [9u8; 12]);
        let sealed =
            block_on(RustCrypto.aes_256_gcm_seal(&key, &nonce, b"user-a", b"secret")).unwrap();
        assert_eq!(sealed.len(), 6 + TAG_LEN);
        let open = |key: &[u8; 32], aad: &[u8], bytes: &[u8]| {
            block_on(RustCrypto.aes_256_gcm_open(key, &nonce, aad, bytes))
        };
        assert_eq!(open(&key, b"user-a", &sealed).unwrap(), b"secret");
        assert_eq!(
            open(&key, b"user-b", &sealed),
            Err(CryptoError::Unauthentic)
        );
        assert_eq!(
            open(&[8u8; 32], b"user-a", &sealed),
            Err(CryptoError::Unauthentic)
        );
        let mut altered = sealed.clone();
        altered[0] ^= 1;
        assert_eq!(
            open(&key, b"user-a", &altered),
            Err(CryptoError::Unauthentic)
        );
        assert_eq!(
            open(&key, b"user-a", &sealed[..4]),
            Err(CryptoError::Unauthentic)
        );
    }
}
