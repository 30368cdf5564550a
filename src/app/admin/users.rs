//! The accounts as an operator sees them: `GET /admin/users` (keyset paging, an email prefix),
//! `GET`, `PATCH` (disabled, email verified) and `DELETE /admin/users/{id}`, and per account
//! `DELETE …/sessions`, `DELETE …/mfa` and `POST …/password-reset`.

use crate::log_fields;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;

use crate::api_doc::{AdminUserList, AdminUserView};
use crate::app::mail::{MailJob, MailKind};
use crate::app::{rfc3339, App, Call, Crypto};
use crate::domain::{Email, UserId};
use crate::http::error::{AppError, FieldError};
use crate::http::{query_param, ApiResponse, Body, Fields};
use crate::store::events::EventKind;
use crate::store::{AdminUserRow, BreakerStore, FlagChange, SessionStore, UserStore};

/// Users per page when `limit` is not given, and the most a page may have.
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

/// The body of `PATCH /admin/users/{id}`: each flag optional, `true` or `false` when sent.
struct FlagsPatch {
    disabled: Option<bool>,
    email_verified: Option<bool>,
}

/// A boolean member that may be left out; `null` or another type is a broken rule.
fn optional_bool(f: &mut Fields, field: &'static str) -> Option<Option<bool>> {
    let read = match f.get(field) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(FieldError::new(
            field,
            "invalid_type",
            format!("{field} must be true or false."),
        )),
    };
    f.check(read)
}

impl Body for FlagsPatch {
    fn from_fields(f: &mut Fields) -> Result<Option<Self>, AppError> {
        let disabled = optional_bool(f, "disabled");
        let email_verified = optional_bool(f, "email_verified");
        Ok(disabled
            .zip(email_verified)
            .map(|(disabled, email_verified)| Self {
                disabled,
                email_verified,
            }))
    }
}

/// Where a page of `GET /admin/users` ends, and the filter it was read with: the opaque
/// `next_cursor`, base64url of the three joined by newlines (which none of them can hold). A
/// cursor is refused under another filter, so a page never continues a different listing.
/// (Written by hand: a derived `Deserialize` would cost the wasm more than the listing.)
struct Cursor {
    /// The normalized email prefix.
    filter: String,
    /// The last user's `created_at` and id.
    created_at: String,
    id: String,
}

impl Cursor {
    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}\n{}\n{}", self.filter, self.created_at, self.id))
    }

    fn decode(raw: &str, filter: &str) -> Result<Self, AppError> {
        let invalid = || {
            AppError::Validation(vec![FieldError::new(
                "cursor",
                "invalid_format",
                "cursor is not a cursor of this listing.",
            )])
        };
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let mut parts = text.split('\n');
        let (Some(f), Some(created_at), Some(id), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        if f != filter || created_at.is_empty() || UserId::parse(id).is_err() {
            return Err(invalid());
        }
        Ok(Self {
            filter: f.to_owned(),
            created_at: created_at.to_owned(),
            id: id.to_owned(),
        })
    }
}

/// A query parameter of a listing; one that does not decode is a broken rule of its own.
pub(super) fn param(query: &str, field: &'static str) -> Result<Option<String>, AppError> {
    query_param(query, field).map_err(|_| {
        AppError::Validation(vec![FieldError::new(
            field,
            "invalid_format",
            format!("{field} is not valid percent-encoded UTF-8."),
        )])
    })
}

/// `limit` of a listing: 1 to [`MAX_LIMIT`], [`DEFAULT_LIMIT`] when absent.
pub(super) fn page_limit(query: &str) -> Result<u32, AppError> {
    let Some(raw) = param(query, "limit")? else {
        return Ok(DEFAULT_LIMIT);
    };
    match raw.parse::<u32>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(AppError::Validation(vec![FieldError::new(
            "limit",
            "out_of_range",
            format!("limit must be a whole number from 1 to {MAX_LIMIT}."),
        )])),
    }
}

fn view(row: AdminUserRow) -> AdminUserView {
    AdminUserView {
        id: row.id,
        email: row.email,
        created_at: row.created_at,
        email_verified: row.email_verified,
        mfa_enabled: row.mfa_enabled,
        passkeys: row.passkeys,
        disabled: row.disabled,
        last_login_at: row.last_login_at,
    }
}

