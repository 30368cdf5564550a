//! Account deletion: `DELETE /auth/me` re-authenticates the signed-in user and deletes the
//! account and everything that hangs off it, at once.

use serde_json::json;

use super::audit::EventKind;
use super::{App, Call};
use crate::http::error::AppError;
use crate::http::{ApiResponse, Body, Fields};
use crate::store::{BreakerStore, SessionStore, UserStore};

/// The body of `DELETE /auth/me`.
struct AccountDeletion {
    password: String,
}

impl Body for AccountDeletion {
    fn from_fields(f: &mut Fields) -> Result<Option<Self>, AppError> {
        Ok(f.text("password").map(|password| Self { password }))
    }
}

impl<U: UserStore, S: SessionStore, B: BreakerStore> App<'_, U, S, B> {
    /// `DELETE /auth/me`: deletes the account and everything that hangs off it, at once.
    pub(super) async fn delete_account(&self, call: &Call<'_, B>) -> Result<ApiResponse, AppError> {
        let (req, ctx, guard) = (call.req, call.ctx, &call.guard);
        let (token, user) = self.bearer_user(call).await?;
        let AccountDeletion { password } = req.parse()?;
        let password = password.as_str();
        let version = self
            .reauthenticate(&user, password, "account_delete", call)
            .await?;
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
            json!({
                "user_id": user.id.to_string(),
                "sid": token.claims.sid,
                "email": user.email.redacted(),
            }),
        );
        Ok(ApiResponse::empty(204))
    }
}
