//! The operations of the OpenAPI document (one `#[utoipa::path]` per route of the route table),
//! the security schemes and common headers, and the document itself.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::security::{
    Flow, HttpAuthScheme, HttpBuilder, OAuth2, Password as PasswordFlow, Scopes, SecurityScheme,
};
use utoipa::openapi::{ObjectBuilder, RefOr, Type};
use utoipa::{Modify, OpenApi};

use super::*;

const PROBLEM: &str = "application/problem+json";

#[utoipa::path(post, path = "/auth/register", tag = "auth",
    request_body(content = RegisterRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Account created.", body = UserView,
         headers(("Location" = String, description = "`/auth/me`"))),
        (status = 400, description = "`malformed_request`", body = Problem, content_type = PROBLEM),
        (status = 409, description = "`email_taken`", body = Problem, content_type = PROBLEM),
        (status = 413, description = "`payload_too_large`", body = Problem, content_type = PROBLEM),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = PROBLEM),
        (status = 429, description = "`too_many_requests`: too many from this client IP \
         (`RATE_LIMIT_BY_IP`)", body = Problem, content_type = PROBLEM),
        (status = 503, description = "`service_unavailable`: the breaker is open or the database \
         failing; or, with `Retry-After: 1` and before the body is read, `MAX_HASH_QUEUE` \
         requests that hash a password are already in this isolate.",
         body = Problem, content_type = PROBLEM),
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
        (status = 503, description = "`service_unavailable`: the breaker is open or the database \
         failing; or, with `Retry-After: 1` and before the body is read, `MAX_HASH_QUEUE` \
         requests that hash a password are already in this isolate.",
         body = Problem, content_type = PROBLEM),
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
        (status = 503, description = "`service_unavailable`", body = Problem, content_type = PROBLEM),
    ))]
#[allow(dead_code)]
fn refresh() {}

#[utoipa::path(post, path = "/auth/logout", tag = "sessions",
    request_body(content = LogoutRequest, content_type = "application/json"),
    responses(
        (status = 204, description = "The session is revoked (also for unknown tokens)."),
        (status = 400, description = "`malformed_request`", body = Problem, content_type = PROBLEM),
        (status = 413, description = "`payload_too_large`", body = Problem, content_type = PROBLEM),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = PROBLEM),
        (status = 503, description = "`service_unavailable`", body = Problem, content_type = PROBLEM),
    ))]
#[allow(dead_code)]
fn logout() {}

#[utoipa::path(get, path = "/auth/me", tag = "auth",
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "The token's user.", body = UserView),
        (status = 401, description = "`invalid_token`", body = Problem, content_type = PROBLEM,
         headers(("WWW-Authenticate" = String, description = "`Bearer`, with `error=\"invalid_token\"` when a token was sent"))),
        (status = 503, description = "`service_unavailable`", body = Problem, content_type = PROBLEM),
    ))]
#[allow(dead_code)]
fn me() {}

#[utoipa::path(delete, path = "/auth/me", tag = "account",
    security(("bearer" = []), ("oauth2" = [])),
    request_body(content = DeleteAccountRequest, content_type = "application/json"),
    responses(
        (status = 204, description = "The account, its sessions and its pending email tokens are gone; \
                                      its tokens stop working and the email can be registered again."),
        (status = 400, description = "`malformed_request`", body = Problem, content_type = PROBLEM),
        (status = 401, description = "`invalid_token`, or `invalid_credentials` for a wrong password \
                                      (counted as a failed login), or when the password was changed or \
                                      reset, or the account deleted, while this request ran (nothing \
                                      deleted; not counted); `invalid_mfa_code` for a wrong `code` \
                                      while two-step verification is on (counted as a failed login)",
                                      body = Problem, content_type = PROBLEM),
        (status = 413, description = "`payload_too_large`", body = Problem, content_type = PROBLEM),
        (status = 422, description = "`validation_failed` (also `code` missing while two-step \
                                      verification is on)", body = Problem, content_type = PROBLEM),
        (status = 429, description = "`too_many_attempts`", body = Problem, content_type = PROBLEM),
        (status = 503, description = "`service_unavailable`: the breaker is open or the database \
         failing; or, with `Retry-After: 1` and before the body is read, `MAX_HASH_QUEUE` \
         requests that hash a password are already in this isolate.",
         body = Problem, content_type = PROBLEM),
    ))]