impl<U: UserStore, S: SessionStore, B: BreakerStore, C: Crypto> App<'_, U, S, B, C> {
    /// `GET /admin/users`: a page of users, oldest first.
    pub(in crate::app) async fn admin_list_users(
        &self,
        call: &Call<'_, B>,
    ) -> Result<ApiResponse, AppError> {
        let (req, guard) = (call.req, &call.guard);
        let query = req.query.as_str();
        let limit = page_limit(query)?;
        let filter = crate::domain::lowercase::to_lowercase(
            param(query, "email")?.unwrap_or_default().trim(),
        );
        let cursor = match param(query, "cursor")?.filter(|c| !c.is_empty()) {
            Some(raw) => Some(Cursor::decode(&raw, &filter)?),
            None => None,
        };
        let after = cursor
            .as_ref()
            .map(|c| (c.created_at.as_str(), c.id.as_str()));
        // One more than the page: whether a row follows, without another query.
        let mut rows = guard
            .call(|| self.users.admin_users_page(&filter, after, limit + 1))
            .await?;
        let next_cursor = if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            rows.last().map(|last| {
                Cursor {
                    filter: filter.clone(),
                    created_at: last.created_at.clone(),
                    id: last.id.clone(),
                }
                .encode()
            })
        } else {
            None
        };
        let users = rows.into_iter().map(view).collect();
        Ok(ApiResponse::json(
            200,
            &AdminUserList { users, next_cursor },
        ))
    }

    /// The user of an `/admin/users/{id}…` path; an unknown or malformed id is `404`.
    async fn admin_target(&self, call: &Call<'_, B>) -> Result<(UserId, AdminUserRow), AppError> {
        let id = call
            .param
            .and_then(|p| UserId::parse(p).ok())
            .ok_or(AppError::NotFound)?;
        let row = call
            .guard
            .call(|| self.users.admin_user(&id))
            .await?
            .ok_or(AppError::NotFound)?;
        Ok((id, row))
    }

    /// `GET /admin/users/{id}`.
    pub(in crate::app) async fn admin_get_user(
        &self,
        call: &Call<'_, B>,
    ) -> Result<ApiResponse, AppError> {
        let (_, row) = self.admin_target(call).await?;
        Ok(ApiResponse::json(200, &view(row)))
    }

    /// `PATCH /admin/users/{id}`: disabling revokes every session and kills pending
    /// second-factor logins in the same transaction.
    pub(in crate::app) async fn admin_update_user(
        &self,
        call: &Call<'_, B>,
    ) -> Result<ApiResponse, AppError> {
        let (req, ctx, guard) = (call.req, call.ctx, &call.guard);
        let id = call
            .param
            .and_then(|p| UserId::parse(p).ok())
            .ok_or(AppError::NotFound)?;
        let FlagsPatch {
            disabled,
            email_verified,
        } = req.parse()?;
        let flipped = match disabled {
            Some(true) => [EventKind::AccountDisabled].as_slice(),
            Some(false) => &[EventKind::AccountEnabled],
            None => &[],
        };
        let change = FlagChange {
            disabled,
            email_verified,
            updated_at: rfc3339(ctx.now_ms),
            now_ms: ctx.now_ms,
            audit: call.audit(&[EventKind::AdminUserUpdated]),
            flipped: call.audit(flipped),
        };
        let (row, revoked) = guard
            .call(|| self.users.set_user_flags(&id, &change))
            .await?
            .ok_or(AppError::NotFound)?;
        self.purge_sessions(&revoked, ctx).await;
        ctx.log(
            "info",
            "admin_user_updated",
            log_fields!({
                "user_id": row.id,
                "disabled": disabled,
                "email_verified": email_verified,
                "revoked": revoked.len(),
            }),
        );
        Ok(ApiResponse::json(200, &view(row)))
    }

    /// `DELETE /admin/users/{id}`: what the user's own deletion does, without its password.
    pub(in crate::app) async fn admin_delete_user(
        &self,
        call: &Call<'_, B>,
    ) -> Result<ApiResponse, AppError> {
        let (ctx, guard) = (call.ctx, &call.guard);
        let (id, row) = self.admin_target(call).await?;
        let email = Email::parse(&row.email).map_err(|_| AppError::internal("users.email"))?;
        // Deleted at the version just read: a password set in between makes it a no-op, which
        // is answered as a deletion that found nothing to delete.
        let audit = call.audit(&[EventKind::AdminUserDeleted, EventKind::AccountDeleted]);
        let session_ids = guard
            .call(|| {
                self.users
                    .delete_user(&id, &email, row.password_version, &audit)
            })
            .await?
            .ok_or(AppError::NotFound)?;
        self.purge_sessions(&session_ids, ctx).await;
        ctx.log(
            "info",
            "admin_user_deleted",
            log_fields!({ "user_id": row.id, "email": email.redacted() }),
        );
        Ok(ApiResponse::empty(204))
    }

    /// `DELETE /admin/users/{id}/sessions`: every session ends at once, as a logout ends one.
    pub(in crate::app) async fn admin_revoke_sessions(
        &self,
        call: &Call<'_, B>,
    ) -> Result<ApiResponse, AppError> {
        let (ctx, guard) = (call.ctx, &call.guard);
        let (id, _) = self.admin_target(call).await?;
        let audit = call.audit(&[EventKind::AdminSessionsRevoked]);
        let revoked_audit = call.audit(&[EventKind::SessionRevoked]);
        let revoked = guard
            .call(|| {
                self.users
                    .revoke_all_sessions(&id, "admin", ctx.now_ms, &audit, &revoked_audit)
            })
            .await?;
        self.purge_sessions(&revoked, ctx).await;
        ctx.log(
            "info",
            "admin_sessions_revoked",
            log_fields!({ "user_id": id.to_string(), "revoked": revoked.len(), "sids": revoked }),
        );
        Ok(ApiResponse::empty(204))
    }

    /// `DELETE /admin/users/{id}/mfa`: TOTP, a pending setup and the recovery codes go (a lost
    /// phone); the "turned off" mail when it was on.
    pub(in crate::app) async fn admin_remove_mfa(
        &self,
        call: &Call<'_, B>,
    ) -> Result<ApiResponse, AppError> {
        let (ctx, guard) = (call.ctx, &call.guard);
        let (id, row) = self.admin_target(call).await?;
        let audit = call.audit(&[EventKind::AdminMfaRemoved]);
        let turned_off = call.audit(&[EventKind::MfaDisabled]);
        let was_on = guard
            .call(|| self.users.remove_mfa(&id, &audit, &turned_off))
            .await?;
        if was_on {
            self.outbox.push(MailJob {
                kind: MailKind::MfaDisabled,
                to: row.email,
                link: None,
                valid_for_secs: None,
                request_id: ctx.request_id.clone(),
            });
        }
        ctx.log(
            "info",
            "admin_mfa_removed",
            log_fields!({ "user_id": row.id, "was_on": was_on }),
        );
        Ok(ApiResponse::empty(204))
    }

    /// `POST /admin/users/{id}/password-reset`: a reset mail, outside the hourly cap (the
    /// queue's consumer voids the account's older reset tokens as it stores the new one).
    pub(in crate::app) async fn admin_send_reset(
        &self,
        call: &Call<'_, B>,
    ) -> Result<ApiResponse, AppError> {
        let ctx = call.ctx;
        crate::app::email_verification::optional_body(call.req)?;
        let (id, row) = self.admin_target(call).await?;
        let email = Email::parse(&row.email).map_err(|_| AppError::internal("users.email"))?;
        // The change is the mail, made by the queue's consumer: the action's event is written
        // on its own, before the mail is queued (a failed write queues none).
        let audit = call.audit(&[EventKind::AdminPasswordResetSent]);
        call.guard
            .call(|| self.users.record_events(&id, &audit))
            .await?;
        self.queue_token_mail(&email, MailKind::AdminPasswordReset, ctx);
        ctx.log(
            "info",
            "admin_password_reset_sent",
            log_fields!({ "user_id": row.id }),
        );
        Ok(super::super::email_tokens::accepted(
            "A reset link is on its way to the account's address.",
        ))
    }
}
