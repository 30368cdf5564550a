//! The options of both ceremonies in WebAuthn's JSON forms
//! (`PublicKeyCredentialCreationOptionsJSON`, `PublicKeyCredentialRequestOptionsJSON`, L3
//! §5.1.8-§5.1.9): binary members base64url, so that a browser's
//! `PublicKeyCredential.parseCreationOptionsFromJSON` / `parseRequestOptionsFromJSON` take them
//! as they are. Only the members the contract names are sent.

use serde::{Deserialize, Serialize};

use super::base64url;
use super::cose::Algorithm;

/// The answer of both options endpoints: `{"publicKey": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Options<T> {
    /// The options, under the member name `navigator.credentials` takes them by.
    pub public_key: T,
}

/// `PublicKeyCredentialCreationOptionsJSON`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreationOptions {
    /// The relying party.
    pub rp: RpEntity,
    /// The user, by handle.
    pub user: UserEntity,
    /// The challenge, base64url.
    pub challenge: String,
    /// The algorithms, in order of preference.
    pub pub_key_cred_params: Vec<CredentialParameter>,
    /// The user's credentials, which the authenticator must not register again.
    pub exclude_credentials: Vec<CredentialDescriptor>,
    /// Discoverable credentials and user verification, both required.
    pub authenticator_selection: AuthenticatorSelection,
    /// `none`: no attestation statement is verified.
    pub attestation: String,
}

/// `PublicKeyCredentialRpEntity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RpEntity {
    /// The RP ID.
    pub id: String,
    /// Its display name (`WEBAUTHN_RP_NAME`).
    pub name: String,
}

/// `PublicKeyCredentialUserEntityJSON`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserEntity {
    /// The user handle, base64url: random, never the email.
    pub id: String,
    /// The email.
    pub name: String,
    /// The email.
    pub display_name: String,
}

/// `PublicKeyCredentialParameters`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialParameter {
    /// Always `public-key`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The COSE algorithm identifier.
    pub alg: i64,
}

/// `PublicKeyCredentialDescriptorJSON`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialDescriptor {
    /// Always `public-key`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The credential id, base64url.
    pub id: String,
    /// The transports reported at registration, omitted when none were.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transports: Vec<String>,
}

impl CredentialDescriptor {
    /// The descriptor of a stored credential.
    #[must_use]
    pub fn new(credential_id: &[u8], transports: Vec<String>) -> Self {
        Self {
            kind: "public-key".into(),
            id: base64url::encode(credential_id),
            transports,
        }
    }
}

/// `AuthenticatorSelectionCriteria`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticatorSelection {
    /// `required`: a passkey, found without a user name at login.
    pub resident_key: String,
    /// `required`: every ceremony checks UV.
    pub user_verification: String,
}

/// `PublicKeyCredentialRequestOptionsJSON`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestOptions {
    /// The challenge, base64url.
    pub challenge: String,
    /// The RP ID.
    pub rp_id: String,
    /// `required`.
    pub user_verification: String,
    /// Empty: the credential is discoverable, the authenticator offers it.
    pub allow_credentials: Vec<CredentialDescriptor>,
}

/// The user a registration is for.
#[derive(Debug, Clone, Copy)]
pub struct RegistrationUser<'a> {
    /// The random per-user handle.
    pub handle: &'a [u8],
    /// The email, shown by the authenticator.
    pub email: &'a str,
}

/// The registration options: `rp`, `user`, the challenge, every algorithm in
/// [`Algorithm::ALL`]'s order, `exclude`, discoverable credentials with user verification,
/// `attestation: "none"`.
#[must_use]
pub fn creation_options(
    rp_id: &str,
    rp_name: &str,
    user: RegistrationUser<'_>,
    challenge: &[u8],
    exclude: Vec<CredentialDescriptor>,
) -> Options<CreationOptions> {
    Options {
        public_key: CreationOptions {
            rp: RpEntity {
                id: rp_id.into(),
                name: rp_name.into(),
            },
            user: UserEntity {
                id: base64url::encode(user.handle),
                name: user.email.into(),
                display_name: user.email.into(),
            },
            challenge: base64url::encode(challenge),
            pub_key_cred_params: Algorithm::ALL
                .iter()
                .map(|a| CredentialParameter {
                    kind: "public-key".into(),
                    alg: a.cose_id(),
                })
                .collect(),
            exclude_credentials: exclude,
            authenticator_selection: AuthenticatorSelection {
                resident_key: "required".into(),
                user_verification: "required".into(),
            },
            attestation: "none".into(),
        },
    }
}

/// The login options: the challenge, the RP ID, user verification required, no
/// `allowCredentials` (discoverable credentials).
#[must_use]
pub fn request_options(rp_id: &str, challenge: &[u8]) -> Options<RequestOptions> {
    Options {
        public_key: RequestOptions {
            challenge: base64url::encode(challenge),
            rp_id: rp_id.into(),
            user_verification: "required".into(),
            allow_credentials: Vec::new(),
        },
    }
}