#[allow(dead_code)]
fn delete_account() {}

#[utoipa::path(post, path = "/auth/password/change", tag = "account",
    security(("bearer" = []), ("oauth2" = [])),
    request_body(content = ChangePasswordRequest, content_type = "application/json"),
    responses(
        (status = 204, description = "Changed; every other session of the user is revoked, this one \
         stays, and reset links mailed before the change stop working."),
        (status = 400, description = "`malformed_request`", body = Problem, content_type = PROBLEM),
        (status = 401, description = "`invalid_token`, or `invalid_credentials` for a wrong current \
                                      password (counted as a failed login), or when the password was \
                                      changed or reset while this request ran (nothing changed; not \
                                      counted)", body = Problem, content_type = PROBLEM),
        (status = 413, description = "`payload_too_large`", body = Problem, content_type = PROBLEM),
        (status = 422, description = "`validation_failed` (field `new_password` or `current_password`)",
         body = Problem, content_type = PROBLEM),
        (status = 429, description = "`too_many_attempts`", body = Problem, content_type = PROBLEM),
        (status = 503, description = "`service_unavailable`: the breaker is open or the database \
         failing; or, with `Retry-After: 1` and before the body is read, `MAX_HASH_QUEUE` \
         requests that hash a password are already in this isolate.",
         body = Problem, content_type = PROBLEM),
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
        (status = 400, description = "`malformed_request`", body = Problem, content_type = PROBLEM),
        (status = 413, description = "`payload_too_large`", body = Problem, content_type = PROBLEM),
        (status = 422, description = "`validation_failed` (field `email`)", body = Problem, content_type = PROBLEM),
        (status = 429, description = "`too_many_requests`: too many from this client IP \
         (`RATE_LIMIT_BY_IP`)", body = Problem, content_type = PROBLEM),
        (status = 503, description = "`service_unavailable`", body = Problem, content_type = PROBLEM),
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
        (status = 413, description = "`payload_too_large`", body = Problem, content_type = PROBLEM),
        (status = 422, description = "`validation_failed` (fields `token`, `new_password`)",
         body = Problem, content_type = PROBLEM),
        (status = 429, description = "`too_many_requests`: too many from this client IP \
         (`RATE_LIMIT_BY_IP`)", body = Problem, content_type = PROBLEM),
        (status = 503, description = "`service_unavailable`: the breaker is open or the database \
         failing; or, with `Retry-After: 1` and before the body is read, `MAX_HASH_QUEUE` \
         requests that hash a password are already in this isolate.",
         body = Problem, content_type = PROBLEM),
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
        (status = 400, description = "`malformed_request`", body = Problem, content_type = PROBLEM),
        (status = 401, description = "`invalid_token`", body = Problem, content_type = PROBLEM),
        (status = 409, description = "`email_already_verified`", body = Problem, content_type = PROBLEM),
        (status = 413, description = "`payload_too_large`", body = Problem, content_type = PROBLEM),
        (status = 503, description = "`service_unavailable`", body = Problem, content_type = PROBLEM),
    ))]
#[allow(dead_code)]
fn request_verification() {}

#[utoipa::path(post, path = "/auth/email/verify", tag = "account",
    request_body(content = VerifyEmailRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The address is verified; the user view.", body = UserView),
        (status = 400, description = "`malformed_request`, or `invalid_email_token`: unknown, \
         malformed, expired or already used", body = Problem, content_type = PROBLEM),
        (status = 413, description = "`payload_too_large`", body = Problem, content_type = PROBLEM),
        (status = 422, description = "`validation_failed` (field `token`)", body = Problem, content_type = PROBLEM),
        (status = 503, description = "`service_unavailable`", body = Problem, content_type = PROBLEM),
    ))]
#[allow(dead_code)]
fn verify_email() {}

#[utoipa::path(get, path = "/auth/sessions", tag = "account",
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "The user's active sessions, newest first.", body = SessionList),
        (status = 401, description = "`invalid_token`", body = Problem, content_type = PROBLEM),
        (status = 503, description = "`service_unavailable`", body = Problem, content_type = PROBLEM),
    ))]
