//! The operations of the OpenAPI document (one `#[utoipa::path]` per route of the route table),
//! the security schemes and common headers, and the document itself.

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::security::{
    Flow, HttpAuthScheme, HttpBuilder, OAuth2, Password as PasswordFlow, Scopes, SecurityScheme,
};
use utoipa::openapi::{ObjectBuilder, Ref, RefOr, Response, ResponseBuilder, Type};
use utoipa::{Modify, OpenApi, ToResponse};

use super::*;

mod admin;
mod mfa;
mod passkeys;

const PROBLEM: &str = "application/problem+json";

/// A response of `description` with a [`Problem`] body, as `body = Problem, content_type =
/// PROBLEM` writes it. It only refers to the schema: the operations' `body = Problem` rows put
/// it in the document's components.
fn problem(description: &str) -> RefOr<Response> {
    let schema = Ref::from_schema_name(<Problem as utoipa::ToSchema>::name());
    ResponseBuilder::new()
        .description(description)
        .content(PROBLEM, ContentBuilder::new().schema(Some(schema)).build())
        .build()
        .into()
}

/// Problem responses that many operations give word for word, each written in a `responses`
/// list as `(status = …, response = inline(Name))`.
macro_rules! shared_problems {
    ($($(#[$doc:meta])* $name:ident = $description:expr;)*) => {$(
        $(#[$doc])*
        struct $name;

        impl<'r> ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                (stringify!($name), problem($description))
            }
        }
    )*};
}

shared_problems! {
    MalformedRequest = "`malformed_request`";
    InvalidToken = "`invalid_token`";
    NotFound = "`not_found`";
    PayloadTooLarge = "`payload_too_large`";
    ValidationFailed = "`validation_failed`";
    Unavailable = "`service_unavailable`";
    /// The `503` of an operation that hashes a password.
    UnavailableOrHashQueueFull = "`service_unavailable`: the breaker is open or the database \
         failing; or, with `Retry-After: 1` and before the body is read, `MAX_HASH_QUEUE` \
         requests that hash a password are already in this isolate.";
}

#[utoipa::path(post, path = "/auth/register", tag = "auth",
    request_body(content = RegisterRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Account created.", body = UserView,
         headers(("Location" = String, description = "`/auth/me`"))),
        (status = 400, response = inline(MalformedRequest)),
        (status = 409, description = "`email_taken`", body = Problem, content_type = PROBLEM),
        (status = 413, response = inline(PayloadTooLarge)),
        (status = 422, response = inline(ValidationFailed)),
        (status = 429, description = "`too_many_requests`: too many from this client IP \
         (`RATE_LIMIT_BY_IP`)", body = Problem, content_type = PROBLEM),
        (status = 503, response = inline(UnavailableOrHashQueueFull)),
    ))]
#[allow(dead_code)]
fn register() {}

#[utoipa::path(post, path = "/auth/login", tag = "auth",
    request_body(content(
        (LoginRequest = "application/json"),
        (LoginForm = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "Logged in: a new session. Beyond `MAX_SESSIONS_PER_USER` \
            active sessions (100), the user's oldest end (`session_limit`).", body = TokenPair),
        (status = 400, description = "`malformed_request` (`error`: `invalid_request`) or \
         `unsupported_grant_type` (`error`: `unsupported_grant_type`)",
         body = TokenProblem, content_type = PROBLEM),
        (status = 401, description = "`invalid_credentials` (unknown email and wrong password alike; \
         `error`: `invalid_grant`)", body = TokenProblem, content_type = PROBLEM),
        (status = 413, description = "`payload_too_large` (`error`: `invalid_request`)",
         body = TokenProblem, content_type = PROBLEM),
        (status = 422, description = "`validation_failed` (`error`: `invalid_request`)",
         body = TokenProblem, content_type = PROBLEM),
        (status = 403, description = "`email_not_verified` (`error`: `invalid_grant`): the password is \
         right but the address is not verified and `REQUIRE_EMAIL_VERIFICATION` is on; or \
         `mfa_required` (`error`: `mfa_required`): the password is right and the account has \
         two-step verification, so no session is opened; the body's `mfa_token` goes to \
         `POST /auth/mfa/verify`",
         body = MfaRequiredProblem, content_type = PROBLEM),
        (status = 429, description = "`too_many_attempts`: this account is throttled, or \
         `too_many_requests`: too many from this client IP (`RATE_LIMIT_BY_IP`) (`error`: \
         `invalid_grant` for both)", body = TokenProblem, content_type = PROBLEM),
        (status = 503, response = inline(UnavailableOrHashQueueFull)),
    ))]
