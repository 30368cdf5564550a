//! `clientDataJSON` (WebAuthn L3 §5.8.1): the browser's record of the ceremony's type, its
//! challenge and the origin that ran it.

use serde_json::Value;

use super::{base64url, equal, text, PasskeyError, RelyingParty};

/// A ceremony, by the `type` its client data must carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ceremony {
    /// Registration: `webauthn.create`.
    Create,
    /// Authentication: `webauthn.get`.
    Get,
}

impl Ceremony {
    fn client_data_type(self) -> &'static str {
        match self {
            Ceremony::Create => "webauthn.create",
            Ceremony::Get => "webauthn.get",
        }
    }
}

/// The members of client data that the checks read; others (`crossOrigin`, `topOrigin`,
/// `tokenBinding`) are ignored.
#[derive(Debug, Clone)]
pub struct ClientData {
    /// `webauthn.create` or `webauthn.get`.
    pub kind: String,
    /// The challenge, base64url as the browser wrote it.
    pub challenge: String,
    /// The origin of the page that ran the ceremony.
    pub origin: String,
}

impl ClientData {
    /// Parses `clientDataJSON`'s bytes.
    ///
    /// # Errors
    /// [`PasskeyError::MalformedClientData`] when they are not UTF-8 JSON with string `type`,
    /// `challenge` and `origin`.
    pub fn parse(bytes: &[u8]) -> Result<Self, PasskeyError> {
        // Read as a `Value`, whose parser the request bodies already use: a derived
        // `Deserialize` would add its own to the wasm.
        const BAD: PasskeyError = PasskeyError::MalformedClientData;
        let json: Value = serde_json::from_slice(bytes).map_err(|_| BAD)?;
        let member = |key| text(&json, key).map(str::to_owned).ok_or(BAD);
        Ok(Self {
            kind: member("type")?,
            challenge: member("challenge")?,
            origin: member("origin")?,
        })
    }

    /// The challenge's bytes: what the store looks up before the checks run.
    ///
    /// # Errors
    /// [`PasskeyError::MalformedClientData`] when the challenge is not base64url.
    pub fn challenge_bytes(&self) -> Result<Vec<u8>, PasskeyError> {
        base64url::decode(&self.challenge).ok_or(PasskeyError::MalformedClientData)
    }

    /// The client-data checks of §7.1 steps 7-9 and §7.2 steps 11-13, in that order: the
    /// ceremony's type, the issued challenge, an accepted origin.
    ///
    /// # Errors
    /// [`PasskeyError::WrongCeremony`], [`PasskeyError::ChallengeMismatch`] or
    /// [`PasskeyError::OriginNotAllowed`], the first that fails.
    pub fn check(
        &self,
        ceremony: Ceremony,
        challenge: &[u8],
        rp: &RelyingParty<'_>,
    ) -> Result<(), PasskeyError> {
        if self.kind != ceremony.client_data_type() {
            return Err(PasskeyError::WrongCeremony);
        }
        let presented =
            base64url::decode(&self.challenge).ok_or(PasskeyError::ChallengeMismatch)?;
        if !equal(&presented, challenge) {
            return Err(PasskeyError::ChallengeMismatch);
        }
        if !rp.origins.contains(&self.origin) {
            return Err(PasskeyError::OriginNotAllowed);
        }
        Ok(())
    }
}