#[allow(dead_code)]
fn list_sessions() {}

#[utoipa::path(delete, path = "/auth/sessions", tag = "account",
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 204, description = "Every session of the user but this one is revoked."),
        (status = 401, description = "`invalid_token`", body = Problem, content_type = PROBLEM),
        (status = 503, description = "`service_unavailable`", body = Problem, content_type = PROBLEM),
    ))]
#[allow(dead_code)]
fn revoke_other_sessions() {}

#[utoipa::path(delete, path = "/auth/sessions/{id}", tag = "account",
    security(("bearer" = []), ("oauth2" = [])),
    params(("id" = String, Path, description = "A session id from `GET /auth/sessions`.")),
    responses(
        (status = 204, description = "That session is revoked: its refresh and access tokens stop at once."),
        (status = 401, description = "`invalid_token`", body = Problem, content_type = PROBLEM),
        (status = 404, description = "`not_found`: no active session of this user has that id",
         body = Problem, content_type = PROBLEM),
        (status = 503, description = "`service_unavailable`", body = Problem, content_type = PROBLEM),
    ))]
#[allow(dead_code)]
fn revoke_session() {}

#[utoipa::path(post, path = "/auth/verify", tag = "sessions",
    request_body(content = VerifyRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Introspection result; never a 5xx for a bad token.", body = VerifyResponse),
        (status = 400, description = "`malformed_request`", body = Problem, content_type = PROBLEM),
        (status = 413, description = "`payload_too_large`", body = Problem, content_type = PROBLEM),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = PROBLEM),
    ))]
#[allow(dead_code)]
fn verify() {}

const MFA_503: &str = "`service_unavailable`";

#[utoipa::path(post, path = "/auth/mfa/totp/setup", tag = "mfa",
    security(("bearer" = []), ("oauth2" = [])),
    request_body(content = MfaSetupRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "A pending secret (replacing an unconfirmed one); nothing \
         is on until `/auth/mfa/totp/confirm`.", body = MfaSetupResponse),
        (status = 400, description = "`malformed_request`", body = Problem, content_type = PROBLEM),
        (status = 401, description = "`invalid_token`, or `invalid_credentials` (a wrong password, \
         counted as a failed login)", body = Problem, content_type = PROBLEM),
        (status = 409, description = "`mfa_already_enabled`", body = Problem, content_type = PROBLEM),
        (status = 413, description = "`payload_too_large`", body = Problem, content_type = PROBLEM),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = PROBLEM),
        (status = 429, description = "`too_many_attempts` (this account is throttled) or \
         `too_many_requests` (this client IP)", body = Problem, content_type = PROBLEM),
        (status = 503, description = MFA_503, body = Problem, content_type = PROBLEM),
    ))]
#[allow(dead_code)]
fn mfa_setup() {}

#[utoipa::path(post, path = "/auth/mfa/totp/confirm", tag = "mfa",
    security(("bearer" = []), ("oauth2" = [])),
    request_body(content = MfaCodeRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Two-step verification is on; every other session of the \
         user is revoked (the caller's stays). The recovery codes are shown only here.",
         body = RecoveryCodes),
        (status = 400, description = "`malformed_request`", body = Problem, content_type = PROBLEM),
        (status = 401, description = "`invalid_token`, or `invalid_mfa_code` (wrong, malformed or \
         an already used step)", body = Problem, content_type = PROBLEM),
        (status = 409, description = "`mfa_already_enabled`, or `mfa_not_enabled` (no pending setup)",
         body = Problem, content_type = PROBLEM),
        (status = 413, description = "`payload_too_large`", body = Problem, content_type = PROBLEM),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = PROBLEM),
        (status = 429, description = "`too_many_requests` (this client IP)", body = Problem, content_type = PROBLEM),
        (status = 503, description = MFA_503, body = Problem, content_type = PROBLEM),
    ))]
#[allow(dead_code)]
fn mfa_confirm() {}

