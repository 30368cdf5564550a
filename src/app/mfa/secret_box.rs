//! The TOTP secret at rest: AES-256-GCM under `MFA_ENCRYPTION_KEY`, so a copy of the database
//! alone does not give the codes away.
//!
//! Stored form: `v1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`, with a fresh random
//! 96-bit nonce per seal, under the configured keys ([`MfaKeys`], each with an id derived from
//! the key itself). New rows are sealed under the current key; rows sealed under a key listed
//! in `MFA_ENCRYPTION_OLD_KEYS` still open, and [`Opened::current_key`] tells the caller to seal
//! them again under the current one (docs/mfa.md gives the rotation procedure). The user's id
//! is the associated data: a sealed secret copied into another user's row does not open.
//!
//! No error or `Debug` output here carries key bytes, the secret or the sealed text.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};

use super::crypto::{CryptoError, MfaCrypto, NONCE_LEN, TAG_LEN};
use super::totp::{TotpSecret, SECRET_LEN};
use crate::config::MfaKeys;

/// The stored form's version prefix.
const VERSION: &str = "v1";

/// Why a secret could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretBoxError {
    #[error("no randomness for a nonce")]
    Random,
    #[error("the sealed secret is not in the stored form")]
    Malformed,
    /// The row's key id is neither the current key's nor an old key's: a key was removed
    /// from `MFA_ENCRYPTION_OLD_KEYS` while rows still used it.
    #[error("sealed under key {0}, which is not configured")]
    UnknownKey(String),
    /// The key is the right one by id, but the bytes do not authenticate for this user: the
    /// row was altered or copied from another user's.
    #[error("the sealed secret does not authenticate for this user")]
    Unauthentic,
    #[error(transparent)]
    Crypto(CryptoError),
}

/// An opened secret, and whether its row is already under the current key.
#[derive(Debug)]
pub struct Opened {
    pub secret: TotpSecret,
    /// `false`: sealed under an old key; the caller should store [`seal`]'s new form.
    pub current_key: bool,
}

/// The associated data of user `user_id`'s secret.
fn aad(user_id: &str) -> Vec<u8> {
    [b"edge-auth totp secret\0".as_slice(), user_id.as_bytes()].concat()
}

/// `secret` of user `user_id` sealed under the current key, in the stored form.
///
/// # Errors
/// When no nonce can be drawn or the cipher fails.
pub async fn seal<C: MfaCrypto>(
    crypto: &C,
    keys: &MfaKeys,
    user_id: &str,
    secret: &TotpSecret,
) -> Result<String, SecretBoxError> {
    let nonce = crate::domain::random::bytes::<NONCE_LEN>().map_err(|_| SecretBoxError::Random)?;
    seal_with_nonce(crypto, keys, user_id, secret, &nonce).await
}

/// [`seal`] with a given nonce, which must never repeat under one key: for the fixed
/// cross-implementation vector in the tests only.
async fn seal_with_nonce<C: MfaCrypto>(
    crypto: &C,
    keys: &MfaKeys,
    user_id: &str,
    secret: &TotpSecret,
    nonce: &[u8; NONCE_LEN],
) -> Result<String, SecretBoxError> {
    let key = keys.current();
    let sealed = crypto
        .aes_256_gcm_seal(key.expose(), nonce, &aad(user_id), secret.expose())
        .await
        .map_err(SecretBoxError::Crypto)?;
    let body = [nonce.as_slice(), &sealed].concat();
    Ok(format!(
        "{VERSION}.{}.{}",
        key.id(),
        URL_SAFE_NO_PAD.encode(body)
    ))
}

/// The secret of user `user_id` from its stored form.
///
/// # Errors
/// [`SecretBoxError::Malformed`] when `stored` is not in the stored form,
/// [`SecretBoxError::UnknownKey`] when its key is not configured,
/// [`SecretBoxError::Unauthentic`] when it does not authenticate for this user, and
/// [`SecretBoxError::Crypto`] when the cipher itself fails.
pub async fn open<C: MfaCrypto>(
    crypto: &C,
    keys: &MfaKeys,
    user_id: &str,
    stored: &str,
) -> Result<Opened, SecretBoxError> {
    let mut parts = stored.splitn(3, '.');
    let (Some(VERSION), Some(id), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(SecretBoxError::Malformed);
    };
    let body = URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| SecretBoxError::Malformed)?;
    if body.len() != NONCE_LEN + SECRET_LEN + TAG_LEN {
        return Err(SecretBoxError::Malformed);
    }
    let key = keys
        .find(id)
        .ok_or_else(|| SecretBoxError::UnknownKey(id.chars().take(16).collect()))?;
    let (nonce, sealed) = body.split_at(NONCE_LEN);
    let nonce: &[u8; NONCE_LEN] = nonce.try_into().map_err(|_| SecretBoxError::Malformed)?;
    let opened = crypto
        .aes_256_gcm_open(key.expose(), nonce, &aad(user_id), sealed)
        .await
        .map_err(|e| match e {
            CryptoError::Unauthentic => SecretBoxError::Unauthentic,
            other => SecretBoxError::Crypto(other),
        })?;
    let bytes: [u8; SECRET_LEN] = opened
        .as_slice()
        .try_into()
        .map_err(|_| SecretBoxError::Malformed)?;
    Ok(Opened {
        secret: TotpSecret::from_bytes(bytes),
        current_key: key.id() == keys.current_id(),
    })
}

/// The key id of a stored form, without opening it (for counting the rows still under an old
/// key); `None` when it is not in the stored form.
pub fn key_id(stored: &str) -> Option<&str> {
    let mut parts = stored.splitn(3, '.');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(VERSION), Some(id), Some(_)) => Some(id),
        _ => None,
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
