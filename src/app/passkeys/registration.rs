//! Registration (WebAuthn L3 §7.1): the checks of a `RegistrationResponseJSON` that the
//! contract lists, in the specification's order. The challenge's single use is the store's
//! part: it is spent before these checks run, whatever their outcome.

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::attestation::AttestationObject;
use super::authenticator_data::{flags, AuthenticatorData};
use super::client_data::{Ceremony, ClientData};
use super::cose::{self, Algorithm};
use super::{base64url, credential_id, equal, text, PasskeyError, RelyingParty};

/// The transports WebAuthn L3 defines (§5.8.4); others are dropped, as the specification asks
/// of unknown values.
pub const KNOWN_TRANSPORTS: [&str; 6] = ["ble", "hybrid", "internal", "nfc", "smart-card", "usb"];

/// A `RegistrationResponseJSON` (what `credential.toJSON()` gives after `create()`), decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationResponse {
    /// `rawId`, equal to `id`.
    pub credential_id: Vec<u8>,
    /// `response.clientDataJSON`.
    pub client_data_json: Vec<u8>,
    /// `response.attestationObject`.
    pub attestation_object: Vec<u8>,
    /// `response.transports`, the known ones, each once, in their order.
    pub transports: Vec<String>,
}

impl RegistrationResponse {
    /// Decodes the JSON a browser sends.
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
        let attestation_object = member(response, "attestationObject")?;
        let listed = match response.get("transports") {
            None | Some(Value::Null) => &[][..],
            Some(Value::Array(listed)) => listed,
            Some(_) => return Err(BAD),
        };
        let credential_id = credential_id(kind, id, raw_id)?;
        let mut transports: Vec<String> = Vec::new();
        for t in listed {
            let t = t.as_str().ok_or(BAD)?;
            if KNOWN_TRANSPORTS.contains(&t) && !transports.iter().any(|k| k == t) {
                transports.push(t.to_owned());
            }
        }
        Ok(Self {
            credential_id,
            client_data_json: base64url::decode(client_data_json).ok_or(BAD)?,
            attestation_object: base64url::decode(attestation_object).ok_or(BAD)?,
            transports,
        })
    }
}

/// What a registration is checked against.
#[derive(Debug, Clone)]
pub struct RegistrationCheck<'a> {
    /// The relying party.
    pub rp: RelyingParty<'a>,
    /// The challenge the store claimed for this user's registration.
    pub challenge: &'a [u8],
    /// The algorithms the options offered.
    pub algorithms: &'a [Algorithm],
}

/// A credential that passed every check, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCredential {
    /// The credential id.
    pub credential_id: Vec<u8>,
    /// The COSE key as the authenticator wrote it: what an assertion is verified with.
    pub public_key: Vec<u8>,
    /// Its algorithm.
    pub algorithm: Algorithm,
    /// The signature counter at registration: the first stored one.
    pub sign_count: u32,
    /// The transports the browser reported.
    pub transports: Vec<String>,
    /// The authenticator's model (zeros without attestation).
    pub aaguid: [u8; 16],
    /// The BE flag: whether the credential may be synced (a multi-device passkey).
    pub backup_eligible: bool,
    /// The BS flag: whether it was backed up at registration.
    pub backed_up: bool,
}

/// Runs the registration checks, in this order, and returns the credential to store.
///
/// 1. client data: well-formed; `type` is `webauthn.create`; the challenge is `check.challenge`;
///    the origin is accepted;
/// 2. the attestation object is well-formed CBOR with `fmt`, `attStmt` and `authData` (the
///    statement is not verified, whatever its format);
/// 3. the authenticator data is well-formed; `rpIdHash` is SHA-256 of the RP ID; UP and UV are
///    set; BS is not set without BE; attested credential data is present;
/// 4. the attested credential id is the response's; the key's algorithm is one offered, and
///    the key is a well-formed key of it.
///
/// # Errors
/// The [`PasskeyError`] of the first check that fails.
pub fn verify_registration(
    response: &RegistrationResponse,
    check: &RegistrationCheck<'_>,
) -> Result<NewCredential, PasskeyError> {
    let client_data = ClientData::parse(&response.client_data_json)?;
    client_data.check(Ceremony::Create, check.challenge, &check.rp)?;

    let attestation = AttestationObject::parse(&response.attestation_object)?;
    let auth_data = AuthenticatorData::parse(attestation.auth_data)?;
    check_authenticator_data(&auth_data, check.rp.id)?;
    let attested = auth_data
        .attested
        .as_ref()
        .ok_or(PasskeyError::NoAttestedCredential)?;
    if attested.credential_id != response.credential_id.as_slice() {
        return Err(PasskeyError::CredentialIdMismatch);
    }
    let algorithm = Algorithm::from_cose_id(cose::algorithm_id(attested.public_key)?)
        .filter(|a| check.algorithms.contains(a))
        .ok_or(PasskeyError::AlgorithmNotAllowed)?;
    cose::parse(attested.public_key)?;

    Ok(NewCredential {
        credential_id: response.credential_id.clone(),
        public_key: attested.public_key.to_vec(),
        algorithm,
        sign_count: auth_data.sign_count,
        transports: response.transports.clone(),
        aaguid: attested.aaguid,
        backup_eligible: auth_data.has(flags::BE),
        backed_up: auth_data.has(flags::BS),
    })
}

/// The authenticator-data checks both ceremonies share, in order: `rpIdHash`, UP, UV, and BS
/// only with BE. (Attested credential data is registration's own check.)
pub(super) fn check_authenticator_data(
    auth_data: &AuthenticatorData<'_>,
    rp_id: &str,
) -> Result<(), PasskeyError> {
    if !equal(&auth_data.rp_id_hash, &Sha256::digest(rp_id.as_bytes())) {
        return Err(PasskeyError::RpIdMismatch);
    }
    if !auth_data.has(flags::UP) {
        return Err(PasskeyError::UserNotPresent);
    }
    if !auth_data.has(flags::UV) {
        return Err(PasskeyError::UserNotVerified);
    }
    if auth_data.has(flags::BS) && !auth_data.has(flags::BE) {
        return Err(PasskeyError::InconsistentBackupFlags);
    }
    Ok(())
}