#[utoipa::path(post, path = "/auth/mfa/verify", tag = "mfa",
    request_body(content = MfaVerifyRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The login's session: `amr` is `[\"pwd\", \"otp\", \"mfa\"]` \
         after a TOTP code, `[\"pwd\", \"mfa\"]` after a recovery code.", body = TokenPair),
        (status = 400, description = "`malformed_request`", body = Problem, content_type = PROBLEM),
        (status = 401, description = "Checked in this order: `invalid_mfa_token` (unknown, expired, \
         used, dead after 5 wrong codes or a password change or reset); then `invalid_mfa_code` \
         (wrong, malformed or already used; counted as a failed login of the account)",
         body = Problem, content_type = PROBLEM),
        (status = 413, description = "`payload_too_large`", body = Problem, content_type = PROBLEM),
        (status = 422, description = "`validation_failed`: both `code` and `recovery_code`, \
         neither (on `code`), or an empty one", body = Problem, content_type = PROBLEM),
        (status = 429, description = "`too_many_attempts`: the account is throttled (even with a \
         right code), or `too_many_requests` (this client IP)", body = Problem, content_type = PROBLEM),
        (status = 503, description = MFA_503, body = Problem, content_type = PROBLEM),
    ))]
#[allow(dead_code)]
fn mfa_verify() {}

#[utoipa::path(post, path = "/auth/mfa/recovery-codes", tag = "mfa",
    security(("bearer" = []), ("oauth2" = [])),
    request_body(content = MfaCodeRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Ten new recovery codes; every older one stops working.",
         body = RecoveryCodes),
        (status = 400, description = "`malformed_request`", body = Problem, content_type = PROBLEM),
        (status = 401, description = "`invalid_token`, or `invalid_mfa_code` (a current TOTP code \
         is needed; counted as a failed login)", body = Problem, content_type = PROBLEM),
        (status = 409, description = "`mfa_not_enabled`", body = Problem, content_type = PROBLEM),
        (status = 413, description = "`payload_too_large`", body = Problem, content_type = PROBLEM),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = PROBLEM),
        (status = 429, description = "`too_many_attempts` or `too_many_requests`",
         body = Problem, content_type = PROBLEM),
        (status = 503, description = MFA_503, body = Problem, content_type = PROBLEM),
    ))]
#[allow(dead_code)]
fn mfa_recovery_codes() {}

#[utoipa::path(delete, path = "/auth/mfa/totp", tag = "mfa",
    security(("bearer" = []), ("oauth2" = [])),
    request_body(content = MfaDisableRequest, content_type = "application/json"),
    responses(
        (status = 204, description = "Two-step verification is off and the recovery codes are gone."),
        (status = 400, description = "`malformed_request`", body = Problem, content_type = PROBLEM),
        (status = 401, description = "`invalid_token`; `invalid_credentials` (the password, checked \
         first: a code sent with a wrong one is not spent); `invalid_mfa_code` (counted as a failed \
         login)", body = Problem, content_type = PROBLEM),
        (status = 409, description = "`mfa_not_enabled`", body = Problem, content_type = PROBLEM),
        (status = 413, description = "`payload_too_large`", body = Problem, content_type = PROBLEM),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = PROBLEM),
        (status = 429, description = "`too_many_attempts` or `too_many_requests`",
         body = Problem, content_type = PROBLEM),
        (status = 503, description = MFA_503, body = Problem, content_type = PROBLEM),
    ))]
#[allow(dead_code)]
fn mfa_disable() {}

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

#[utoipa::path(post, path = "/auth/passkeys/register/options", tag = "passkeys",
    security(("bearer" = []), ("oauth2" = [])),
    request_body(content = Option<EmptyRequest>, content_type = "application/json"),
    responses(
        (status = 200, description = "Registration options: a 32-byte challenge (300 s, single \
         use, bound to the user), `rp`, `user` (a random handle, the same on every call), \
         EdDSA, ES256, RS256, `attestation: none`, resident key and user verification required, \
         the user's passkeys in `excludeCredentials`.", body = PasskeyOptions),
        (status = 400, description = "`malformed_request`", body = Problem, content_type = PROBLEM),
        (status = 401, description = "`invalid_token`", body = Problem, content_type = PROBLEM),
        (status = 413, description = "`payload_too_large`", body = Problem, content_type = PROBLEM),
        (status = 503, description = "`service_unavailable`", body = Problem, content_type = PROBLEM),
    ))]
#[allow(dead_code)]
fn passkey_register_options() {}

