//! The TOTP secret at rest: AES-256-GCM under `MFA_ENCRYPTION_KEY`, so a copy of the database
//! alone does not give the codes away.
//!
//! Stored form: `v1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`, with a fresh random
//! 96-bit nonce per seal. The key id is derived from the key itself (8 base64url characters of
//! a SHA-256 over it), so an operator never types one and cannot pair a key with the wrong id.
//! New rows are sealed under the current key; rows sealed under a key listed in
//! `MFA_ENCRYPTION_OLD_KEYS` still open, and [`Opened::current_key`] tells the caller to seal
//! them again under the current one (docs/mfa.md gives the rotation procedure). The user's id
//! is the associated data: a sealed secret copied into another user's row does not open.
//!
//! No error or `Debug` output here carries key bytes, the secret or the sealed text.

use std::fmt;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use secrecy::{ExposeSecret, SecretBox};
use sha2::{Digest, Sha256};

use super::crypto::{CryptoError, MfaCrypto, NONCE_LEN, TAG_LEN};
use super::totp::{TotpSecret, SECRET_LEN};

/// The secret holding the current key: 32 bytes, base64url.
pub const KEY_VAR: &str = "MFA_ENCRYPTION_KEY";
/// The keys rotated away from, still accepted to open old rows: comma-separated, each like
/// [`KEY_VAR`].
pub const OLD_KEYS_VAR: &str = "MFA_ENCRYPTION_OLD_KEYS";

/// The stored form's version prefix.
const VERSION: &str = "v1";

/// One AES-256 key and the id derived from it.
pub struct MfaKey {
    id: String,
    bytes: SecretBox<[u8; 32]>,
}

impl MfaKey {
    /// A key from its configured text: 32 bytes in base64url (unpadded, or padded with `=`),
    /// surrounding whitespace ignored.
    ///
    /// # Errors
    /// When the text is not exactly that; the error holds nothing of the text.
    pub fn parse(text: &str) -> Result<Self, InvalidKey> {
        let text = text.trim();
        let text = text.strip_suffix('=').unwrap_or(text);
        let decoded = URL_SAFE_NO_PAD.decode(text).map_err(|_| InvalidKey)?;
        let bytes: [u8; 32] = decoded.try_into().map_err(|_| InvalidKey)?;
        Ok(Self::from_bytes(bytes))
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let mut sha = Sha256::new();
        sha.update(b"edge-auth mfa key id\0");
        sha.update(bytes);
        let id = URL_SAFE_NO_PAD.encode(&sha.finalize()[..6]);
        Self {
            id,
            bytes: SecretBox::new(Box::new(bytes)),
        }
    }

    /// The id rows sealed under this key carry (8 base64url characters).
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl fmt::Debug for MfaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MfaKey({})", self.id)
    }
}

/// A key's text is not 32 bytes of base64url.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not 32 bytes of base64url")]
pub struct InvalidKey;

/// The configured keys: the current one, which seals, and the old ones, which only open.
#[derive(Debug)]
pub struct MfaKeys {
    current: MfaKey,
    old: Vec<MfaKey>,
}

/// The keys' configuration is unusable. Names the variable (and the position in the list),
/// never the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyConfigError {
    #[error("{KEY_VAR} is not set")]
    Missing,
    #[error("{KEY_VAR} is {0}")]
    Current(InvalidKey),
    /// Entry `n` (from 1) of the list.
    #[error("{OLD_KEYS_VAR}: entry {0} is {1}")]
    Old(usize, InvalidKey),
}

impl MfaKeys {
    /// The keys from the values of [`KEY_VAR`] and [`OLD_KEYS_VAR`] (either may be absent;
    /// empty entries of the list are skipped, and an old key equal to the current one is
    /// dropped).
    ///
    /// # Errors
    /// When the current key is missing or any key is malformed.
    pub fn from_config(current: Option<&str>, old: Option<&str>) -> Result<Self, KeyConfigError> {
        let current = current
            .filter(|t| !t.trim().is_empty())
            .ok_or(KeyConfigError::Missing)?;
        let current = MfaKey::parse(current).map_err(KeyConfigError::Current)?;
        let mut keys = Self {
            current,
            old: Vec::new(),
        };
        let entries = old.unwrap_or("").split(',').map(str::trim);
        for (n, text) in entries.enumerate().filter(|(_, t)| !t.is_empty()) {
            let key = MfaKey::parse(text).map_err(|e| KeyConfigError::Old(n + 1, e))?;
            if keys.find(key.id()).is_none() {
                keys.old.push(key);
            }
        }
        Ok(keys)
    }

    pub fn new(current: MfaKey, old: Vec<MfaKey>) -> Self {
        Self { current, old }
    }

    /// The id new rows are sealed under.
    pub fn current_id(&self) -> &str {
        self.current.id()
    }

    fn find(&self, id: &str) -> Option<&MfaKey> {
        std::iter::once(&self.current)
            .chain(&self.old)
            .find(|k| k.id == id)
    }
}

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
    let key = &keys.current;
    let sealed = crypto
        .aes_256_gcm_seal(
            key.bytes.expose_secret(),
            nonce,
            &aad(user_id),
            secret.expose(),
        )
        .await
        .map_err(SecretBoxError::Crypto)?;
    let body = [nonce.as_slice(), &sealed].concat();
    Ok(format!(
        "{VERSION}.{}.{}",
        key.id,
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
        .aes_256_gcm_open(key.bytes.expose_secret(), nonce, &aad(user_id), sealed)
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
        current_key: key.id == keys.current.id,
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
