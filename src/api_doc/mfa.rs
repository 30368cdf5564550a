//! The schemas of two-step verification.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ErrorCode;

/// `POST /auth/mfa/totp/setup` body.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"password": "correct horse battery"}))]
pub struct MfaSetupRequest {
    /// The account's password, checked like a login.
    pub password: String,
}

/// `POST /auth/mfa/totp/setup` answer: what an authenticator app needs.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MfaSetupResponse {
    /// 160 random bits, RFC 4648 base32 without padding (32 characters).
    pub secret: String,
    /// `otpauth://totp/<issuer>:<email>?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30`
    /// (issuer `MFA_ISSUER`, default `JWT_ISSUER`; issuer and email percent-encoded).
    pub otpauth_uri: String,
}

/// A body with a TOTP code (`POST /auth/mfa/totp/confirm`, `POST /auth/mfa/recovery-codes`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"code": "123456"}))]
pub struct MfaCodeRequest {
    /// Six digits (spaces ignored) of the authenticator app: SHA-1, 30 s steps, one step of
    /// drift either side. A step once accepted is never accepted again.
    pub code: String,
}

/// Ten new recovery codes, shown only here.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RecoveryCodes {
    /// `xxxxx-xxxxx` (50 random bits each), single use; compared ignoring case, spaces and `-`.
    pub recovery_codes: Vec<String>,
}

/// `POST /auth/mfa/verify` body: the `mfa_token` of the login's `403`, and exactly one of
/// `code` or `recovery_code` (both, neither or an empty one is `422`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum MfaVerifyRequest {
    Totp(MfaVerifyWithCode),
    RecoveryCode(MfaVerifyWithRecoveryCode),
}

/// `POST /auth/mfa/verify` with a TOTP code.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"mfa_token": "q3Xh…", "code": "123456"}))]
pub struct MfaVerifyWithCode {
    /// From the login's `403 mfa_required`.
    #[schema(min_length = 1)]
    pub mfa_token: String,
    /// A TOTP code.
    #[schema(min_length = 1, pattern = r"\S")]
    pub code: String,
}

/// `POST /auth/mfa/verify` with a recovery code.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaVerifyWithRecoveryCode {
    /// From the login's `403 mfa_required`.
    #[schema(min_length = 1)]
    pub mfa_token: String,
    /// A recovery code.
    #[schema(min_length = 1, pattern = r"\S")]
    pub recovery_code: String,
}

/// `DELETE /auth/mfa/totp` body.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MfaDisableRequest {
    /// Checked first, like a login.
    pub password: String,
    /// A TOTP code or a recovery code.
    pub code: String,
}

/// The second factors a `403 mfa_required` offers.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MfaMethod {
    Totp,
    RecoveryCode,
}

/// `mfa_required`, the only `error` of a `403 mfa_required`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MfaRequiredError {
    MfaRequired,
}

/// The `403` of a login whose password is right for an account with two-step verification:
/// no session yet. Send the `mfa_token` with a code to `POST /auth/mfa/verify`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MfaRequiredProblem {
    /// Always `about:blank`.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    /// `mfa_required`.
    pub code: ErrorCode,
    pub detail: String,
    pub request_id: String,
    /// `mfa_required` (JSON and the OAuth form alike).
    pub error: MfaRequiredError,
    /// 256 random bits, base64url; valid `MFA_TOKEN_TTL` seconds (300), once, and dead after 5
    /// wrong codes or a password change or reset.
    pub mfa_token: String,
    /// `["totp", "recovery_code"]`.
    pub mfa_methods: Vec<MfaMethod>,
}
