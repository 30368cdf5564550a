//! Passkeys (WebAuthn Level 3): the relying party's side of both ceremonies as plain Rust over
//! bytes, with no platform types. Parsing (`authenticator_data`, `attestation`, `cose`,
//! `client_data`), the checks of §7.1 (`registration`) and §7.2 (`authentication`), the options
//! in WebAuthn's JSON forms (`options`) and the signature check behind a trait (`signature`),
//! implemented by WebCrypto in the Worker (`crate::platform::signatures`) and by RustCrypto
//! natively (`rustcrypto`); the endpoints of both ceremonies (`register`, `login`). The order of the checks and why is in `docs/passkeys.md`.
//!
//! Every failure is a [`PasskeyError`], one variant per check: the HTTP layer answers all of them
//! with `invalid_passkey`, while tests can tell which check refused. Nothing here panics on
//! input, whatever its bytes.

pub mod attestation;
pub mod authentication;
pub mod authenticator_data;
mod base64url;
mod cbor;
pub mod client_data;
pub mod cose;
mod login;
pub mod options;
mod register;
pub mod registration;
#[cfg(not(target_arch = "wasm32"))]
pub mod rustcrypto;
pub mod signature;

pub use authentication::{
    verify_authentication, Assertion, AuthenticationResponse, StoredCredential,
};
pub use cose::{Algorithm, PublicKey};
pub use registration::{verify_registration, NewCredential, RegistrationResponse};
pub use signature::{SignatureError, SignatureVerifier};

/// The relying party a ceremony is checked against: `WEBAUTHN_RP_ID` and the accepted origins
/// (`WEBAUTHN_ORIGINS`).
#[derive(Clone, Debug)]
pub struct RelyingParty<'a> {
    /// The RP ID: `rpIdHash` must be its SHA-256.
    pub id: &'a str,
    /// Origins (`scheme://host[:port]`) that `clientDataJSON.origin` must equal, exactly.
    pub origins: &'a [String],
}

/// Why a registration or an assertion was refused: one variant per check, in the order the
/// checks run. All of them are `invalid_passkey` to the client except [`Self::Platform`], a
/// failure of the runtime rather than of the credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasskeyError {
    /// The credential's JSON lacks a field, has one of the wrong type, a value that is not
    /// base64url, or a `type` other than `public-key`.
    #[error("the credential is not a well-formed response")]
    MalformedResponse,
    /// `id` and `rawId` differ, or the id is not the credential's (the attested one at
    /// registration, the stored one at login).
    #[error("the credential id does not match")]
    CredentialIdMismatch,
    /// No credential with this id is registered (the store's lookup found none).
    #[error("the credential is not registered")]
    UnknownCredential,
    /// The assertion's `userHandle` is not the handle of the credential's user.
    #[error("the user handle is not the credential's user's")]
    UserHandleMismatch,
    /// `clientDataJSON` is not UTF-8 JSON with string `type`, `challenge` and `origin`.
    #[error("clientDataJSON is malformed")]
    MalformedClientData,
    /// `clientDataJSON.type` is not this ceremony's (`webauthn.create` or `webauthn.get`).
    #[error("clientDataJSON.type is not this ceremony's")]
    WrongCeremony,
    /// `clientDataJSON.challenge` is not the challenge this ceremony issued.
    #[error("the challenge is not the one issued")]
    ChallengeMismatch,
    /// `clientDataJSON.origin` is not one of the accepted origins.
    #[error("the origin is not accepted")]
    OriginNotAllowed,
    /// The attestation object is not a CBOR map with `fmt` (text), `attStmt` (map) and
    /// `authData` (bytes), or has bytes after it.
    #[error("the attestation object is malformed")]
    MalformedAttestation,
    /// The authenticator data is too short, its attested credential data or extensions are not
    /// well-formed, or bytes follow them.
    #[error("the authenticator data is malformed")]
    MalformedAuthenticatorData,
    /// `rpIdHash` is not the SHA-256 of the RP ID.
    #[error("rpIdHash is not the RP ID's")]
    RpIdMismatch,
    /// The user present flag (UP) is not set.
    #[error("the user was not present")]
    UserNotPresent,
    /// The user verified flag (UV) is not set.
    #[error("the user was not verified")]
    UserNotVerified,
    /// The backup state flag (BS) is set without backup eligibility (BE).
    #[error("the backup flags are inconsistent")]
    InconsistentBackupFlags,
    /// A registration's authenticator data carries no attested credential data (AT).
    #[error("no attested credential data")]
    NoAttestedCredential,
    /// The COSE key's algorithm is not one the options offered.
    #[error("the algorithm was not offered")]
    AlgorithmNotAllowed,
    /// The COSE key is not a well-formed key of its algorithm.
    #[error("the public key is malformed")]
    MalformedPublicKey,
    /// The signature is malformed (an ES256 one that is not strict DER) or does not verify.
    #[error("the signature does not verify")]
    BadSignature,
    /// The signature counter did not grow although the stored or the new one is non-zero:
    /// the authenticator may have been cloned.
    #[error("the signature counter did not increase")]
    CounterNotIncreased,
    /// The runtime's crypto failed for a reason other than the key or the signature.
    #[error("signature verification is unavailable: {0}")]
    Platform(String),
}

/// The contract's sign-counter rule: when the stored or the new counter is non-zero, the new
/// one must be greater (else the credential may have been cloned); two zeros mean an
/// authenticator that keeps no counter, and pass.
#[must_use]
pub fn counter_is_acceptable(stored: u32, new: u32) -> bool {
    (stored == 0 && new == 0) || new > stored
}

/// The credential id of a browser's response (`PublicKeyCredential.toJSON()`): its `type` must
/// be `public-key`, and `id` and `rawId` must name the same bytes.
///
/// # Errors
/// [`PasskeyError::MalformedResponse`] for another type or a value that is not base64url,
/// [`PasskeyError::CredentialIdMismatch`] when `id` and `rawId` differ.
fn credential_id(kind: &str, id: &str, raw_id: &str) -> Result<Vec<u8>, PasskeyError> {
    const BAD: PasskeyError = PasskeyError::MalformedResponse;
    if kind != "public-key" {
        return Err(BAD);
    }
    let credential_id = base64url::decode(raw_id).ok_or(BAD)?;
    if base64url::decode(id).ok_or(BAD)? != credential_id {
        return Err(PasskeyError::CredentialIdMismatch);
    }
    Ok(credential_id)
}

/// The string member `key` of a JSON object (`None` when `json` is no object, or the member is
/// absent or not a string). The JSON forms are read member by member rather than through a
/// derived `Deserialize`, whose visitors would cost the wasm more than these few lines.
fn text<'a>(json: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    json.get(key)?.as_str()
}

/// Whether `a` and `b` are equal, in time that depends only on their lengths: for challenges
/// and user handles, values an attacker should not learn byte by byte.
fn equal(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests;
