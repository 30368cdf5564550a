//! The operations of passkeys.

use super::*;

#[utoipa::path(post, path = "/auth/passkeys/register/options", tag = "passkeys",
    security(("bearer" = []), ("oauth2" = [])),
    request_body(content = Option<EmptyRequest>, content_type = "application/json"),
    responses(
        (status = 200, description = "Registration options: a 32-byte challenge (300 s, single \
         use, bound to the user), `rp`, `user` (a random handle, the same on every call), \
         EdDSA, ES256, RS256, `attestation: none`, resident key and user verification required, \
         the user's passkeys in `excludeCredentials`.", body = PasskeyOptions),
        (status = 400, response = inline(MalformedRequest)),
        (status = 401, response = inline(InvalidToken)),
        (status = 413, response = inline(PayloadTooLarge)),
        (status = 503, response = inline(Unavailable)),
    ))]
#[allow(dead_code)]
pub(super) fn passkey_register_options() {}

#[utoipa::path(post, path = "/auth/passkeys/register", tag = "passkeys",
    security(("bearer" = []), ("oauth2" = [])),
    request_body(content = PasskeyRegisterRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "The passkey is registered; a mail says so.", body = PasskeyView),
        (status = 400, description = "`malformed_request`, or `invalid_passkey`: a check of \
         WebAuthn §7.1 failed (the challenge is spent all the same)", body = Problem,
         content_type = PROBLEM),
        (status = 401, response = inline(InvalidToken)),
        (status = 409, description = "`passkey_exists`: the credential id is registered already",
         body = Problem, content_type = PROBLEM),
        (status = 413, response = inline(PayloadTooLarge)),
        (status = 422, description = "`validation_failed` (fields `credential`, `name`)",
         body = Problem, content_type = PROBLEM),
        (status = 503, response = inline(Unavailable)),
    ))]
#[allow(dead_code)]
pub(super) fn passkey_register() {}

#[utoipa::path(get, path = "/auth/passkeys", tag = "passkeys",
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "The user's passkeys, newest first.", body = PasskeyList),
        (status = 401, response = inline(InvalidToken)),
        (status = 503, response = inline(Unavailable)),
    ))]
#[allow(dead_code)]
pub(super) fn list_passkeys() {}

#[utoipa::path(delete, path = "/auth/passkeys/{id}", tag = "passkeys",
    security(("bearer" = []), ("oauth2" = [])),
    params(("id" = String, Path, description = "A passkey id from `GET /auth/passkeys`.")),
    responses(
        (status = 204, description = "The passkey is deleted: it logs in no more."),
        (status = 401, response = inline(InvalidToken)),
        (status = 404, description = "`not_found`: the user has no passkey with that id",
         body = Problem, content_type = PROBLEM),
        (status = 503, response = inline(Unavailable)),
    ))]
#[allow(dead_code)]
pub(super) fn delete_passkey() {}

#[utoipa::path(post, path = "/auth/passkeys/login/options", tag = "passkeys",
    request_body(content = Option<EmptyRequest>, content_type = "application/json"),
    responses(
        (status = 200, description = "Login options: a 32-byte single-use challenge (300 s), \
         `rpId`, user verification required, no `allowCredentials` (discoverable credentials).",
         body = PasskeyOptions),
        (status = 400, response = inline(MalformedRequest)),
        (status = 413, response = inline(PayloadTooLarge)),
        (status = 429, description = "`too_many_requests`: login's per-IP limit \
         (`RATE_LIMIT_BY_IP`)", body = Problem, content_type = PROBLEM),
        (status = 503, response = inline(Unavailable)),
    ))]
#[allow(dead_code)]
pub(super) fn passkey_login_options() {}

#[utoipa::path(post, path = "/auth/passkeys/login", tag = "passkeys",
    request_body(content = PasskeyLoginRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Logged in without a password: a new session, `amr` \
         `[\"hwk\", \"user\", \"mfa\"]`, no TOTP step.", body = TokenPair),
        (status = 400, response = inline(MalformedRequest)),
        (status = 401, description = "`invalid_passkey`: a check of WebAuthn §7.2 failed (unknown \
         credential, challenge, origin, flags, signature, counter); nothing but the challenge \
         changes", body = Problem, content_type = PROBLEM),
        (status = 403, description = "`email_not_verified`: every check held but the address is \
         not verified and `REQUIRE_EMAIL_VERIFICATION` is on", body = Problem, content_type = PROBLEM),
        (status = 413, response = inline(PayloadTooLarge)),
        (status = 422, description = "`validation_failed` (field `credential`)", body = Problem,
         content_type = PROBLEM),
        (status = 429, description = "`too_many_requests`: login's per-IP limit \
         (`RATE_LIMIT_BY_IP`)", body = Problem, content_type = PROBLEM),
        (status = 503, response = inline(Unavailable)),
    ))]
#[allow(dead_code)]
pub(super) fn passkey_login() {}