#[allow(dead_code)]
fn login() {}

#[utoipa::path(post, path = "/auth/refresh", tag = "sessions",
    request_body(content(
        (RefreshRequest = "application/json"),
        (RefreshForm = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "A new pair; the presented token is spent.", body = TokenPair),
        (status = 400, description = "`malformed_request` (`error`: `invalid_request`) or \
         `unsupported_grant_type` (`error`: `unsupported_grant_type`)",
         body = TokenProblem, content_type = PROBLEM),
        (status = 401, description = "`invalid_grant` (`error`: `invalid_grant`)",
         body = TokenProblem, content_type = PROBLEM),
        (status = 413, description = "`payload_too_large` (`error`: `invalid_request`)",
         body = TokenProblem, content_type = PROBLEM),
        (status = 422, description = "`validation_failed` (`error`: `invalid_request`)",
         body = TokenProblem, content_type = PROBLEM),
        (status = 503, response = inline(Unavailable)),
    ))]
#[allow(dead_code)]
fn refresh() {}

#[utoipa::path(post, path = "/auth/logout", tag = "sessions",
    request_body(content = LogoutRequest, content_type = "application/json"),
    responses(
        (status = 204, description = "The session is revoked (also for unknown tokens)."),
        (status = 400, response = inline(MalformedRequest)),
        (status = 413, response = inline(PayloadTooLarge)),
        (status = 422, response = inline(ValidationFailed)),
        (status = 503, response = inline(Unavailable)),
    ))]
#[allow(dead_code)]
fn logout() {}

#[utoipa::path(get, path = "/auth/me", tag = "auth",
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "The token's user.", body = UserView),
        (status = 401, description = "`invalid_token`", body = Problem, content_type = PROBLEM,
         headers(("WWW-Authenticate" = String, description = "`Bearer`, with `error=\"invalid_token\"` when a token was sent"))),
        (status = 503, response = inline(Unavailable)),
    ))]
#[allow(dead_code)]
fn me() {}

#[utoipa::path(delete, path = "/auth/me", tag = "account",
    security(("bearer" = []), ("oauth2" = [])),
    request_body(content = DeleteAccountRequest, content_type = "application/json"),
    responses(
        (status = 204, description = "The account, its sessions and its pending email tokens are gone; \
                                      its tokens stop working and the email can be registered again."),
        (status = 400, response = inline(MalformedRequest)),
        (status = 401, description = "`invalid_token`, or `invalid_credentials` for a wrong password \
                                      (counted as a failed login), or when the password was changed or \
                                      reset, or the account deleted, while this request ran (nothing \
                                      deleted; not counted); `invalid_mfa_code` for a wrong `code` \
                                      while two-step verification is on (counted as a failed login)",
                                      body = Problem, content_type = PROBLEM),
        (status = 413, response = inline(PayloadTooLarge)),
        (status = 422, description = "`validation_failed` (also `code` missing while two-step \
                                      verification is on)", body = Problem, content_type = PROBLEM),
        (status = 429, description = "`too_many_attempts`", body = Problem, content_type = PROBLEM),
        (status = 503, response = inline(UnavailableOrHashQueueFull)),
    ))]
#[allow(dead_code)]
fn delete_account() {}

#[utoipa::path(post, path = "/auth/password/change", tag = "account",
    security(("bearer" = []), ("oauth2" = [])),
    request_body(content = ChangePasswordRequest, content_type = "application/json"),
    responses(
        (status = 204, description = "Changed; every other session of the user is revoked, this one \
         stays, and reset links mailed before the change stop working."),
        (status = 400, response = inline(MalformedRequest)),
        (status = 401, description = "`invalid_token`, or `invalid_credentials` for a wrong current \
                                      password (counted as a failed login), or when the password was \
                                      changed or reset while this request ran (nothing changed; not \
                                      counted)", body = Problem, content_type = PROBLEM),
        (status = 413, response = inline(PayloadTooLarge)),
        (status = 422, description = "`validation_failed` (field `new_password` or `current_password`)",
         body = Problem, content_type = PROBLEM),
        (status = 429, description = "`too_many_attempts`", body = Problem, content_type = PROBLEM),
        (status = 503, response = inline(UnavailableOrHashQueueFull)),
    ))]
#[allow(dead_code)]
fn change_password() {}

