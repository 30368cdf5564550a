//! The one error type of the service and its single mapping to RFC 9457 problem details.

pub use crate::domain::FieldError;

/// Why a bearer token was refused. Logged, never sent: the client only learns `invalid_token`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRejection {
    Missing,
    TooLarge,
    Malformed,
    UnknownKey,
    BadAlgorithm,
    BadSignature,
    Expired,
    NotYetValid,
    WrongIssuer,
    WrongAudience,
    WrongType,
    UnknownSubject,
    SessionRevoked,
}

impl TokenRejection {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::TooLarge => "too_large",
            Self::Malformed => "malformed",
            Self::UnknownKey => "unknown_kid",
            Self::BadAlgorithm => "bad_algorithm",
            Self::BadSignature => "bad_signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::WrongType => "wrong_type",
            Self::UnknownSubject => "unknown_subject",
            Self::SessionRevoked => "session_revoked",
        }
    }
}

/// Every way a request can fail. Each variant is one `code` of the contract.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("malformed request: {0}")]
    MalformedRequest(&'static str),
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("invalid token: {}", .0.as_str())]
    InvalidToken(TokenRejection),
    #[error("invalid grant")]
    InvalidGrant,
    /// A token request whose `grant_type` is not the endpoint's (which is given).
    #[error("unsupported grant type")]
    UnsupportedGrantType(&'static str),
    #[error("email taken")]
    EmailTaken,
    /// A reset or verification token that is unknown, malformed, expired or already used.
    #[error("invalid email token")]
    InvalidEmailToken,
    /// A correct login of an unverified account while verification is required.
    #[error("email not verified")]
    EmailNotVerified,
    /// A correct login of an account an operator disabled.
    #[error("account disabled")]
    AccountDisabled,
    #[error("email already verified")]
    EmailAlreadyVerified,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed(Vec<&'static str>),
    #[error("too many attempts")]
    TooManyAttempts { retry_after: u64 },
    /// Too many requests from one client IP (`RATE_LIMIT_BY_IP`).
    #[error("too many requests")]
    TooManyRequests { retry_after: u64 },
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("service unavailable")]
    ServiceUnavailable { retry_after: u64 },
    /// Anything unexpected. The cause is logged with the request id and never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

/// An error as the client sees it: status, code, title, public detail, the broken rules of a
/// `422`, the headers it carries, and on the token endpoints the RFC 6749 §5.2 members.
/// [`AppError::problem`] is the only place these are decided; `http::render` writes them out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub status: u16,
    pub title: &'static str,
    pub code: &'static str,
    pub detail: String,
    /// The `errors` member: every broken rule of a `422` (absent on other problems).
    pub errors: Option<Vec<FieldError>>,
    /// `Allow`, `Retry-After`, `WWW-Authenticate`: what the status needs to be acted on.
    pub headers: Vec<(&'static str, String)>,
    /// `error` and `error_description`, set by `http::oauth` on the token endpoints' answers.
    pub oauth: Option<OAuthError>,
}

/// The RFC 6749 §5.2 members of a token endpoint's error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub error: &'static str,
    pub description: String,
}

impl AppError {
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    pub fn problem(&self) -> Problem {
        let (status, title, code, detail): (u16, &str, &str, String) = match self {
            Self::MalformedRequest(why) => (
                400,
                "Bad Request",
                "malformed_request",
                format!("The request body could not be read: {why}."),
            ),
            Self::Validation(_) => (
                422,
                "Unprocessable Content",
                "validation_failed",
                "The request has invalid fields.".into(),
            ),
            Self::InvalidCredentials => (
                401,
                "Unauthorized",
                "invalid_credentials",
                "Email or password is incorrect.".into(),
            ),
            Self::InvalidToken(TokenRejection::Missing) => (
                401,
                "Unauthorized",
                "invalid_token",
                "A bearer access token is required.".into(),
            ),
            Self::InvalidToken(_) => (
                401,
                "Unauthorized",
                "invalid_token",
                "The access token is invalid or expired.".into(),
            ),
            Self::InvalidGrant => (
                401,
                "Unauthorized",
                "invalid_grant",
                "The refresh token is invalid, expired or revoked.".into(),
            ),
            Self::UnsupportedGrantType(expected) => (
                400,
                "Bad Request",
                "unsupported_grant_type",
                format!("This endpoint accepts only grant_type={expected}."),
            ),
            Self::EmailTaken => (
                409,
                "Conflict",
                "email_taken",
                "An account with this email already exists.".into(),
            ),
            Self::InvalidEmailToken => (
                400,
                "Bad Request",
                "invalid_email_token",
                "The link is invalid, expired or already used; ask for a new one.".into(),
            ),
            Self::EmailNotVerified => (
                403,
                "Forbidden",
                "email_not_verified",
                "Verify your email address before logging in.".into(),
            ),
            Self::AccountDisabled => (
                403,
                "Forbidden",
                "account_disabled",
                "This account is disabled.".into(),
            ),
            Self::EmailAlreadyVerified => (
                409,
                "Conflict",
                "email_already_verified",
                "This email address is already verified.".into(),
            ),
            Self::NotFound => (404, "Not Found", "not_found", "No such resource.".into()),
            Self::MethodNotAllowed(_) => (
                405,
                "Method Not Allowed",
                "method_not_allowed",
                "This method is not allowed on this resource.".into(),
            ),
            Self::PayloadTooLarge => (
                413,
                "Content Too Large",
                "payload_too_large",
                "The request body is larger than 16384 bytes.".into(),
            ),
            Self::TooManyAttempts { .. } => (
                429,
                "Too Many Requests",
                "too_many_attempts",
                "Too many failed login attempts for this account; retry later.".into(),
            ),
            Self::TooManyRequests { .. } => (
                429,
                "Too Many Requests",
                "too_many_requests",
                "Too many requests from this client; retry later.".into(),
            ),
            Self::ServiceUnavailable { .. } => (
                503,
                "Service Unavailable",
                "service_unavailable",
                "The service is temporarily unavailable; retry later.".into(),
            ),
            Self::Internal(_) => (
                500,
                "Internal Server Error",
                "internal_error",
                "An unexpected error occurred.".into(),
            ),
        };
        let errors = match self {
            Self::Validation(errors) => Some(errors.clone()),
            _ => None,
        };
        Problem {
            status,
            title,
            code,
            detail,
            errors,
            headers: self.headers(),
            oauth: None,
        }
    }

    fn headers(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::MethodNotAllowed(allow) => vec![("allow", allow.join(", "))],
            Self::ServiceUnavailable { retry_after }
            | Self::TooManyAttempts { retry_after }
            | Self::TooManyRequests { retry_after } => {
                vec![("retry-after", retry_after.to_string())]
            }
            Self::InvalidToken(TokenRejection::Missing) => {
                vec![("www-authenticate", "Bearer".to_owned())]
            }
            Self::InvalidToken(_) => vec![(
                "www-authenticate",
                "Bearer error=\"invalid_token\"".to_owned(),
            )],
            _ => Vec::new(),
        }
    }
}
