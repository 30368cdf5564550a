//! Authentication (WebAuthn L3 §7.2): the checks of an `AuthenticationResponseJSON` against
//! the stored credential that the contract lists, in the specification's order. The store
//! finds the credential by its id and spends the challenge before these checks run; on any
//! failure it changes nothing else.

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::authenticator_data::AuthenticatorData;
use super::client_data::{Ceremony, ClientData};
use super::registration::check_authenticator_data;
use super::signature::{verify_webauthn_signature, SignatureVerifier};
use super::{
    base64url, cose, counter_is_acceptable, credential_id, equal, text, PasskeyError, RelyingParty,
};

/// An `AuthenticationResponseJSON` (what `credential.toJSON()` gives after `get()`), decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticationResponse {
    /// `rawId`, equal to `id`: the key of the store's lookup.
    pub credential_id: Vec<u8>,
    /// `response.clientDataJSON`.
    pub client_data_json: Vec<u8>,
    /// `response.authenticatorData`.
    pub authenticator_data: Vec<u8>,
    /// `response.signature`.
    pub signature: Vec<u8>,
    /// `response.userHandle`, when the browser sent one (always, for a discoverable credential).
    pub user_handle: Option<Vec<u8>>,
}

impl AuthenticationResponse {
    /// Decodes the JSON a browser sends. An empty or `null` `userHandle` counts as absent.
    ///
    /// # Errors
    /// [`PasskeyError::MalformedResponse`] for a missing or mistyped member, a value that is not
    /// base64url or a `type` other than `public-key`; [`PasskeyError::CredentialIdMismatch`]
    /// when `id` and `rawId` differ.
    pub fn from_json(json: &Value) -> Result<Self, PasskeyError> {
        const BAD: PasskeyError = PasskeyError::MalformedResponse;
        let response = json.get("response").ok_or(BAD)?;
        let member = |v, key| text(v, key).ok_or(BAD);
        let (kind, id, raw_id) = (
            member(json, "type")?,
            member(json, "id")?,
            member(json, "rawId")?,
        );
        let client_data_json = member(response, "clientDataJSON")?;
        let authenticator_data = member(response, "authenticatorData")?;
        let signature = member(response, "signature")?;
        let user_handle = match response.get("userHandle") {
            None | Some(Value::Null) => "",
            Some(Value::String(h)) => h,
            Some(_) => return Err(BAD),
        };
        let credential_id = credential_id(kind, id, raw_id)?;
        let user_handle = match user_handle {
            "" => None,
            h => Some(base64url::decode(h).ok_or(BAD)?),
        };
        Ok(Self {
            credential_id,
            client_data_json: base64url::decode(client_data_json).ok_or(BAD)?,
            authenticator_data: base64url::decode(authenticator_data).ok_or(BAD)?,
            signature: base64url::decode(signature).ok_or(BAD)?,
            user_handle,
        })
    }

    /// The challenge the client data presents: the store spends it before the checks run.
    ///
    /// # Errors
    /// [`PasskeyError::MalformedClientData`].
    pub fn presented_challenge(&self) -> Result<Vec<u8>, PasskeyError> {
        ClientData::parse(&self.client_data_json)?.challenge_bytes()
    }
}

/// A registered credential, as the store keeps it.
#[derive(Debug, Clone, Copy)]
pub struct StoredCredential<'a> {
    /// The credential id.
    pub credential_id: &'a [u8],
    /// The COSE key stored at registration.
    pub public_key: &'a [u8],
    /// The stored signature counter.
    pub sign_count: u32,
    /// The user handle of the credential's user.
    pub user_handle: &'a [u8],
}

/// What an assertion that passed every check changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assertion {
    /// The new signature counter, to store (conditionally: see `sql::passkeys`).
    pub sign_count: u32,
}

/// Runs the authentication checks, in this order:
///
/// 1. the response is for the stored credential; its `userHandle`, when sent, is the
///    credential's user's;
/// 2. client data: well-formed; `type` is `webauthn.get`; the challenge is `challenge`; the
///    origin is accepted;
/// 3. the authenticator data is well-formed; `rpIdHash` is SHA-256 of the RP ID; UP and UV are
///    set; BS is not set without BE;
/// 4. the signature over `authenticatorData ‖ SHA-256(clientDataJSON)` verifies with the stored
///    key;
/// 5. the counter rule ([`counter_is_acceptable`]).
///
/// # Errors
/// The [`PasskeyError`] of the first check that fails.
pub async fn verify_authentication(
    response: &AuthenticationResponse,
    stored: &StoredCredential<'_>,
    rp: &RelyingParty<'_>,
    challenge: &[u8],
    verifier: &impl SignatureVerifier,
) -> Result<Assertion, PasskeyError> {
    if response.credential_id != stored.credential_id {
        return Err(PasskeyError::CredentialIdMismatch);
    }
    if let Some(handle) = &response.user_handle {
        if !equal(handle, stored.user_handle) {
            return Err(PasskeyError::UserHandleMismatch);
        }
    }

    let client_data = ClientData::parse(&response.client_data_json)?;
    client_data.check(Ceremony::Get, challenge, rp)?;

    let auth_data = AuthenticatorData::parse(&response.authenticator_data)?;
    check_authenticator_data(&auth_data, rp.id)?;

    let key = cose::parse(stored.public_key)?;
    let mut signed = response.authenticator_data.clone();
    signed.extend_from_slice(&Sha256::digest(&response.client_data_json));
    verify_webauthn_signature(verifier, &key, &signed, &response.signature).await?;

    if !counter_is_acceptable(stored.sign_count, auth_data.sign_count) {
        return Err(PasskeyError::CounterNotIncreased);
    }
    Ok(Assertion {
        sign_count: auth_data.sign_count,
    })
}