#[utoipa::path(post, path = "/auth/password/forgot", tag = "account",
    request_body(content = ForgotPasswordRequest, content_type = "application/json"),
    responses(
        (status = 202, description = "The same answer, body and (within noise) time for every \
         well-formed email, known or not. For a known account a reset email with a link to \
         `<APP_URL or PUBLIC_URL>/reset-password?token=…` (valid `PASSWORD_RESET_TTL` s, default \
         1800) is \
         queued, unless the account already had `EMAIL_MAX_PER_HOUR` of them this hour.",
         body = Accepted),
        (status = 400, response = inline(MalformedRequest)),
        (status = 413, response = inline(PayloadTooLarge)),
        (status = 422, description = "`validation_failed` (field `email`)", body = Problem, content_type = PROBLEM),
        (status = 429, description = "`too_many_requests`: too many from this client IP \
         (`RATE_LIMIT_BY_IP`)", body = Problem, content_type = PROBLEM),
        (status = 503, response = inline(Unavailable)),
    ))]
#[allow(dead_code)]
fn forgot_password() {}

#[utoipa::path(post, path = "/auth/password/reset", tag = "account",
    request_body(content = ResetPasswordRequest, content_type = "application/json"),
    responses(
        (status = 204, description = "The password is replaced, every session is revoked, the \
         failed-login count is cleared, the address counts as verified and the token is spent."),
        (status = 400, description = "`malformed_request`, or `invalid_email_token`: unknown, \
         malformed, expired or already used", body = Problem, content_type = PROBLEM),
        (status = 413, response = inline(PayloadTooLarge)),
        (status = 422, description = "`validation_failed` (fields `token`, `new_password`)",
         body = Problem, content_type = PROBLEM),
        (status = 429, description = "`too_many_requests`: too many from this client IP \
         (`RATE_LIMIT_BY_IP`)", body = Problem, content_type = PROBLEM),
        (status = 503, response = inline(UnavailableOrHashQueueFull)),
    ))]
#[allow(dead_code)]
fn reset_password() {}

#[utoipa::path(post, path = "/auth/email/verification", tag = "account",
    security(("bearer" = []), ("oauth2" = [])),
    request_body(content = Option<EmptyRequest>, content_type = "application/json",
                 description = "Optional: nothing, `null`, or a JSON object (its members are ignored)."),
    responses(
        (status = 202, description = "A new verification email (older links stop working) is \
         queued, unless the account already asked for (or was sent) `EMAIL_MAX_PER_HOUR` of them \
         this hour.",
         body = Accepted),
        (status = 400, response = inline(MalformedRequest)),
        (status = 401, response = inline(InvalidToken)),
        (status = 409, description = "`email_already_verified`", body = Problem, content_type = PROBLEM),
        (status = 413, response = inline(PayloadTooLarge)),
        (status = 503, response = inline(Unavailable)),
    ))]
#[allow(dead_code)]
fn request_verification() {}

#[utoipa::path(post, path = "/auth/email/verify", tag = "account",
    request_body(content = VerifyEmailRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The address is verified; the user view.", body = UserView),
        (status = 400, description = "`malformed_request`, or `invalid_email_token`: unknown, \
         malformed, expired or already used", body = Problem, content_type = PROBLEM),
        (status = 413, response = inline(PayloadTooLarge)),
        (status = 422, description = "`validation_failed` (field `token`)", body = Problem, content_type = PROBLEM),
        (status = 503, response = inline(Unavailable)),
    ))]
#[allow(dead_code)]
fn verify_email() {}

#[utoipa::path(get, path = "/auth/sessions", tag = "account",
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "The user's active sessions, newest first.", body = SessionList),
        (status = 401, response = inline(InvalidToken)),
        (status = 503, response = inline(Unavailable)),
    ))]
#[allow(dead_code)]
fn list_sessions() {}

#[utoipa::path(delete, path = "/auth/sessions", tag = "account",
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 204, description = "Every session of the user but this one is revoked."),
        (status = 401, response = inline(InvalidToken)),
        (status = 503, response = inline(Unavailable)),
    ))]
#[allow(dead_code)]
fn revoke_other_sessions() {}

#[utoipa::path(delete, path = "/auth/sessions/{id}", tag = "account",
    security(("bearer" = []), ("oauth2" = [])),
    params(("id" = String, Path, description = "A session id from `GET /auth/sessions`.")),
    responses(
        (status = 204, description = "That session is revoked: its refresh and access tokens stop at once."),
        (status = 401, response = inline(InvalidToken)),
        (status = 404, description = "`not_found`: no active session of this user has that id",
         body = Problem, content_type = PROBLEM),
        (status = 503, response = inline(Unavailable)),
    ))]
#[allow(dead_code)]
fn revoke_session() {}