#[utoipa::path(post, path = "/auth/passkeys/register", tag = "passkeys",
    security(("bearer" = []), ("oauth2" = [])),
    request_body(content = PasskeyRegisterRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "The passkey is registered; a mail says so.", body = PasskeyView),
        (status = 400, description = "`malformed_request`, or `invalid_passkey`: a check of \
         WebAuthn §7.1 failed (the challenge is spent all the same)", body = Problem,
         content_type = PROBLEM),
        (status = 401, description = "`invalid_token`", body = Problem, content_type = PROBLEM),
        (status = 409, description = "`passkey_exists`: the credential id is registered already",
         body = Problem, content_type = PROBLEM),
        (status = 413, description = "`payload_too_large`", body = Problem, content_type = PROBLEM),
        (status = 422, description = "`validation_failed` (fields `credential`, `name`)",
         body = Problem, content_type = PROBLEM),
        (status = 503, description = "`service_unavailable`", body = Problem, content_type = PROBLEM),
    ))]
#[allow(dead_code)]
fn passkey_register() {}

#[utoipa::path(get, path = "/auth/passkeys", tag = "passkeys",
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "The user's passkeys, newest first.", body = PasskeyList),
        (status = 401, description = "`invalid_token`", body = Problem, content_type = PROBLEM),
        (status = 503, description = "`service_unavailable`", body = Problem, content_type = PROBLEM),
    ))]
#[allow(dead_code)]
fn list_passkeys() {}

#[utoipa::path(delete, path = "/auth/passkeys/{id}", tag = "passkeys",
    security(("bearer" = []), ("oauth2" = [])),
    params(("id" = String, Path, description = "A passkey id from `GET /auth/passkeys`.")),
    responses(
        (status = 204, description = "The passkey is deleted: it logs in no more."),
        (status = 401, description = "`invalid_token`", body = Problem, content_type = PROBLEM),
        (status = 404, description = "`not_found`: the user has no passkey with that id",
         body = Problem, content_type = PROBLEM),
        (status = 503, description = "`service_unavailable`", body = Problem, content_type = PROBLEM),
    ))]
#[allow(dead_code)]
fn delete_passkey() {}

#[utoipa::path(post, path = "/auth/passkeys/login/options", tag = "passkeys",
    request_body(content = Option<EmptyRequest>, content_type = "application/json"),
    responses(
        (status = 200, description = "Login options: a 32-byte single-use challenge (300 s), \
         `rpId`, user verification required, no `allowCredentials` (discoverable credentials).",
         body = PasskeyOptions),
        (status = 400, description = "`malformed_request`", body = Problem, content_type = PROBLEM),
        (status = 413, description = "`payload_too_large`", body = Problem, content_type = PROBLEM),
        (status = 429, description = "`too_many_requests`: login's per-IP limit \
         (`RATE_LIMIT_BY_IP`)", body = Problem, content_type = PROBLEM),
        (status = 503, description = "`service_unavailable`", body = Problem, content_type = PROBLEM),
    ))]
#[allow(dead_code)]
fn passkey_login_options() {}

#[utoipa::path(post, path = "/auth/passkeys/login", tag = "passkeys",
    request_body(content = PasskeyLoginRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Logged in without a password: a new session, `amr` \
         `[\"hwk\", \"user\", \"mfa\"]`, no TOTP step.", body = TokenPair),
        (status = 400, description = "`malformed_request`", body = Problem, content_type = PROBLEM),
        (status = 401, description = "`invalid_passkey`: a check of WebAuthn §7.2 failed (unknown \
         credential, challenge, origin, flags, signature, counter); nothing but the challenge \
         changes", body = Problem, content_type = PROBLEM),
        (status = 403, description = "`email_not_verified`: every check held but the address is \
         not verified and `REQUIRE_EMAIL_VERIFICATION` is on", body = Problem, content_type = PROBLEM),
        (status = 413, description = "`payload_too_large`", body = Problem, content_type = PROBLEM),
        (status = 422, description = "`validation_failed` (field `credential`)", body = Problem,
         content_type = PROBLEM),
        (status = 429, description = "`too_many_requests`: login's per-IP limit \
         (`RATE_LIMIT_BY_IP`)", body = Problem, content_type = PROBLEM),
        (status = 503, description = "`service_unavailable`", body = Problem, content_type = PROBLEM),
    ))]
