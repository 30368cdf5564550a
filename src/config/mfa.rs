//! The keys that seal TOTP secrets at rest: `MFA_ENCRYPTION_KEY` and `MFA_ENCRYPTION_OLD_KEYS`,
//! each 32 bytes in base64url. Only their parsing is configuration; the sealing itself is
//! `app::mfa::secret_box`'s.
//!
//! The key id is derived from the key itself (8 base64url characters of a SHA-256 over it), so
//! an operator never types one and cannot pair a key with the wrong id. No error or `Debug`
//! output here carries key bytes.

use std::fmt;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use secrecy::{ExposeSecret, SecretBox};
use sha2::{Digest, Sha256};

use super::names::{MFA_ENCRYPTION_KEY, MFA_ENCRYPTION_OLD_KEYS};

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

    /// The key's bytes, for the cipher only.
    pub(crate) fn expose(&self) -> &[u8; 32] {
        self.bytes.expose_secret()
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
    #[error("{MFA_ENCRYPTION_KEY} is not set")]
    Missing,
    #[error("{MFA_ENCRYPTION_KEY} is {0}")]
    Current(InvalidKey),
    /// Entry `n` (from 1) of the list.
    #[error("{MFA_ENCRYPTION_OLD_KEYS}: entry {0} is {1}")]
    Old(usize, InvalidKey),
}

impl MfaKeys {
    /// The keys from the values of `MFA_ENCRYPTION_KEY` and `MFA_ENCRYPTION_OLD_KEYS` (either
    /// may be absent; empty entries of the list are skipped, and an old key equal to the current
    /// one is dropped).
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

    /// The key that seals.
    pub(crate) fn current(&self) -> &MfaKey {
        &self.current
    }

    /// The key, current or old, whose id is `id`.
    pub(crate) fn find(&self, id: &str) -> Option<&MfaKey> {
        std::iter::once(&self.current)
            .chain(&self.old)
            .find(|k| k.id == id)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