#[utoipa::path(post, path = "/auth/verify", tag = "sessions",
    request_body(content = VerifyRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Introspection result; never a 5xx for a bad token.", body = VerifyResponse),
        (status = 400, response = inline(MalformedRequest)),
        (status = 413, response = inline(PayloadTooLarge)),
        (status = 422, response = inline(ValidationFailed)),
    ))]
#[allow(dead_code)]
fn verify() {}

#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "keys",
    responses((status = 200, description = "Public signing keys.", body = Jwks)))]
#[allow(dead_code)]
fn jwks() {}

#[utoipa::path(get, path = "/health", tag = "operations",
    responses(
        (status = 200, description = "Healthy.", body = Health),
        (status = 503, description = "Degraded: database failing or breaker open.", body = Health),
    ))]
#[allow(dead_code)]
fn health() {}

#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "This document.", content_type = "application/json")))]
#[allow(dead_code)]
fn openapi() {}

#[utoipa::path(get, path = "/docs", tag = "operations",
    responses((status = 200, description = "Swagger UI for this document.", content_type = "text/html")))]
#[allow(dead_code)]
fn docs() {}

/// Security schemes, and the headers every response carries.
struct Extras;

impl Modify for Extras {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        // The operator's key, not a user's token: `ADMIN_API_KEY`, on `/admin/` only.
        components.add_security_scheme(
            "admin_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "`Authorization: Bearer <ADMIN_API_KEY>` (the secret; at least 32 characters).",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "oauth2",
            SecurityScheme::OAuth2(OAuth2::new([Flow::Password(PasswordFlow::new(
                "/auth/login",
                Scopes::new(),
            ))])),
        );
        let string = || ObjectBuilder::new().schema_type(Type::String).build();
        for item in doc.paths.paths.values_mut() {
            let ops = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in ops.into_iter().flatten() {
                for (status, response) in op.responses.responses.iter_mut() {
                    let RefOr::T(response) = response else {
                        continue;
                    };
                    response.headers.insert(
                        "X-Request-Id".into(),
                        HeaderBuilder::new()
                            .schema(string())
                            .description(Some("The request's id (echoed when well-formed)."))
                            .build(),
                    );
                    if status == "429" || status == "503" {
                        response.headers.insert(
                            "Retry-After".into(),
                            HeaderBuilder::new()
                                .schema(ObjectBuilder::new().schema_type(Type::Integer).build())
                                .description(Some("Seconds to wait."))
                                .build(),
                        );
                    }
                }
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "edge-auth",
        description = "Email + password authentication on Cloudflare Workers: D1, PBKDF2-HMAC-SHA256, \
                       EdDSA JWTs, refresh-token rotation with reuse detection. Every error is RFC 9457 \
                       problem details with a stable `code`.",
        license(name = "Proprietary")
    ),
    paths(register, login, refresh, logout, me, delete_account, change_password, forgot_password,
          reset_password, request_verification, verify_email, list_sessions,
          revoke_other_sessions, revoke_session, verify, mfa::mfa_setup, mfa::mfa_confirm,
          mfa::mfa_verify, mfa::mfa_recovery_codes, mfa::mfa_disable,
          passkeys::passkey_register_options, passkeys::passkey_register, passkeys::list_passkeys,
          passkeys::delete_passkey, passkeys::passkey_login_options, passkeys::passkey_login,
          jwks, health, openapi, docs, admin::admin_console, admin::admin_list_users,
          admin::admin_get_user, admin::admin_update_user, admin::admin_delete_user,
          admin::admin_revoke_sessions, admin::admin_remove_mfa, admin::admin_send_reset,
          admin::admin_list_events),
    modifiers(&Extras),
    tags(
        (name = "auth", description = "Accounts and access tokens"),
        (name = "account", description = "The account: password change and reset, address verification, devices, deletion"),
        (name = "sessions", description = "Refresh, logout and verification for other services"),
        (name = "passkeys", description = "Passkeys (WebAuthn): registration, list, deletion and passwordless login"),
        (name = "mfa", description = "Two-step verification: TOTP and recovery codes"),
        (name = "keys", description = "Public keys"),
        (name = "operations", description = "Health and documentation"),
        (name = "admin", description = "The operator's API, with `ADMIN_API_KEY` (every `/admin/` \
         path is `404` without it): accounts, sessions, second factors"),
    )
)]
pub struct ApiDoc;

/// The document as served by `GET /openapi.json`.
pub fn document() -> serde_json::Value {
    serde_json::to_value(ApiDoc::openapi()).unwrap_or(serde_json::Value::Null)
}
