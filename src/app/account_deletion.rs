//! Account deletion: `DELETE /auth/me` re-authenticates the signed-in user and deletes the
//! account and everything that hangs off it, at once. With two-step verification on, a TOTP or
//! recovery code is asked for too, after the password.

use crate::log_fields;

use super::{App, Call, Crypto};
use crate::http::error::{AppError, FieldError};
use crate::http::{ApiResponse, Body, Fields};
use crate::store::events::EventKind;
use crate::store::{BreakerStore, SessionStore, UserStore};

/// The body of `DELETE /auth/me`.
struct AccountDeletion {
    password: String,
    /// Required only while two-step verification is on.
    code: Option<String>,
}

impl Body for AccountDeletion {
    fn from_fields(f: &mut Fields) -> Result<Option<Self>, AppError> {
        let code = match f.has("code") {
            true => Some(super::mfa::non_empty(f, "code")),
            false => None,
        };
        Ok(f.text("password").and_then(|password| match code {
            Some(None) => None,
            Some(Some(code)) => Some(Self {
                password,
                code: Some(code),
            }),
            None => Some(Self {
                password,
                code: None,
            }),
        }))
    }
}

impl<U: UserStore, S: SessionStore, B: BreakerStore, C: Crypto> App<'_, U, S, B, C> {
    /// `DELETE /auth/me`: deletes the account and everything that hangs off it, at once.
    pub(super) async fn delete_account(&self, call: &Call<'_, B>) -> Result<ApiResponse, AppError> {
        let (req, ctx, guard) = (call.req, call.ctx, &call.guard);
        let (token, user) = self.bearer_user(call).await?;
        let AccountDeletion { password, code } = req.parse()?;
        let password = password.as_str();
        let version = self
            .reauthenticate(&user, password, "account_delete", call)
            .await?;
        if let Some(state) = self.totp_state(&user, call).await?.filter(|s| s.enabled) {
            let code = code.ok_or_else(|| {
                AppError::Validation(vec![FieldError::new(
                    "code",
                    "required",
                    "code is required while two-step verification is on.",
                )])
            })?;
            self.check_second_factor(&user, &state, &code, "account_delete", call)
                .await?;
        }
        let audit = call.audit(&[EventKind::AccountDeleted]);
        let Some(session_ids) = guard
            .call(|| {
                self.users
                    .delete_user(&user.id, &user.email, version, &audit)
            })
            .await?
        else {
            // Deleted by a concurrent request, or its password set since the check.
            return Err(Self::overtaken(&user, "account_delete_failed", ctx));
        };
        self.purge_sessions(&session_ids, ctx).await;
        ctx.log(
            "info",
            "account_deleted",
            log_fields!({
                "user_id": user.id.to_string(),
                "sid": token.claims.sid,
                "email": user.email.redacted(),
            }),
        );
        Ok(ApiResponse::empty(204))
    }
}
