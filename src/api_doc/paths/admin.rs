//! The operations of the admin API and its console.

use super::*;

#[utoipa::path(get, path = "/admin", tag = "admin",
    responses(
        (status = 200, description = "The admin console (an HTML page; the operator types the key \
         into it, and it calls the admin API below). `404 not_found` while `ADMIN_API_KEY` is unset.",
         content_type = "text/html"),
        (status = 404, description = "`not_found`: the admin API is off (no usable `ADMIN_API_KEY`)",
         body = Problem, content_type = PROBLEM),
    ))]
#[allow(dead_code)]
pub(super) fn admin_console() {}

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
        (status = 503, response = inline(Unavailable)),
    ))]
#[allow(dead_code)]
pub(super) fn admin_list_users() {}

#[utoipa::path(get, path = "/admin/users/{id}", tag = "admin",
    security(("admin_key" = [])),
    params(("id" = String, Path, description = "The user's id.")),
    responses(
        (status = 200, description = "The user.", body = AdminUserView),
        (status = 401, response = inline(InvalidToken)),
        (status = 404, description = "`not_found`: an unknown or malformed id, or the admin API is off",
         body = Problem, content_type = PROBLEM),
        (status = 503, response = inline(Unavailable)),
    ))]
#[allow(dead_code)]
pub(super) fn admin_get_user() {}

#[utoipa::path(patch, path = "/admin/users/{id}", tag = "admin",
    security(("admin_key" = [])),
    params(("id" = String, Path, description = "The user's id.")),
    request_body(content = AdminUserUpdate, content_type = "application/json"),
    responses(
        (status = 200, description = "The user as changed. Disabling revokes every session at once \
         and kills pending second-factor logins; a disabled account's right password is \
         `403 account_disabled` and its refresh `401 invalid_grant`. Enabling lets it log in again \
         (old sessions stay dead).", body = AdminUserView),
        (status = 400, response = inline(MalformedRequest)),
        (status = 401, response = inline(InvalidToken)),
        (status = 404, response = inline(NotFound)),
        (status = 413, response = inline(PayloadTooLarge)),
        (status = 422, description = "`validation_failed`: a member that is `null` or not a boolean",
         body = Problem, content_type = PROBLEM),
        (status = 503, response = inline(Unavailable)),
    ))]
#[allow(dead_code)]
pub(super) fn admin_update_user() {}

#[utoipa::path(delete, path = "/admin/users/{id}", tag = "admin",
    security(("admin_key" = [])),
    params(("id" = String, Path, description = "The user's id.")),
    responses(
        (status = 204, description = "Deleted, as the user's own deletion does (sessions, tokens, \
         second factors, passkeys)."),
        (status = 401, response = inline(InvalidToken)),
        (status = 404, response = inline(NotFound)),
        (status = 503, response = inline(Unavailable)),
    ))]
#[allow(dead_code)]
pub(super) fn admin_delete_user() {}

#[utoipa::path(delete, path = "/admin/users/{id}/sessions", tag = "admin",
    security(("admin_key" = [])),
    params(("id" = String, Path, description = "The user's id.")),
    responses(
        (status = 204, description = "Every session of the user revoked at once (their access \
         tokens too)."),
        (status = 401, response = inline(InvalidToken)),
        (status = 404, response = inline(NotFound)),
        (status = 503, response = inline(Unavailable)),
    ))]
#[allow(dead_code)]
pub(super) fn admin_revoke_sessions() {}

#[utoipa::path(delete, path = "/admin/users/{id}/mfa", tag = "admin",
    security(("admin_key" = [])),
    params(("id" = String, Path, description = "The user's id.")),
    responses(
        (status = 204, description = "Two-step verification removed (TOTP, a pending setup, the \
         recovery codes), also when it was off; when it was on, the user is mailed that it was \
         turned off."),
        (status = 401, response = inline(InvalidToken)),
        (status = 404, response = inline(NotFound)),
        (status = 503, response = inline(Unavailable)),
    ))]
#[allow(dead_code)]
pub(super) fn admin_remove_mfa() {}

#[utoipa::path(post, path = "/admin/users/{id}/password-reset", tag = "admin",
    security(("admin_key" = [])),
    params(("id" = String, Path, description = "The user's id.")),
    request_body(content = Option<EmptyRequest>, content_type = "application/json",
                 description = "None needed: nothing, `null`, or a JSON object (its members are ignored)."),
    responses(
        (status = 202, description = "A reset mail is queued (older reset links stop working), \
         outside the `EMAIL_MAX_PER_HOUR` cap. It does not enable a disabled account.", body = Accepted),
        (status = 400, response = inline(MalformedRequest)),
        (status = 401, response = inline(InvalidToken)),
        (status = 404, response = inline(NotFound)),
        (status = 413, response = inline(PayloadTooLarge)),
        (status = 503, response = inline(Unavailable)),
    ))]
#[allow(dead_code)]
pub(super) fn admin_send_reset() {}

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
        (status = 503, response = inline(Unavailable)),
    ))]
#[allow(dead_code)]
pub(super) fn admin_list_events() {}
