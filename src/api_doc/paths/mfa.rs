//! The operations of two-step verification.

use super::*;

#[utoipa::path(post, path = "/auth/mfa/totp/setup", tag = "mfa",
    security(("bearer" = []), ("oauth2" = [])),
    request_body(content = MfaSetupRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "A pending secret (replacing an unconfirmed one); nothing \
         is on until `/auth/mfa/totp/confirm`.", body = MfaSetupResponse),
        (status = 400, response = inline(MalformedRequest)),
        (status = 401, description = "`invalid_token`, or `invalid_credentials` (a wrong password, \
         counted as a failed login)", body = Problem, content_type = PROBLEM),
        (status = 409, description = "`mfa_already_enabled`", body = Problem, content_type = PROBLEM),
        (status = 413, response = inline(PayloadTooLarge)),
        (status = 422, response = inline(ValidationFailed)),
        (status = 429, description = "`too_many_attempts` (this account is throttled) or \
         `too_many_requests` (this client IP)", body = Problem, content_type = PROBLEM),
        (status = 503, response = inline(Unavailable)),
    ))]
#[allow(dead_code)]
pub(super) fn mfa_setup() {}

#[utoipa::path(post, path = "/auth/mfa/totp/confirm", tag = "mfa",
    security(("bearer" = []), ("oauth2" = [])),
    request_body(content = MfaCodeRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Two-step verification is on; every other session of the \
         user is revoked (the caller's stays). The recovery codes are shown only here.",
         body = RecoveryCodes),
        (status = 400, response = inline(MalformedRequest)),
        (status = 401, description = "`invalid_token`, or `invalid_mfa_code` (wrong, malformed or \
         an already used step)", body = Problem, content_type = PROBLEM),
        (status = 409, description = "`mfa_already_enabled`, or `mfa_not_enabled` (no pending setup)",
         body = Problem, content_type = PROBLEM),
        (status = 413, response = inline(PayloadTooLarge)),
        (status = 422, response = inline(ValidationFailed)),
        (status = 429, description = "`too_many_requests` (this client IP)", body = Problem, content_type = PROBLEM),
        (status = 503, response = inline(Unavailable)),
    ))]
#[allow(dead_code)]
pub(super) fn mfa_confirm() {}

#[utoipa::path(post, path = "/auth/mfa/verify", tag = "mfa",
    request_body(content = MfaVerifyRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The login's session: `amr` is `[\"pwd\", \"otp\", \"mfa\"]` \
         after a TOTP code, `[\"pwd\", \"mfa\"]` after a recovery code.", body = TokenPair),
        (status = 400, response = inline(MalformedRequest)),
        (status = 401, description = "Checked in this order: `invalid_mfa_token` (unknown, expired, \
         used, dead after 5 wrong codes or a password change or reset); then `invalid_mfa_code` \
         (wrong, malformed or already used; counted as a failed login of the account)",
         body = Problem, content_type = PROBLEM),
        (status = 413, response = inline(PayloadTooLarge)),
        (status = 422, description = "`validation_failed`: both `code` and `recovery_code`, \
         neither (on `code`), or an empty one", body = Problem, content_type = PROBLEM),
        (status = 429, description = "`too_many_attempts`: the account is throttled (even with a \
         right code), or `too_many_requests` (this client IP)", body = Problem, content_type = PROBLEM),
        (status = 503, response = inline(Unavailable)),
    ))]
#[allow(dead_code)]
pub(super) fn mfa_verify() {}

#[utoipa::path(post, path = "/auth/mfa/recovery-codes", tag = "mfa",
    security(("bearer" = []), ("oauth2" = [])),
    request_body(content = MfaCodeRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Ten new recovery codes; every older one stops working.",
         body = RecoveryCodes),
        (status = 400, response = inline(MalformedRequest)),
        (status = 401, description = "`invalid_token`, or `invalid_mfa_code` (a current TOTP code \
         is needed; counted as a failed login)", body = Problem, content_type = PROBLEM),
        (status = 409, description = "`mfa_not_enabled`", body = Problem, content_type = PROBLEM),
        (status = 413, response = inline(PayloadTooLarge)),
        (status = 422, response = inline(ValidationFailed)),
        (status = 429, description = "`too_many_attempts` or `too_many_requests`",
         body = Problem, content_type = PROBLEM),
        (status = 503, response = inline(Unavailable)),
    ))]
#[allow(dead_code)]
pub(super) fn mfa_recovery_codes() {}

#[utoipa::path(delete, path = "/auth/mfa/totp", tag = "mfa",
    security(("bearer" = []), ("oauth2" = [])),
    request_body(content = MfaDisableRequest, content_type = "application/json"),
    responses(
        (status = 204, description = "Two-step verification is off and the recovery codes are gone."),
        (status = 400, response = inline(MalformedRequest)),
        (status = 401, description = "`invalid_token`; `invalid_credentials` (the password, checked \
         first: a code sent with a wrong one is not spent); `invalid_mfa_code` (counted as a failed \
         login)", body = Problem, content_type = PROBLEM),
        (status = 409, description = "`mfa_not_enabled`", body = Problem, content_type = PROBLEM),
        (status = 413, response = inline(PayloadTooLarge)),
        (status = 422, response = inline(ValidationFailed)),
        (status = 429, description = "`too_many_attempts` or `too_many_requests`",
         body = Problem, content_type = PROBLEM),
        (status = 503, response = inline(Unavailable)),
    ))]
#[allow(dead_code)]
pub(super) fn mfa_disable() {}
