//! OAuth 2.0 token-endpoint conventions (RFC 6749) for `/auth/login` and `/auth/refresh`: the
//! `grant_type` check, the refresh-token form of §6, and the §5.2 `error` / `error_description`
//! members added to the problem details of their errors, so that stock OAuth2 clients (authlib,
//! requests-oauthlib, mobile SDKs) work unchanged.

use serde_json::Value;

use super::{Body, Fields};
use crate::http::error::{AppError, OAuthError, Problem};

/// The `grant_type` that `/auth/login` accepts (RFC 6749 §4.3, resource owner password).
pub const PASSWORD_GRANT: &str = "password";
/// The `grant_type` that `/auth/refresh` accepts (RFC 6749 §6).
pub const REFRESH_TOKEN_GRANT: &str = "refresh_token";

/// Checks the optional `grant_type` member of a token request. Absent (or JSON `null`) is fine:
/// the endpoint implies its grant. Other members (`scope`, `client_id`) are ignored.
///
/// # Errors
/// `400 unsupported_grant_type` for any other string, `422 validation_failed` when it is not a
/// string.
pub fn check_grant_type(body: &Fields, expected: &'static str) -> Result<(), AppError> {
    match body.get("grant_type") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(g)) if g == expected => Ok(()),
        Some(Value::String(_)) => Err(AppError::UnsupportedGrantType(expected)),
        Some(_) => Err(AppError::Validation(vec![
            crate::http::error::FieldError::new(
                "grant_type",
                "invalid_type",
                "grant_type must be a string.",
            ),
        ])),
    }
}

/// The body of `/auth/refresh`: the JSON `{"refresh_token": "..."}` or the RFC 6749 §6 form
/// `grant_type=refresh_token&refresh_token=...`.
pub struct RefreshGrant {
    pub refresh_token: String,
}

impl Body for RefreshGrant {
    const FORM: bool = true;

    fn from_fields(f: &mut Fields) -> Result<Option<Self>, AppError> {
        check_grant_type(f, REFRESH_TOKEN_GRANT)?;
        Ok(f.text("refresh_token")
            .map(|refresh_token| Self { refresh_token }))
    }
}

/// The RFC 6749 §5.2 `error` of a token endpoint's failure, or `None` for a server-side one
/// (`5xx`: §5.2 defines no code for them, and clients treat them as transport errors).
///
/// The mapping, one decision per error, with no catch-all so that a new variant must choose:
/// - `invalid_request`: the request could not be read or misses a field (`400`, `413`, `422`);
/// - `invalid_grant`: the password credentials or the refresh token were refused (`401`), and a
///   throttled login (`429`, with `Retry-After`): the credentials cannot be used right now, and
///   §5.2 has no rate-limit code;
/// - `unsupported_grant_type`: a `grant_type` other than the endpoint's.
pub fn error_code(err: &AppError) -> Option<&'static str> {
    match err {
        AppError::MalformedRequest(_) | AppError::Validation(_) | AppError::PayloadTooLarge => {
            Some("invalid_request")
        }
        AppError::InvalidCredentials
        | AppError::InvalidGrant
        | AppError::TooManyAttempts { .. } => Some("invalid_grant"),
        // A client over its per-IP limit: as for a throttled login, the grant cannot be used
        // from here right now, and §5.2 has no rate-limit code.
        AppError::TooManyRequests { .. } => Some("invalid_grant"),
        AppError::UnsupportedGrantType(_) => Some("unsupported_grant_type"),
        // A login whose password was right but whose address must be verified first: the
        // grant cannot be used until it is (§5.2 has no closer code).
        AppError::EmailNotVerified | AppError::AccountDisabled => Some("invalid_grant"),
        // Never raised by the token endpoints' handlers; the routing errors come before them.
        AppError::InvalidToken(_)
        | AppError::EmailTaken
        | AppError::InvalidEmailToken
        | AppError::EmailAlreadyVerified
        | AppError::NotFound
        | AppError::MethodNotAllowed(_) => Some("invalid_request"),
        AppError::ServiceUnavailable { .. } | AppError::Internal(_) => None,
    }
}

/// The problem of a token endpoint's error: the common one, plus `error` and
/// `error_description` for the client errors. Server errors carry none.
pub fn token_problem(err: &AppError) -> Problem {
    let mut problem = err.problem();
    problem.oauth = error_code(err).map(|error| OAuthError {
        error,
        description: description(err),
    });
    problem
}

/// The problem's detail, plus each broken rule of a `422`, restricted to the characters
/// RFC 6749 §5.2 allows in `error_description` (printable ASCII but `"` and `\`).
fn description(err: &AppError) -> String {
    let mut text = err.problem().detail;
    if let AppError::Validation(errors) = err {
        for e in errors {
            text.push(' ');
            text.push_str(&e.message);
        }
    }
    text.chars()
        .filter(|c| matches!(c, ' '..='~') && *c != '"' && *c != '\\')
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::ApiRequest;
    use serde_json::json;

    fn refresh(body: Value) -> Result<RefreshGrant, AppError> {
        ApiRequest::new("POST", "/auth/refresh").json(&body).parse()
    }

    #[test]
    fn grant_type_may_be_absent_or_the_expected_one_only() {
        assert!(refresh(json!({"refresh_token": "t"})).is_ok());
        assert!(refresh(json!({"refresh_token": "t", "grant_type": null})).is_ok());
        assert!(refresh(json!({"refresh_token": "t", "grant_type": "refresh_token"})).is_ok());
        for other in ["password", "client_credentials", "Refresh_token", ""] {
            assert!(matches!(
                refresh(json!({ "refresh_token": "t", "grant_type": other })),
                Err(AppError::UnsupportedGrantType(REFRESH_TOKEN_GRANT))
            ));
        }
        assert!(matches!(
            refresh(json!({"grant_type": 1})),
            Err(AppError::Validation(es)) if es.len() == 1 && es[0].field == "grant_type"
        ));
    }

    #[test]
    fn server_errors_carry_no_oauth_members() {
        for err in [
            AppError::ServiceUnavailable { retry_after: 3 },
            AppError::Internal("boom".into()),
        ] {
            assert_eq!(error_code(&err), None);
            assert_eq!(token_problem(&err).oauth, None);
        }
        let p = token_problem(&AppError::InvalidCredentials);
        assert_eq!(p.oauth.unwrap().error, "invalid_grant");
    }

    #[test]
    fn a_description_has_only_the_characters_rfc_6749_allows() {
        let err = AppError::Validation(vec![crate::http::error::FieldError::new(
            "password",
            "required",
            "pass\"word\\ is ré\nquired.",
        )]);
        let d = description(&err);
        assert!(d.starts_with("The request has invalid fields. "));
        assert!(d.ends_with("password is rquired."), "{d}");
    }
}