#[allow(dead_code)]
fn passkey_login() {}

#[utoipa::path(get, path = "/admin", tag = "admin",
    responses(
        (status = 200, description = "The admin console (an HTML page; the operator types the key \
         into it, and it calls the admin API below). `404 not_found` while `ADMIN_API_KEY` is unset.",
         content_type = "text/html"),
        (status = 404, description = "`not_found`: the admin API is off (no usable `ADMIN_API_KEY`)",
         body = Problem, content_type = PROBLEM),
    ))]
#[allow(dead_code)]
fn admin_console() {}

#[utoipa::path(get, path = "/admin/users", tag = "admin",
    security(("admin_key" = [])),
    params(
        ("limit" = Option<u32>, Query, description = "1–200, default 50.", minimum = 1, maximum = 200),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page, \
         with the same `email`."),
        ("email" = Option<String>, Query, description = "A literal prefix (no wildcards) of the \
         normalized email; trimmed and lower-cased; empty means every user."),
    ),
    responses(
        (status = 200, description = "Users oldest first (`created_at`, then `id`). Paging never \
         repeats a user, and never skips one that existed when the paging began.", body = AdminUserList),
        (status = 401, description = "`invalid_token`: no or another credential than the admin key",
         body = Problem, content_type = PROBLEM),
        (status = 404, description = "`not_found`: the admin API is off", body = Problem, content_type = PROBLEM),
        (status = 422, description = "`validation_failed` (fields `limit`, `cursor`: a cursor of \
         another filter, or not one of ours)", body = Problem, content_type = PROBLEM),
        (status = 503, description = "`service_unavailable`", body = Problem, content_type = PROBLEM),
    ))]
#[allow(dead_code)]
fn admin_list_users() {}

#[utoipa::path(get, path = "/admin/users/{id}", tag = "admin",
    security(("admin_key" = [])),
    params(("id" = String, Path, description = "The user's id.")),
    responses(
        (status = 200, description = "The user.", body = AdminUserView),
        (status = 401, description = "`invalid_token`", body = Problem, content_type = PROBLEM),
        (status = 404, description = "`not_found`: an unknown or malformed id, or the admin API is off",
         body = Problem, content_type = PROBLEM),
        (status = 503, description = "`service_unavailable`", body = Problem, content_type = PROBLEM),
    ))]
#[allow(dead_code)]
fn admin_get_user() {}

#[utoipa::path(patch, path = "/admin/users/{id}", tag = "admin",
    security(("admin_key" = [])),
    params(("id" = String, Path, description = "The user's id.")),
    request_body(content = AdminUserUpdate, content_type = "application/json"),
    responses(
        (status = 200, description = "The user as changed. Disabling revokes every session at once \
         and kills pending second-factor logins; a disabled account's right password is \
         `403 account_disabled` and its refresh `401 invalid_grant`. Enabling lets it log in again \
         (old sessions stay dead).", body = AdminUserView),
        (status = 400, description = "`malformed_request`", body = Problem, content_type = PROBLEM),
        (status = 401, description = "`invalid_token`", body = Problem, content_type = PROBLEM),
        (status = 404, description = "`not_found`", body = Problem, content_type = PROBLEM),
        (status = 413, description = "`payload_too_large`", body = Problem, content_type = PROBLEM),
        (status = 422, description = "`validation_failed`: a member that is `null` or not a boolean",
         body = Problem, content_type = PROBLEM),
        (status = 503, description = "`service_unavailable`", body = Problem, content_type = PROBLEM),
    ))]
#[allow(dead_code)]
fn admin_update_user() {}

#[utoipa::path(delete, path = "/admin/users/{id}", tag = "admin",
    security(("admin_key" = [])),
    params(("id" = String, Path, description = "The user's id.")),
    responses(
        (status = 204, description = "Deleted, as the user's own deletion does (sessions, tokens, \
         second factors, passkeys)."),
        (status = 401, description = "`invalid_token`", body = Problem, content_type = PROBLEM),
        (status = 404, description = "`not_found`", body = Problem, content_type = PROBLEM),
        (status = 503, description = "`service_unavailable`", body = Problem, content_type = PROBLEM),
    ))]
#[allow(dead_code)]
fn admin_delete_user() {}

#[utoipa::path(delete, path = "/admin/users/{id}/sessions", tag = "admin",
    security(("admin_key" = [])),
    params(("id" = String, Path, description = "The user's id.")),
    responses(
        (status = 204, description = "Every session of the user revoked at once (their access \
         tokens too)."),
        (status = 401, description = "`invalid_token`", body = Problem, content_type = PROBLEM),
        (status = 404, description = "`not_found`", body = Problem, content_type = PROBLEM),
        (status = 503, description = "`service_unavailable`", body = Problem, content_type = PROBLEM),
    ))]
#[allow(dead_code)]
fn admin_revoke_sessions() {}

#[utoipa::path(delete, path = "/admin/users/{id}/mfa", tag = "admin",
    security(("admin_key" = [])),
    params(("id" = String, Path, description = "The user's id.")),
    responses(
        (status = 204, description = "Two-step verification removed (TOTP, a pending setup, the \
         recovery codes), also when it was off; when it was on, the user is mailed that it was \
         turned off."),
        (status = 401, description = "`invalid_token`", body = Problem, content_type = PROBLEM),
        (status = 404, description = "`not_found`", body = Problem, content_type = PROBLEM),
        (status = 503, description = "`service_unavailable`", body = Problem, content_type = PROBLEM),
    ))]
#[allow(dead_code)]
fn admin_remove_mfa() {}

#[utoipa::path(post, path = "/admin/users/{id}/password-reset", tag = "admin",
    security(("admin_key" = [])),
    params(("id" = String, Path, description = "The user's id.")),
    request_body(content = Option<EmptyRequest>, content_type = "application/json",
                 description = "None needed: nothing, `null`, or a JSON object (its members are ignored)."),
    responses(
        (status = 202, description = "A reset mail is queued (older reset links stop working), \
         outside the `EMAIL_MAX_PER_HOUR` cap. It does not enable a disabled account.", body = Accepted),
        (status = 400, description = "`malformed_request`", body = Problem, content_type = PROBLEM),
        (status = 401, description = "`invalid_token`", body = Problem, content_type = PROBLEM),
        (status = 404, description = "`not_found`", body = Problem, content_type = PROBLEM),
        (status = 413, description = "`payload_too_large`", body = Problem, content_type = PROBLEM),
        (status = 503, description = "`service_unavailable`", body = Problem, content_type = PROBLEM),
    ))]
#[allow(dead_code)]
fn admin_send_reset() {}

#[utoipa::path(get, path = "/admin/events", tag = "admin",
    security(("admin_key" = [])),
    params(
        ("user_id" = Option<String>, Query, description = "Only the events about this account          (a user id, also of a deleted account)."),
        ("type" = Option<String>, Query, description = "Only the events of this type (an unknown          type gives an empty list)."),
        ("limit" = Option<u32>, Query, description = "1–200, default 50.", minimum = 1, maximum = 200),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page,          with the same `user_id` and `type`."),
    ),
    responses(
        (status = 200, description = "Audit events newest first (`at`, then `id`), kept          `AUDIT_RETENTION_DAYS`.", body = AdminEventList),
        (status = 401, description = "`invalid_token`: no or another credential than the admin key",
         body = Problem, content_type = PROBLEM),
        (status = 404, description = "`not_found`: the admin API is off", body = Problem, content_type = PROBLEM),
        (status = 422, description = "`validation_failed` (fields `limit`, `cursor`: a cursor of          other filters, or not one of ours; `user_id`: not a user id)", body = Problem,
         content_type = PROBLEM),
        (status = 503, description = "`service_unavailable`", body = Problem, content_type = PROBLEM),
    ))]
#[allow(dead_code)]
fn admin_list_events() {}

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
          revoke_other_sessions, revoke_session, verify, mfa_setup, mfa_confirm, mfa_verify,
          mfa_recovery_codes, mfa_disable, passkey_register_options, passkey_register,
          list_passkeys, delete_passkey, passkey_login_options, passkey_login, jwks, health,
          openapi, docs, admin_console, admin_list_users, admin_get_user, admin_update_user,
          admin_delete_user, admin_revoke_sessions, admin_remove_mfa, admin_send_reset,
          admin_list_events),
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
